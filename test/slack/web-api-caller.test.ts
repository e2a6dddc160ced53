import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import nock from "nock";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { isSlackUnreachable } from "../../src/slack/outage-reporter.js";
import { createWebApiCaller, type WebApiCaller } from "../../src/slack/web-api-caller.js";

describe("the lean Web API path", () => {
  let server: Server;
  let apiUrl: string;
  const received: Array<{ method: string; headers: IncomingMessage["headers"]; body: string }> = [];
  const callers: WebApiCaller[] = [];
  const caller = (options: Partial<Parameters<typeof createWebApiCaller>[0]> = {}) => {
    const made = createWebApiCaller({ apiUrl, token: "xoxb-test", retries: 0, ...options });
    callers.push(made);
    return made;
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const method = req.url?.split("/").at(-1) ?? "";
        received.push({ method, headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
        const json = (text: string) => res.writeHead(200, { "content-type": "application/json" }).end(text);
        if (method === "views.open") json('{"ok":true,"view":{"id":"V1"}}');
        else if (method === "chat.update") json('{"ok":false,"error":"message_not_found"}');
        else if (method === "users.info") res.writeHead(429, { "retry-after": "7" }).end();
        else res.writeHead(503).end("down");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`;
  });
  afterEach(() => {
    nock.cleanAll();
    nock.enableNetConnect();
  });
  afterAll(async () => {
    for (const made of callers) made.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("sends the JSON body with the bot token, reads Slack's answer, and counts the call by its answer", async () => {
    const seen: string[] = [];
    const answer = await caller({ observe: (method, outcome) => seen.push(`${method} ${outcome}`) }).call("views.open", '{"trigger_id":"t1","view":{"type":"modal"}}');
    expect(answer).toEqual({ ok: true, view: { id: "V1" } });
    const [sent] = received.splice(0);
    expect(sent).toMatchObject({ method: "views.open", body: '{"trigger_id":"t1","view":{"type":"modal"}}' });
    expect(sent!.headers.authorization).toBe("Bearer xoxb-test");
    expect(sent!.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(seen).toEqual(["views.open ok"]);
  });

  it("refuses as the Slack client does: Slack's error code in the error's data, not retried", async () => {
    const seen: string[] = [];
    const failing = caller({ retries: 2, observe: (method, outcome) => seen.push(`${method} ${outcome}`) }).call("chat.update", "{}");
    await expect(failing).rejects.toMatchObject({ code: "slack_webapi_platform_error", data: { ok: false, error: "message_not_found" } });
    expect(seen).toEqual(["chat.update message_not_found"]);
  });

  it("retries an answer that is no answer, then reports Slack unreachable", async () => {
    const seen: string[] = [];
    const failing = caller({ retries: 2, observe: (method, outcome) => seen.push(`${method} ${outcome}`) }).call("conversations.info", "{}");
    const error = await failing.catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "slack_webapi_http_error", statusCode: 503 });
    expect(isSlackUnreachable(error)).toBe(true);
    expect(seen).toEqual(["conversations.info http_503", "conversations.info http_503", "conversations.info http_503"]);
  });

  it("does not wait out a rate limit: a trigger id lasts 3 seconds", async () => {
    const started = Date.now();
    await expect(caller({ retries: 2 }).call("users.info", "{}")).rejects.toMatchObject({ code: "slack_webapi_rate_limited_error", retryAfter: 7 });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("reports a refused connection as Slack unreachable", async () => {
    const error = await createWebApiCaller({ apiUrl: "http://127.0.0.1:1/api/", token: "xoxb-test", retries: 0 })
      .call("views.open", "{}")
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "slack_webapi_request_error", original: { code: "ECONNREFUSED" } });
    expect(isSlackUnreachable(error)).toBe(true);
  });

  it("reports a connection reset under it as Slack unreachable, after its retries", async () => {
    nock.disableNetConnect();
    // What a socket emits when the connection dies: an Error with a code.
    const reset = nock("http://slack.invalid")
      .post("/api/views.open")
      .times(2)
      .replyWithError(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }));
    const error = await caller({ apiUrl: "http://slack.invalid/api/", retries: 1 })
      .call("views.open", "{}")
      .catch((e: unknown) => e);
    expect(reset.isDone()).toBe(true);
    expect(error).toMatchObject({ code: "slack_webapi_request_error", original: { code: "ECONNRESET", message: "socket hang up" } });
    expect(isSlackUnreachable(error)).toBe(true);
  });

  it("gives up on an answer that never comes", async () => {
    const silent = createServer(() => {}); // reads the request, never answers
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const error = await caller({ apiUrl: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/api/`, timeoutMs: 200 })
        .call("views.open", "{}")
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "slack_webapi_request_error", original: { code: "ETIMEDOUT" } });
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });
});
