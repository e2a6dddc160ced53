import { z } from "zod";
import type { Config } from "../config.js";
import { allStatuses } from "../domain/sending-status.js";
import { cancelSending } from "../sendings/cancel-sending.js";
import { FIND_LIMIT_DEFAULT, FIND_LIMIT_MAX, findSendings } from "../sendings/find-sendings.js";
import { pauseSending } from "../sendings/pause-sending.js";
import { REASON_MAX_LENGTH } from "../sendings/reject-sending.js";
import { resumeSending } from "../sendings/resume-sending.js";
import { operatorActor } from "../sendings/support/authority.js";
import type { ControlDeps, UseCaseDeps } from "../sendings/support/deps.js";
import type { ApproverDirectory } from "../sendings/support/ports.js";
import { invalidInput } from "../sendings/support/sending-input.js";
import { readJsonBody, requireContentType } from "./body.js";
import { cancelledJson, pausedJson, resumedJson, sendingListJson } from "./response-schemas.js";
import type { Route } from "./router.js";

const JSON_TYPES = ["application/json"];

const TAG = "Operator";
const SENDING_ID = { id: "The sending's id (snd_…)." };
const NOT_FOUND = "No sending has this id.";

const reason = z.string().trim().min(1, "is empty; say why, or leave it out").max(REASON_MAX_LENGTH, `must be at most ${REASON_MAX_LENGTH} characters`);

const pauseBody = z.strictObject({ reason: reason.optional() });
const resumeBody = z.strictObject({});
const cancelBody = z.strictObject({
  reason: z
    .string({ error: "is required: why the sending is cancelled (the Slack thread shows it)" })
    .trim()
    .min(1, "is required: why the sending is cancelled (the Slack thread shows it)")
    .max(REASON_MAX_LENGTH, `must be at most ${REASON_MAX_LENGTH} characters`),
  prepared: z.enum(["drop", "deliver"], {
    error:
      'is required: "drop" (messages already prepared are not sent) or "deliver" (they still go out); the recipients not yet prepared are cancelled either way',
  }),
});

/**
 * Every change through these routes is an operator's (`operator:<name>`), whom the use cases let
 * through before asking who approves: no Slack user acts here, so the directory answers no to all.
 */
const noSlackUsers: ApproverDirectory = { isApprover: async () => false };

function parseBody<T extends z.ZodType>(schema: T, body: unknown, what: string): z.output<T> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw invalidInput(parsed.error, what);
  return parsed.data;
}

/**
 * The operator API (OPERATOR_TOKENS): list, pause, resume and cancel sendings when Slack cannot be
 * used. The same use cases as the Slack buttons, with the token's holder as the actor
 * (`operator:<name>`), so the audit and the Slack thread tell who did it once Slack answers again.
 */
export function operatorRoutes(intake: UseCaseDeps & { config: Config }): Route[] {
  const deps: ControlDeps = { ...intake, approvers: noSlackUsers };
  const { bodyLimit } = intake.config.http;
  return [
    {
      method: "GET",
      pattern: "/api/sendings",
      auth: "operator",
      doc: {
        operationId: "listSendings",
        summary: "List sendings, newest first, a page at a time",
        description: "With their recipient counts by delivery state: enough to decide what to pause or cancel. The order holds while statuses and counts move.",
        tag: TAG,
        query: {
          status: {
            schema: z.array(z.enum(allStatuses)),
            explode: false,
            description: "Only sendings in these statuses, comma-separated (?status=SENDING,PAUSED; repeating the parameter works too, any case). All when left out.",
          },
          limit: { schema: z.int().min(1).max(FIND_LIMIT_MAX).default(FIND_LIMIT_DEFAULT), description: "How many sendings a page." },
          cursor: { schema: z.string(), description: "The `next` of the previous page." },
        },
        answers: { 200: { description: "A page of sendings, and where the next one starts.", json: { name: "SendingList", schema: sendingListJson } } },
        refusals: { VALIDATION: "A status that does not exist, a limit out of range, or a cursor this list did not give." },
      },
      async handle({ url }) {
        const statuses = url.searchParams.getAll("status");
        const found = await findSendings(deps, {
          // ?status=SENDING,PAUSED and ?status=SENDING&status=PAUSED alike.
          status: statuses.length > 0 ? statuses.join(",") : undefined,
          limit: url.searchParams.get("limit") ?? undefined,
          cursor: url.searchParams.get("cursor") ?? undefined,
        });
        return { status: 200, body: found };
      },
    },
    {
      method: "POST",
      pattern: "/api/sendings/:id/pause",
      auth: "operator",
      doc: {
        operationId: "pauseSending",
        summary: "Pause a delivery",
        description: "No more messages go to the mail server; the few already in its hands finish. The Slack thread tells who paused it, and why.",
        tag: TAG,
        params: SENDING_ID,
        body: { types: JSON_TYPES, json: { name: "PauseRequest", schema: pauseBody }, required: false },
        answers: { 200: { description: "Paused.", json: { name: "Paused", schema: pausedJson } } },
        refusals: { VALIDATION: "The body does not parse.", NOT_FOUND, INVALID_STATE: "The sending is not delivering (the body names its status)." },
      },
      async handle({ req, params, tokenName }) {
        requireContentType(req, JSON_TYPES, true);
        const body = parseBody(pauseBody, await readJsonBody(req, bodyLimit, { whenEmpty: {} }), "pause request");
        const sendingId = params.id ?? "";
        const { status } = await pauseSending(deps, { sendingId, actor: operatorActor(tokenName), reason: body.reason });
        return { status: 200, body: { id: sendingId, status } satisfies z.output<typeof pausedJson> };
      },
    },
    {
      method: "POST",
      pattern: "/api/sendings/:id/resume",
      auth: "operator",
      doc: {
        operationId: "resumeSending",
        summary: "Resume a paused delivery",
        description: "Delivery continues where it stopped: what was prepared goes first.",
        tag: TAG,
        params: SENDING_ID,
        body: { types: JSON_TYPES, json: { name: "ResumeRequest", schema: resumeBody }, required: false },
        answers: { 200: { description: "Delivering again.", json: { name: "Resumed", schema: resumedJson } } },
        refusals: { VALIDATION: "The body does not parse.", NOT_FOUND, INVALID_STATE: "The sending is not paused (the body names its status)." },
      },
      async handle({ req, params, tokenName }) {
        requireContentType(req, JSON_TYPES, true);
        parseBody(resumeBody, await readJsonBody(req, bodyLimit, { whenEmpty: {} }), "resume request");
        const sendingId = params.id ?? "";
        const { status } = await resumeSending(deps, { sendingId, actor: operatorActor(tokenName) });
        return { status: 200, body: { id: sendingId, status } satisfies z.output<typeof resumedJson> };
      },
    },
    {
      method: "POST",
      pattern: "/api/sendings/:id/cancel",
      auth: "operator",
      doc: {
        operationId: "cancelSending",
        summary: "Cancel a sending",
        description:
          "Pending, scheduled, delivering or paused. The recipients not prepared yet are cancelled; `prepared` says whether the messages " +
          "already prepared are dropped or still delivered.",
        tag: TAG,
        params: SENDING_ID,
        body: { types: JSON_TYPES, json: { name: "CancelRequest", schema: cancelBody }, required: true },
        answers: { 200: { description: "Cancelled: how many recipients it spared and what became of the prepared messages.", json: { name: "Cancelled", schema: cancelledJson } } },
        refusals: {
          VALIDATION: "The body lacks reason or prepared, or does not parse.",
          NOT_FOUND,
          INVALID_STATE: "The sending is finished already (the body names its status).",
        },
      },
      async handle({ req, params, tokenName }) {
        requireContentType(req, JSON_TYPES, true);
        const body = parseBody(cancelBody, await readJsonBody(req, bodyLimit), "cancel request");
        const sendingId = params.id ?? "";
        const result = await cancelSending(deps, { sendingId, actor: operatorActor(tokenName), reason: body.reason, prepared: body.prepared });
        return { status: 200, body: { id: sendingId, status: "CANCELLED", ...result } satisfies z.output<typeof cancelledJson> };
      },
    },
  ];
}
