import { z } from "zod";
import { AppError } from "../../domain/errors.js";
import { checkTemplates, formatTemplateProblem, type TemplatePart } from "../../mail/templates.js";

/** Lower-cased and trimmed, so that "Ann@Example.com " and "ann@example.com" are one recipient. */
export const emailAddress = z
  .string({ message: "must be an e-mail address" })
  .trim()
  .toLowerCase()
  .pipe(z.email({ message: "is not a valid e-mail address" }))
  // The JSON Schema of the input shows the string before the check; this keeps what it must be.
  .meta({ format: "email" });

/** How large a recipient's variables may be: RECIPIENT_VARS_MAX_DEPTH and RECIPIENT_VARS_MAX_BYTES. */
export interface RecipientVarsLimits {
  /** Levels of objects and lists, the variables object itself the first. */
  maxDepth: number;
  /** Bytes of the variables as JSON text, as they are stored. */
  maxBytes: number;
}

export const DEFAULT_RECIPIENT_VARS_LIMITS: RecipientVarsLimits = { maxDepth: 8, maxBytes: 32_768 };

/**
 * Personalization variables: any JSON object (nested objects and lists too, read by `{{#each}}`,
 * `{{#with}}` and paths like `{{picks.0.title}}`), within the limits. The object is kept as it was
 * parsed, never copied key by key, so a `__proto__` key stays an own property (as JSON.parse makes it)
 * and never becomes a prototype.
 */
export function recipientVars(limits: RecipientVarsLimits = DEFAULT_RECIPIENT_VARS_LIMITS) {
  return (
    z
      .custom<Record<string, unknown>>()
      // zod has no JSON Schema for a custom check: the API document says what it accepts. Registered on
      // this schema itself, which the checked one below inherits it from (.meta would describe a copy).
      .register(z.globalRegistry, {
        type: "object",
        // Said outright: client generators read an object without it as one with no properties.
        additionalProperties: true,
        description:
          `Personalization variables: any JSON object (strings, numbers, booleans, null, nested objects and lists), ` +
          `at most ${limits.maxDepth} levels deep and ${limits.maxBytes} bytes as JSON.`,
        examples: [{ firstName: "Ann", picks: [{ title: "Salt", url: "https://example.com/salt" }] }],
      })
      .superRefine((vars, ctx) => {
        const problem = varsProblem(vars, limits);
        if (problem) ctx.addIssue({ code: "custom", path: problem.path, message: problem.message });
      })
  );
}

type IssuePath = (string | number)[];

/** The first thing wrong with a recipient's variables, at the path of the offending value. */
function varsProblem(vars: unknown, limits: RecipientVarsLimits): { path: IssuePath; message: string } | undefined {
  if (!isPlainObject(vars)) return { path: [], message: "must be an object of variables" };
  // Depth first and within the limit only: a value nested thousands deep is refused before anything recurses through it.
  const visit = (value: unknown, path: IssuePath, level: number): { path: IssuePath; message: string } | undefined => {
    const isList = Array.isArray(value);
    if (isList || isPlainObject(value)) {
      if (level > limits.maxDepth) return { path, message: `nested deeper than ${limits.maxDepth} levels` };
      const entries: [string | number, unknown][] = isList ? value.map((item, index) => [index, item]) : Object.entries(value);
      for (const [key, item] of entries) {
        const found = visit(item, [...path, key], level + 1);
        if (found) return found;
      }
      return undefined;
    }
    if (value === null || typeof value === "string" || typeof value === "boolean") return undefined;
    if (typeof value === "number" && Number.isFinite(value)) return undefined;
    return { path, message: "must be a JSON value: a string, number, boolean, null, list or object" };
  };
  const found = visit(vars, [], 1);
  if (found) return found;
  const bytes = Buffer.byteLength(JSON.stringify(vars), "utf8");
  if (bytes > limits.maxBytes) {
    return { path: [], message: `are ${bytes.toLocaleString("en-US")} bytes as JSON; at most ${limits.maxBytes.toLocaleString("en-US")} are allowed` };
  }
  return undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** One recipient: `{ "email": "ann@example.com", "vars": { "firstName": "Ann", "picks": [{ "title": "Salt" }] } }`. */
export function recipientInput(limits: RecipientVarsLimits = DEFAULT_RECIPIENT_VARS_LIMITS) {
  return z.strictObject({ email: emailAddress, vars: recipientVars(limits).optional() });
}

/** One line of an NDJSON append: the same as a recipient of the Sending JSON. */
export const recipientLine = recipientInput;
export type RecipientInput = z.output<ReturnType<typeof recipientInput>>;

export const slackUserId = z
  .string({ message: "must be a Slack user ID" })
  .regex(/^[UW][A-Z0-9]{2,}$/, "must be a Slack user ID such as U0123ABCD");

/** How the API document shows a launch date (its JSON Schema would otherwise be the string before the checks). */
export const LAUNCH_AT_DOC = {
  type: "string",
  format: "date-time",
  description: 'ISO 8601 with a time-zone offset ("2026-12-01T09:00:00+01:00" or "…Z"), in the future.',
} as const;

/** A date with its offset: "2026-12-01T09:00:00+01:00" or "…Z"; a bare local time is ambiguous and refused. */
const launchAt = (now: () => Date) =>
  z
    .string({ message: "must be a date-time string" })
    .pipe(
      z.iso.datetime({
        offset: true,
        message: 'must be an ISO 8601 date-time with a time-zone offset, e.g. "2026-12-01T09:00:00+01:00" or "…Z"',
      }),
    )
    .transform((value) => new Date(value))
    .refine((date) => date.getTime() > now().getTime(), { message: "must be in the future" })
    .meta(LAUNCH_AT_DOC);

/** A Handlebars template that must compile; an error names the part and the line ("html, line 30: `{{#if vip}}` opened here is never closed"). */
const template = (part: TemplatePart, empty: string) =>
  z
    .string({ message: "must be a template string" })
    .min(1, empty)
    .superRefine((source, ctx) => {
      const sources = { subject: "", html: "", text: null, [part]: source };
      for (const problem of checkTemplates(sources)) {
        if (problem.part === part) ctx.addIssue({ code: "custom", message: formatTemplateProblem(problem) });
      }
    });

const name = z.string().trim().min(1, "must not be empty").max(200, "must be at most 200 characters");

const contentFields = (now: () => Date) => ({
  name,
  subject: template("subject", "must not be empty").max(500, "must be at most 500 characters"),
  from: z.strictObject({ name: name.optional(), email: emailAddress }),
  replyTo: emailAddress.optional(),
  html: template("html", "must not be empty"),
  text: template("text", "must not be empty when given (leave it out to derive it from the HTML)").optional(),
  launchAt: launchAt(now),
});

const uniqueRecipients = (limits: RecipientVarsLimits) => z.array(recipientInput(limits)).superRefine((recipients, ctx) => {
  const firstIndex = new Map<string, number>();
  recipients.forEach((recipient, index) => {
    const first = firstIndex.get(recipient.email);
    if (first === undefined) firstIndex.set(recipient.email, index);
    else {
      ctx.addIssue({
        code: "custom",
        path: [index, "email"],
        message: `${recipient.email} is already recipients[${first}]; each address may appear once`,
      });
    }
  });
});

/** The Sending JSON of the intake API (see DESIGN.md). `now` decides what "in the past" means. */
export function sendingInputSchema(now: () => Date, limits: RecipientVarsLimits = DEFAULT_RECIPIENT_VARS_LIMITS) {
  return z.strictObject({
    ...contentFields(now),
    requestedBy: slackUserId,
    recipients: uniqueRecipients(limits).default([]),
  });
}

export type SendingInput = z.output<ReturnType<typeof sendingInputSchema>>;
/** The JSON a client sends, before normalization. */
export type SendingInputJson = z.input<ReturnType<typeof sendingInputSchema>>;

/**
 * A content change through `PUT /api/sendings/:id`: any of the content fields; `replyTo` and `text`
 * may be set to null to remove them. `changedBy` names the Slack user behind the change, if any.
 */
export function sendingChangeSchema(now: () => Date) {
  const fields = contentFields(now);
  return z
    .strictObject({
      name: fields.name.optional(),
      subject: fields.subject.optional(),
      from: fields.from.optional(),
      replyTo: emailAddress.nullable().optional(),
      html: fields.html.optional(),
      text: fields.text.unwrap().nullable().optional(),
      launchAt: fields.launchAt.optional(),
      changedBy: slackUserId.optional(),
    })
    .refine(({ changedBy: _by, ...content }) => Object.values(content).some((value) => value !== undefined), {
      message: "names no field to change (name, subject, from, replyTo, html, text, launchAt)",
    });
}

export type SendingChange = z.output<ReturnType<typeof sendingChangeSchema>>;

export interface InputIssue {
  path: (string | number)[];
  message: string;
}

export function issuesOf(error: z.ZodError): InputIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map((key) => (typeof key === "symbol" ? String(key) : key)),
    message: issue.message,
  }));
}

/** A refusal of input that does not parse, with zod's issues for the caller to show. */
export function invalidInput(error: z.ZodError, what: string): AppError {
  const issues = issuesOf(error);
  const first = issues[0];
  const summary = first ? `${formatIssuePath(first.path) || what}: ${first.message}` : "invalid";
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
  return new AppError("VALIDATION", `The ${what} is invalid: ${summary}${more}.`, { issues });
}

/** `recipients[3].vars.picks[2].title`: a path as a reader of JSON writes it. */
export function formatIssuePath(path: readonly (string | number)[]): string {
  return path.map((key, index) => (typeof key === "number" ? `[${key}]` : `${index > 0 ? "." : ""}${key}`)).join("");
}
