import type { Config } from "../config.js";
import { appendRecipients } from "../sendings/append-recipients.js";
import { createSending } from "../sendings/create-sending.js";
import type { SendingAnalyzer } from "../sendings/support/current-analysis.js";
import type { IntakeDeps } from "../sendings/support/deps.js";
import { getSending } from "../sendings/get-sending.js";
import { replaceSending } from "../sendings/replace-sending.js";
import { recipientLine, sendingChangeSchema, sendingInputSchema, slackUserId } from "../sendings/support/sending-input.js";
import { sendingRepresentationSchema, sendingStateJson } from "../sendings/support/sending-representation.js";
import { updateSending } from "../sendings/update-sending.js";
import { readJsonBody, readLines, requireContentType } from "./body.js";
import type { Metrics } from "../metrics.js";
import { appendResultJson, contentChangeJson, createdSendingJson } from "./response-schemas.js";
import type { Route } from "./router.js";

const JSON_TYPES = ["application/json"];
const NDJSON_TYPES = ["application/x-ndjson", "application/jsonl", "application/json-lines"];

const TAG = "Intake";
const SENDING_ID = { id: "The sending's id, as the answer to its creation gave it (snd_…)." };
const NOT_FOUND = "No sending has this id.";
const NOT_EDITABLE = "The sending is no longer pending approval or scheduled: its content and recipients cannot change (the body names its status).";
const CHANGED_MEANWHILE = "The sending changed while this change was made: read it again and retry.";

/**
 * The intake API, for the systems that hand sendings in (API_TOKENS): parse the request, call one
 * use case, answer. The rules live in the use cases.
 */
export function apiRoutes(deps: IntakeDeps & { config: Config; analyzer: SendingAnalyzer }, metrics: Metrics): Route[] {
  const { bodyLimit, ndjsonLimit } = deps.config.http;
  const now = () => deps.clock.now();
  const contentChange = { name: "ContentChange", schema: contentChangeJson };
  return [
    {
      method: "POST",
      pattern: "/api/sendings",
      auth: "intake",
      doc: {
        operationId: "createSending",
        summary: "Hand in a sending",
        description:
          "Stores the sending with its recipients and posts it to Slack for approval. Templates must compile, addresses must be valid and unique, " +
          "and launchAt must be in the future. Larger recipient lists are appended as NDJSON afterwards.",
        tag: TAG,
        body: { types: JSON_TYPES, json: { name: "SendingInput", schema: sendingInputSchema(now, deps.recipientVarsLimits) }, required: true },
        answers: { 201: { description: "Created, pending approval: its id, content hash and analysis.", json: { name: "CreatedSending", schema: createdSendingJson } } },
        refusals: { VALIDATION: "The sending does not parse: `issues` names every problem, at its path." },
      },
      async handle({ req, tokenName }) {
        requireContentType(req, JSON_TYPES, true);
        const created = await createSending(deps, { sending: await readJsonBody(req, bodyLimit), tokenName });
        return { status: 201, body: created };
      },
    },
    {
      method: "GET",
      pattern: "/api/sendings/:id",
      auth: "intake",
      doc: {
        operationId: "getSending",
        summary: "Read a sending",
        description: "Its content, status, recipient counts by delivery state, decisions and analysis: the representation PUT takes back.",
        tag: TAG,
        params: SENDING_ID,
        answers: { 200: { description: "The sending.", json: { name: "SendingState", schema: sendingStateJson } } },
        refusals: { NOT_FOUND },
      },
      handle: async ({ params }) => ({ status: 200, body: await getSending(deps, params.id ?? "") }),
    },
    {
      method: "PATCH",
      pattern: "/api/sendings/:id",
      auth: "intake",
      doc: {
        operationId: "updateSending",
        summary: "Change some of a sending's fields",
        description:
          "While pending approval or scheduled. Fields left out keep their value; replyTo and text set to null are removed. A change of what " +
          "recipients receive (subject, from, replyTo, html, text) withdraws the approvals and sends it back for approval.",
        tag: TAG,
        params: SENDING_ID,
        body: { types: JSON_TYPES, json: { name: "SendingChange", schema: sendingChangeSchema(now) }, required: true },
        answers: { 200: { description: "What changed, the status now, and the analysis of the content as stored.", json: contentChange } },
        refusals: {
          VALIDATION: "The change does not parse, or names no field to change.",
          NOT_FOUND,
          CONFLICT: `${NOT_EDITABLE} Or: ${CHANGED_MEANWHILE}`,
        },
      },
      async handle({ req, params, tokenName }) {
        requireContentType(req, JSON_TYPES, true);
        const updated = await updateSending(deps, { sendingId: params.id ?? "", change: await readJsonBody(req, bodyLimit), tokenName });
        return { status: 200, body: updated };
      },
    },
    {
      method: "PUT",
      pattern: "/api/sendings/:id",
      auth: "intake",
      doc: {
        operationId: "replaceSending",
        summary: "Replace a sending's content with the representation GET returned, edited",
        description:
          "The content fields replace what is stored (replyTo, text and from.name left out or null are removed); read-only fields may be sent " +
          "back unchanged or left out, and a changed one is refused naming it. Recipients are never replaced: append them as NDJSON. " +
          "The same change and answer as PATCH from there on.",
        tag: TAG,
        params: SENDING_ID,
        body: { types: JSON_TYPES, json: { name: "SendingRepresentation", schema: sendingRepresentationSchema(now) }, required: true },
        answers: { 200: { description: "What changed, the status now, and the analysis of the content as stored.", json: contentChange } },
        refusals: {
          VALIDATION: "The representation does not parse, lacks a required field, or changes a read-only one (a representation read before a later change carries an old updatedAt).",
          NOT_FOUND,
          CONFLICT: `${NOT_EDITABLE} Or: ${CHANGED_MEANWHILE}`,
        },
      },
      async handle({ req, params, tokenName }) {
        requireContentType(req, JSON_TYPES, true);
        const replaced = await replaceSending(deps, { sendingId: params.id ?? "", representation: await readJsonBody(req, bodyLimit), tokenName });
        return { status: 200, body: replaced };
      },
    },
    {
      method: "POST",
      pattern: "/api/sendings/:id/recipients",
      auth: "intake",
      doc: {
        operationId: "appendRecipients",
        summary: "Append recipients as NDJSON",
        description:
          "One Recipient JSON object a line, streamed (large lists); all or nothing: an invalid line refuses the whole upload, naming the lines. " +
          "Addresses already in the upload or in the sending are skipped and counted. Appending changes the content: approvals are withdrawn.",
        tag: TAG,
        params: SENDING_ID,
        query: { changedBy: { schema: slackUserId, description: "The Slack user behind the upload; without it the change is the token's." } },
        body: { types: NDJSON_TYPES, ndjson: { name: "Recipient", schema: recipientLine(deps.recipientVarsLimits) } },
        answers: { 200: { description: "How many lines were read and appended, and the sending's status now.", json: { name: "AppendResult", schema: appendResultJson } } },
        refusals: {
          VALIDATION: "Lines are invalid (`issues` gives each line, path and problem; `invalidLines` how many), or changedBy is not a Slack user ID.",
          NOT_FOUND,
          CONFLICT: NOT_EDITABLE,
        },
      },
      async handle({ req, url, params, tokenName }) {
        requireContentType(req, NDJSON_TYPES);
        const result = await appendRecipients(deps, {
          sendingId: params.id ?? "",
          lines: readLines(req, ndjsonLimit),
          actor: url.searchParams.get("changedBy") ?? undefined,
          tokenName,
        });
        metrics.countAppendedRecipients(result.appended);
        return { status: 200, body: result };
      },
    },
  ];
}
