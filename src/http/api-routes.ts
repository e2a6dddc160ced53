import type { Config } from "../config.js";
import { appendRecipients } from "../sendings/append-recipients.js";
import { createSending } from "../sendings/create-sending.js";
import type { SendingAnalyzer } from "../sendings/support/current-analysis.js";
import type { IntakeDeps } from "../sendings/support/deps.js";
import { getSending } from "../sendings/get-sending.js";
import { replaceSending } from "../sendings/replace-sending.js";
import { updateSending } from "../sendings/update-sending.js";
import { readJsonBody, readLines, requireContentType } from "./body.js";
import type { Metrics } from "../metrics.js";
import type { Route } from "./router.js";

const JSON_TYPES = ["application/json"];
const NDJSON_TYPES = ["application/x-ndjson", "application/jsonl", "application/json-lines"];

/**
 * The intake API, for the systems that hand sendings in (API_TOKENS): parse the request, call one
 * use case, answer. The rules live in the use cases.
 */
export function apiRoutes(deps: IntakeDeps & { config: Config; analyzer: SendingAnalyzer }, metrics: Metrics): Route[] {
  const { bodyLimit, ndjsonLimit } = deps.config.http;
  return [
    {
      method: "POST",
      pattern: "/api/sendings",
      auth: "intake",
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
      handle: async ({ params }) => ({ status: 200, body: await getSending(deps, params.id ?? "") }),
    },
    {
      method: "PATCH",
      pattern: "/api/sendings/:id",
      auth: "intake",
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
