import type { Logger } from "pino";
import { z } from "zod";
import { AppError } from "../../domain/errors.js";
import { allStatuses, type SendingStatus } from "../../domain/sending-status.js";
import type { Analysis, CheckId } from "../../mail/analysis/index.js";
import type { AsJson, SameType } from "./as-json.js";
import type { SendingRevision } from "./content-change.js";
import { errorChecks, warningChecks, type SendingAnalyzer } from "./current-analysis.js";
import { issuesOf, LAUNCH_AT_DOC, sendingInputSchema, slackUserId } from "./sending-input.js";

/** A sending as the intake API shows it (`GET /api/sendings/:id`) and takes it back whole (`PUT`). */

export const recipientStatuses = ["QUEUED", "PREPARED", "SENT", "FAILED", "CANCELLED"] as const;
export type RecipientStatus = (typeof recipientStatuses)[number];

/** What the analysis found, as the approvers see it: every check counted, the warnings and errors spelled out. */
export interface AnalysisSummary {
  errors: number;
  warnings: number;
  passed: number;
  /** Errors first, then warnings; passed checks are only counted. */
  findings: { id: CheckId; severity: "error" | "warning"; title: string; evidence: string }[];
}

/** A sending's state as the intake API reports it. */
export interface SendingState {
  id: string;
  name: string;
  status: SendingStatus;
  statusNote: string | null;
  subject: string;
  from: { name: string | null; email: string };
  replyTo: string | null;
  html: string;
  text: string | null;
  launchAt: Date;
  requestedBy: string;
  contentHash: string;
  recipientCount: number;
  /** How many recipients are in each delivery state. */
  recipients: Record<RecipientStatus, number>;
  /** Approvals on the current content; earlier ones were withdrawn by a content change. */
  approvals: number;
  decisions: { kind: "APPROVAL" | "REJECTION"; userId: string; reason: string | null; at: Date; current: boolean }[];
  /** The analysis of the current content. */
  analysis: AnalysisSummary;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

/** Every check the analysis makes, for the API document; the compiler says when one is missing. */
const CHECK_IDS = [
  "template-errors",
  "recipients",
  "missing-variables",
  "unknown-variables",
  "invalid-addresses",
  "duplicate-addresses",
  "html-size",
  "unsubscribe",
  "links",
  "image-alt",
  "subject-empty",
  "subject-length",
  "subject-caps",
  "text-part",
  "dkim-alignment",
] as const satisfies readonly CheckId[];
const _everyCheck: [Exclude<CheckId, (typeof CHECK_IDS)[number]>] extends [never] ? true : false = true;

const count = z.int().nonnegative();
/** A date-time as JSON.stringify writes a Date: UTC, with milliseconds. */
const instant = z.iso.datetime();

/** AnalysisSummary as the API answers it. */
export const analysisSummaryJson = z.strictObject({
  errors: count,
  warnings: count,
  passed: count,
  findings: z
    .array(z.strictObject({ id: z.enum(CHECK_IDS), severity: z.enum(["error", "warning"]), title: z.string(), evidence: z.string() }))
    .describe("Errors first, then warnings; passed checks are only counted."),
});

/** SendingState as the API answers it (`GET /api/sendings/:id`), and as PUT takes it back. */
export const sendingStateJson = z.strictObject({
  id: z.string(),
  name: z.string(),
  status: z.enum(allStatuses),
  statusNote: z.string().nullable().describe("Why it is in its status, when that needs saying (the cause of an automatic pause)."),
  subject: z.string(),
  from: z.strictObject({ name: z.string().nullable(), email: z.string() }),
  replyTo: z.string().nullable(),
  html: z.string(),
  text: z.string().nullable(),
  launchAt: instant,
  requestedBy: z.string(),
  contentHash: z.string(),
  recipientCount: count,
  recipients: z
    .strictObject({ QUEUED: count, PREPARED: count, SENT: count, FAILED: count, CANCELLED: count })
    .describe("How many recipients are in each delivery state."),
  approvals: count.describe("Approvals on the current content; earlier ones were withdrawn by a content change."),
  decisions: z.array(
    z.strictObject({
      kind: z.enum(["APPROVAL", "REJECTION"]),
      userId: z.string(),
      reason: z.string().nullable(),
      at: instant,
      current: z.boolean().describe("Given on the current content."),
    }),
  ),
  analysis: analysisSummaryJson,
  createdAt: instant,
  updatedAt: instant,
  startedAt: instant.nullable(),
  finishedAt: instant.nullable(),
});

const _stateSchemaMatches: SameType<z.output<typeof sendingStateJson>, AsJson<SendingState>> = true;
const _recipientStatusesMatch: SameType<keyof z.output<typeof sendingStateJson>["recipients"], RecipientStatus> = true;

export function summarizeAnalysis(analysis: Analysis): AnalysisSummary {
  const findings = (checks: Analysis["checks"], severity: "error" | "warning") =>
    checks.map(({ id, title, evidence }) => ({ id, severity, title, evidence }));
  return {
    errors: analysis.counts.errors,
    warnings: analysis.counts.warnings,
    passed: analysis.counts.passed,
    findings: [...findings(errorChecks(analysis), "error"), ...findings(warningChecks(analysis), "warning")],
  };
}

/**
 * The analysis of what was just stored, for the answer to the request that stored it. The change
 * has committed: a failure here is logged and shown as null (GET makes it again), never as an
 * error that would make the client send the sending a second time.
 */
export async function analysisAfterCommit(
  deps: { analyzer: SendingAnalyzer; log: Logger },
  sendingId: string,
): Promise<AnalysisSummary | null> {
  try {
    return summarizeAnalysis(await deps.analyzer.current(sendingId));
  } catch (error) {
    deps.log.error({ err: error, sendingId }, "analysis for the API answer failed");
    return null;
  }
}

/**
 * Every field GET returns, by whether a PUT may change it. A field added to SendingState must be
 * placed here (the compiler says so), so that the representation GET returns can always be PUT back.
 */
const FIELD_ROLES = {
  id: "read-only",
  name: "content",
  status: "read-only",
  statusNote: "read-only",
  subject: "content",
  from: "content",
  replyTo: "content",
  html: "content",
  text: "content",
  launchAt: "content",
  requestedBy: "read-only",
  contentHash: "read-only",
  recipientCount: "read-only",
  recipients: "read-only",
  approvals: "read-only",
  decisions: "read-only",
  analysis: "read-only",
  createdAt: "read-only",
  updatedAt: "read-only",
  startedAt: "read-only",
  finishedAt: "read-only",
} as const satisfies Record<keyof SendingState, "content" | "read-only">;

type ReadOnlyField = { [F in keyof typeof FIELD_ROLES]: (typeof FIELD_ROLES)[F] extends "read-only" ? F : never }[keyof typeof FIELD_ROLES];

const READ_ONLY_FIELDS = (Object.keys(FIELD_ROLES) as (keyof typeof FIELD_ROLES)[]).filter(
  (field): field is ReadOnlyField => FIELD_ROLES[field] === "read-only",
);

const REQUIRED = "is required: PUT takes the whole sending, as GET returns it (PATCH changes some fields)";

/**
 * A field PUT needs: left out, it is named as missing rather than as of the wrong type. The check is a
 * transform in front of the field's schema, which lets the JSON Schema of the input show that schema.
 */
const required = <T extends z.ZodType>(schema: T) =>
  z
    .transform((value: unknown, ctx): unknown => {
      if (value !== undefined) return value;
      ctx.issues.push({ code: "custom", message: REQUIRED, input: value });
      return z.NEVER;
    })
    .pipe(schema);

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i;

/** The same JSON value; date-times are the same when they name the same instant ("…Z" or "+00:00"). */
function sameValue(expected: unknown, given: unknown): boolean {
  if (typeof expected === "string" && typeof given === "string") {
    return expected === given || (ISO_DATE_TIME.test(expected) && ISO_DATE_TIME.test(given) && Date.parse(expected) === Date.parse(given));
  }
  if (Array.isArray(expected)) {
    return Array.isArray(given) && given.length === expected.length && expected.every((item, index) => sameValue(item, given[index]));
  }
  if (expected !== null && typeof expected === "object") {
    if (given === null || typeof given !== "object" || Array.isArray(given)) return false;
    const keys = Object.keys(expected);
    return (
      Object.keys(given).length === keys.length &&
      keys.every((key) => Object.hasOwn(given, key) && sameValue((expected as Record<string, unknown>)[key], (given as Record<string, unknown>)[key]))
    );
  }
  return expected === given;
}

const shown = (value: unknown, raw = false) => {
  const text = raw && typeof value === "string" ? value : JSON.stringify(value) ?? "nothing";
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
};

/** Fields that differ when the representation was read before a later change: the client is told so. */
const STALE_WHEN_CHANGED = new Set<ReadOnlyField>(["contentHash", "updatedAt"]);
const STALE = ": the sending changed since this representation was read; GET it again and apply the edit to it";

/** A field GET shows and nobody sets through the API: accepted unchanged (or left out), refused changed. */
function readOnly(field: ReadOnlyField, current: unknown, sendingId: string) {
  const unchanged = z.unknown().superRefine((given, ctx) => {
    if (sameValue(current, given)) return;
    const message =
      field === "recipients" && Array.isArray(given)
        ? `cannot be replaced by PUT: add recipients with POST /api/sendings/${sendingId}/recipients (NDJSON); here send the counts GET returns, or leave recipients out`
        : `is read-only (it is ${shown(current, true)}; got ${shown(given)})${STALE_WHEN_CHANGED.has(field) ? STALE : ""}`;
    ctx.addIssue({ code: "custom", message });
  });
  return unchanged.optional();
}

/**
 * A launch date left as it is may lie in the past (the sending waited for approval past it); a new
 * one must be in the future, as everywhere else.
 */
function launchAtField(launchAt: { safeParse(value: unknown): z.ZodSafeParseResult<Date> }, current: Date | undefined) {
  const withOffset = z.iso.datetime({ offset: true });
  return z
    .unknown()
    .transform((value, ctx) => {
      if (current && typeof value === "string" && withOffset.safeParse(value).success && Date.parse(value) === current.getTime()) return current;
      const parsed = launchAt.safeParse(value);
      if (parsed.success) return parsed.data;
      for (const issue of parsed.error.issues) ctx.addIssue({ code: "custom", message: issue.message });
      return z.NEVER;
    })
    .meta({ ...LAUNCH_AT_DOC, description: `${LAUNCH_AT_DOC.description} Sent back as GET returned it, it may lie in the past.` });
}

/** How the API document shows a read-only field: as GET shows it, to be sent back unchanged or left out. */
const documentedReadOnly = (field: ReadOnlyField) =>
  sendingStateJson.shape[field].meta({ readOnly: true, description: "Read-only: send it back as GET returned it, or leave it out." }).optional();

/**
 * The body of `PUT /api/sendings/:id`: the sending as GET returns it, whole. The content fields
 * replace what is stored (`replyTo`, `text` and the sender's name left out or null are removed);
 * the read-only fields may be sent back unchanged or left out; `changedBy` names the Slack user
 * behind the change, if any. Recipients are not replaced: they are appended as NDJSON.
 *
 * Without `current` it is the body as the API document shows it: read-only fields are then only
 * checked for their form, since there is nothing stored to compare them with.
 */
export function sendingRepresentationSchema(now: () => Date, current?: SendingState) {
  const input = sendingInputSchema(now).shape;
  const currentJson = JSON.parse(JSON.stringify(current ?? {})) as Record<ReadOnlyField, unknown>;
  const readOnlyFields = Object.fromEntries(
    READ_ONLY_FIELDS.map((field): [ReadOnlyField, z.ZodType] => [field, current ? readOnly(field, currentJson[field], current.id) : documentedReadOnly(field)]),
  ) as Record<ReadOnlyField, z.ZodType>;
  return z
    .strictObject({
      name: required(input.name),
      subject: required(input.subject),
      from: required(input.from.extend({ name: input.from.shape.name.unwrap().nullable().optional() })),
      replyTo: input.replyTo.unwrap().nullable().optional(),
      html: required(input.html),
      text: input.text.unwrap().nullable().optional(),
      launchAt: required(launchAtField(input.launchAt, current?.launchAt)),
      changedBy: slackUserId.optional(),
      ...readOnlyFields,
    })
    .transform(({ name, subject, from, replyTo, html, text, launchAt, changedBy }) => ({
      revision: {
        name,
        subject,
        fromName: from.name ?? null,
        fromEmail: from.email,
        replyTo: replyTo ?? null,
        html,
        text: text ?? null,
        launchAt,
      } satisfies SendingRevision,
      changedBy,
    }));
}

/** How many problems the message of a refused PUT spells out; the issues list has them all. */
const SPELLED_OUT = 5;

/** A refused PUT, naming every field at fault: "status is read-only (it is PENDING_APPROVAL; got \"SCHEDULED\")". */
export function invalidRepresentation(error: z.ZodError): AppError {
  const issues = issuesOf(error);
  const sentences = issues.slice(0, SPELLED_OUT).map(({ path, message }) => {
    const where = path.join(".");
    if (!where) return message;
    return /^[a-z]/.test(message) ? `${where} ${message}` : `${where}: ${message}`;
  });
  const more = issues.length > SPELLED_OUT ? ` (and ${issues.length - SPELLED_OUT} more)` : "";
  return new AppError("VALIDATION", `The sending is invalid: ${sentences.join("; ")}${more}.`, { issues });
}
