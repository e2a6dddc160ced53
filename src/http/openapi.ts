import { readFileSync } from "node:fs";
import { z } from "zod";
import type { ErrorCode } from "../domain/errors.js";
import { analysisSummaryJson, sendingStateJson } from "../sendings/support/sending-representation.js";
import { DEFAULT_WEBHOOK_RETRY, WEBHOOK_REQUEST_TIMEOUT_MS } from "../webhooks/webhook-dispatcher.js";
import { WEBHOOK_EVENTS } from "../webhooks/webhook-schemas.js";
import type { TokenKind } from "./auth.js";
import { appErrorStatus, errorBodySchema } from "./errors.js";
import type { NamedSchema, OperationDoc, Route } from "./router.js";

/**
 * The OpenAPI 3.1 document of the API, made from the route table: each route carries the zod schemas
 * it reads and answers with, so a route cannot be added, or its input changed, without the document
 * following. Request bodies are shown as they are sent (zod's input form, before transforms), answers
 * as they are written.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a JSON document, built and then only serialized
type Json = Record<string, any>;

const COMPONENTS = "#/components/schemas/";

const SECURITY_SCHEMES: Record<TokenKind, { name: string; description: string }> = {
  intake: {
    name: "intakeToken",
    description: "A token from API_TOKENS, for the system that hands sendings in: create, read, change them and append recipients.",
  },
  operator: {
    name: "operatorToken",
    description: "A token from OPERATOR_TOKENS, for when Slack cannot be used: list, pause, resume and cancel sendings.",
  },
};

/** What every route that takes a token may answer before its own work starts (see auth.ts). */
const ACCESS_REFUSALS: Record<TokenKind, { status: number; error: string; description: string }[]> = {
  intake: [
    { status: 401, error: "unauthorized", description: "No token, or one that is not in API_TOKENS." },
    { status: 403, error: "forbidden", description: "An operator token: it only lists, pauses, resumes and cancels." },
    { status: 503, error: "intake_api_disabled", description: "The server has no API_TOKENS: the intake API is disabled." },
  ],
  operator: [
    { status: 401, error: "unauthorized", description: "No token, or one that is not in OPERATOR_TOKENS." },
    { status: 403, error: "forbidden", description: "An intake token (API_TOKENS): it cannot steer deliveries." },
    { status: 503, error: "operator_api_disabled", description: "The server has no OPERATOR_TOKENS: the operator API is disabled." },
  ],
};

/** What reading a body may answer before the use case sees it (see body.ts). */
const BODY_REFUSALS = {
  json: [{ status: 400, error: "malformed_json", description: "The body is not JSON (or is empty where one is required)." }],
  any: [
    { status: 413, error: "payload_too_large", description: "The body is larger than the server's limit (API_BODY_LIMIT, API_NDJSON_LIMIT)." },
    { status: 415, error: "unsupported_media_type", description: "A content type the route does not read." },
  ],
};

const TAGS = [
  { name: "Intake", description: "For the system that hands sendings in (API_TOKENS)." },
  { name: "Operator", description: "Steering deliveries when Slack cannot be used (OPERATOR_TOKENS)." },
  { name: "Service", description: "Health, metrics and this document; no token." },
  { name: "Webhooks", description: "What sendgate posts to each of WEBHOOK_URLS when a sending changes (Standard Webhooks requests)." },
];

/** Schemas that several others use: named once, referred to everywhere. */
const SHARED: NamedSchema[] = [
  { name: "AnalysisSummary", schema: analysisSummaryJson },
  { name: "SendingState", schema: sendingStateJson },
];

export function packageVersion(): string {
  const file = new URL("../../package.json", import.meta.url);
  return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
}

/** `/api/sendings/:id` → `/api/sendings/{id}`. */
export const openApiPath = (pattern: string) => pattern.replace(/:([A-Za-z]\w*)/g, "{$1}");

const isOperation = (route: Route): route is Route & { doc: OperationDoc } => !("notInApi" in route.doc);

export function createOpenApiDocument(routes: readonly Route[], version = packageVersion()): Json {
  const schemas = new SchemaSet();
  for (const shared of SHARED) schemas.add("output", shared);
  schemas.add("output", { name: "ErrorBody", schema: errorBodySchema });

  const paths: Json = {};
  for (const route of routes.filter(isOperation)) {
    const path = openApiPath(route.pattern);
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = operation(route, schemas);
  }

  const webhooks: Json = {};
  for (const { type, summary, description, schema } of WEBHOOK_EVENTS) {
    webhooks[type] = { post: webhookOperation(type, summary, description, schemas.ref("output", { name: webhookSchemaName(type), schema })) };
  }

  return {
    openapi: "3.1.0",
    info: {
      title: "sendgate",
      version,
      description:
        "The approval gate and delivery engine for email sendings. A system hands sendings in with an intake token; approvers decide in Slack; " +
        "operators steer deliveries with an operator token when Slack cannot be used. Every refusal has the ErrorBody shape.",
    },
    servers: [{ url: "/" }],
    tags: TAGS,
    paths,
    webhooks,
    components: {
      schemas: schemas.emit(),
      securitySchemes: Object.fromEntries(
        Object.values(SECURITY_SCHEMES).map(({ name, description }) => [name, { type: "http", scheme: "bearer", description }]),
      ),
    },
  };
}

function operation(route: Route & { doc: OperationDoc }, schemas: SchemaSet): Json {
  const { doc } = route;
  const auth = "auth" in route ? route.auth : false;
  const parameters = [
    ...[...route.pattern.matchAll(/:([A-Za-z]\w*)/g)].map(([, name = ""]) => ({
      name,
      in: "path",
      required: true,
      description: doc.params?.[name] ?? name,
      schema: { type: "string" },
    })),
    ...Object.entries(doc.query ?? {}).map(([name, { schema, description, explode }]) => ({
      name,
      in: "query",
      required: false,
      description,
      schema: inlineSchema(schema),
      ...(explode === undefined ? {} : { style: "form", explode }),
    })),
  ];

  const responses: Json = {};
  for (const [status, answer] of Object.entries(doc.answers)) {
    const content =
      "json" in answer ? { "application/json": { schema: schemas.ref("output", answer.json) } } : { [answer.text]: { schema: { type: "string" } } };
    responses[status] = { description: answer.description, content };
  }
  for (const refusal of refusalsOf(route, doc, auth)) {
    const response = (responses[refusal.status] ??= { description: "", codes: [] as string[] });
    response.description = response.description ? `${response.description} ${refusal.description}` : refusal.description;
    if (!response.codes.includes(refusal.error)) response.codes.push(refusal.error);
  }
  for (const [status, response] of Object.entries(responses)) {
    if (!("codes" in response)) continue;
    const { codes, description } = response as { codes: string[]; description: string };
    const schema = { $ref: `${COMPONENTS}ErrorBody`, properties: { error: { enum: codes } } };
    responses[status] = { description, content: { "application/json": { schema } } };
  }

  return {
    operationId: doc.operationId,
    summary: doc.summary,
    ...(doc.description ? { description: doc.description } : {}),
    tags: [doc.tag],
    security: auth ? [{ [SECURITY_SCHEMES[auth].name]: [] }] : [],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(doc.body ? { requestBody: requestBody(doc.body, schemas) } : {}),
    responses: Object.fromEntries(Object.entries(responses).sort(([a], [b]) => Number(a) - Number(b))),
  };
}

/** `sending.approval_added` → `SendingApprovalAddedEvent`. */
const webhookSchemaName = (type: string) => `${type.split(/[._]/).map((word) => word[0]!.toUpperCase() + word.slice(1)).join("")}Event`;

/** The headers of every webhook request (see src/webhooks/signature.ts). */
const WEBHOOK_HEADERS = [
  {
    name: "webhook-id",
    description: "The event's id: the same on every retry of one event, to every endpoint. Drop an event whose id you already have.",
    schema: { type: "string" },
  },
  {
    name: "webhook-timestamp",
    description: "When this attempt was signed, in seconds since the Unix epoch; refuse old ones (the Standard Webhooks libraries allow 5 minutes).",
    schema: { type: "string", pattern: "^[0-9]+$" },
  },
  {
    name: "webhook-signature",
    description:
      "`v1,` and the base64 HMAC-SHA256 of `<webhook-id>.<webhook-timestamp>.<body>` with the key of a WEBHOOK_SECRET (`whsec_` and base64). " +
      "With several secrets, one signature each, space-separated, so a secret rotates without a gap. Verify with a Standard Webhooks library.",
    schema: { type: "string", pattern: "^v1,[A-Za-z0-9+/]+={0,2}( v1,[A-Za-z0-9+/]+={0,2})*$" },
  },
].map((header) => ({ ...header, in: "header", required: true }));

/** What the dispatcher does with an answer, from its own settings. */
const WEBHOOK_RETRIES = (() => {
  const { firstMs, maxMs, giveUpAfterMs } = DEFAULT_WEBHOOK_RETRY;
  const seconds = (ms: number) => `${ms / 1000} s`;
  return (
    `Anything else, or no answer within ${seconds(WEBHOOK_REQUEST_TIMEOUT_MS)}: tried again after ${seconds(firstMs)}, ${seconds(2 * firstMs)}, ` +
    `${seconds(4 * firstMs)}… up to ${maxMs / 3_600_000} h apart; after ${giveUpAfterMs / 3_600_000} h of retries the event is marked failed and the next one goes.`
  );
})();

function webhookOperation(type: string, summary: string, description: string, schema: Json): Json {
  return {
    operationId: type,
    summary,
    description:
      `${description} Posted to each of WEBHOOK_URLS, a sending's events to one URL in the order they happened; ` +
      "written in the transaction of the change, so none is lost across a crash or a restart.",
    tags: ["Webhooks"],
    parameters: WEBHOOK_HEADERS,
    requestBody: { required: true, content: { "application/json": { schema } } },
    responses: {
      "2XX": { description: "Taken: the event is not sent again." },
      "410": { description: "Gone: this URL gets no more events, across restarts, until WEBHOOK_URLS changes." },
      default: { description: WEBHOOK_RETRIES },
    },
  };
}

function requestBody(body: NonNullable<OperationDoc["body"]>, schemas: SchemaSet): Json {
  if ("json" in body) {
    const media = { schema: schemas.ref("input", body.json) };
    return { required: body.required, ...(body.description ? { description: body.description } : {}), content: mediaTypes(body.types, media) };
  }
  // OpenAPI 3.1 has no schema for a stream of JSON values: the body is text, and x-itemSchema (3.2's itemSchema) gives each line's.
  const media = {
    schema: { type: "string", description: `Newline-delimited JSON: one ${body.ndjson.name} object a line; blank lines are skipped.` },
    "x-itemSchema": schemas.ref("input", body.ndjson),
  };
  return { required: true, ...(body.description ? { description: body.description } : {}), content: mediaTypes(body.types, media) };
}

const mediaTypes = (types: readonly string[], media: Json) => Object.fromEntries(types.map((type) => [type, media]));

function refusalsOf(route: Route, doc: OperationDoc, auth: TokenKind | false) {
  const refusals = Object.entries(doc.refusals ?? {}).map(([code, description]) => ({ ...appErrorStatus[code as ErrorCode], description }));
  if (doc.body) refusals.push(...("json" in doc.body ? BODY_REFUSALS.json : []), ...BODY_REFUSALS.any);
  if (auth) refusals.push(...ACCESS_REFUSALS[auth]);
  if (refusals.some(({ status }) => status < 400)) throw new Error(`${route.method} ${route.pattern}: a refusal with a status below 400`);
  return refusals;
}

/** A query parameter's schema, small enough to stand where it is used. */
function inlineSchema(schema: z.ZodType): Json {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { target: "draft-2020-12", io: "input", unrepresentable: explained }) as Json;
  return json;
}

/**
 * zod has no JSON Schema for a custom check (recipient variables): such a schema must say what it
 * accepts in its metadata (`.meta({ type: "object", … })`), or the document is not made.
 */
function explained({ zodSchema, path, message }: { zodSchema: z.core.$ZodType; path: (string | number)[]; message: string }) {
  const meta = z.globalRegistry.get(zodSchema);
  if (meta && "type" in meta) return "any" as const;
  throw new Error(`${message} (at ${path.join(".") || "the top"}): say what it accepts with .meta({ type: … })`);
}

/**
 * The named schemas of the document. Requests are converted in zod's input form and answers in its
 * output form, each in one pass so that a schema named here is referred to ($ref) wherever it is used.
 */
class SchemaSet {
  private readonly sides = { input: new Map<string, z.ZodType>(), output: new Map<string, z.ZodType>() };

  add(io: "input" | "output", { name, schema }: NamedSchema) {
    const known = this.sides[io].get(name);
    if (known && known !== schema) throw new Error(`Two schemas are named ${name} in the API document.`);
    this.sides[io].set(name, schema);
  }

  ref(io: "input" | "output", named: NamedSchema): Json {
    this.add(io, named);
    return { $ref: `${COMPONENTS}${named.name}` };
  }

  emit(): Json {
    const schemas: Json = {};
    for (const io of ["input", "output"] as const) {
      const registry = z.registry<{ id: string }>();
      // The shared schemas are referred to from requests too (PUT takes the representation back).
      for (const shared of io === "input" ? SHARED : []) if (!this.sides.input.has(shared.name)) registry.add(shared.schema, { id: shared.name });
      for (const [name, schema] of this.sides[io]) registry.add(schema, { id: name });
      const converted = z.toJSONSchema(registry, {
        target: "draft-2020-12",
        io,
        unrepresentable: explained,
        uri: (id) => `${COMPONENTS}${id}`,
      }).schemas as Json;
      if ("__shared" in converted) throw new Error("A schema of the API document has a global id; name it in the route table instead.");
      for (const [name, converted_] of Object.entries(converted)) {
        const { $schema: _dialect, $id: _id, ...json } = converted_ as Json;
        if (name in schemas && JSON.stringify(schemas[name]) !== JSON.stringify(json)) {
          throw new Error(`${name} reads differently as a request and as an answer; give the two different names.`);
        }
        schemas[name] = json;
      }
    }
    return Object.fromEntries(Object.entries(schemas).sort(([a], [b]) => a.localeCompare(b)));
  }
}
