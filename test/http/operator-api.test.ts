import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import type { SendingStatus } from "../../src/domain/sending-status.js";
import { describeEachDatabase } from "../support/databases.js";
import { API_TOKEN, sendingJson, startHttpHarness, type HttpHarness } from "../support/http-harness.js";
import { givenSending } from "../sender/support/fixtures.js";

const OPERATOR_TOKEN = "oncall-token-0123456789abcdef0123456789abcdef";
const OPERATOR_ENV = { OPERATOR_TOKENS: `oncall:${OPERATOR_TOKEN},backup:backup-token-0123456789abcdef0123456789abcdef` };

describeEachDatabase("the operator API: pause, resume and cancel without Slack", (provider) => {
  let h: HttpHarness;
  beforeAll(async () => {
    h = await startHttpHarness(provider, { env: OPERATOR_ENV });
  });
  afterAll(() => h?.close());
  beforeEach(() => {
    h.notifier.events.length = 0;
  });

  const statusOf = async (id: string) => (await h.db.prisma.sending.findUniqueOrThrow({ where: { id } })).status;
  const auditOf = (id: string) => h.db.prisma.auditEvent.findMany({ where: { sendingId: id }, orderBy: { id: "asc" } });
  const operator = (method: string, path: string, body?: unknown) => h.request(method, path, { token: OPERATOR_TOKEN, body });

  it("pauses, resumes and cancels with an operator token: the status moves, the audit and the notifier name operator:<name>", async () => {
    const id = await givenSending(h.db, { status: "SENDING", recipients: 5 });
    await h.db.prisma.recipient.updateMany({ where: { sendingId: id, email: { in: ["r0@example.test", "r1@example.test"] } }, data: { status: "PREPARED" } });

    const paused = await operator("POST", `/api/sendings/${id}/pause`, { reason: "  the link is wrong " });
    expect(paused).toMatchObject({ status: 200, body: { id, status: "PAUSED" } });
    expect(await statusOf(id)).toBe("PAUSED");

    // No body at all is a pause without a reason.
    const resumed = await operator("POST", `/api/sendings/${id}/resume`);
    expect(resumed).toMatchObject({ status: 200, body: { id, status: "SENDING" } });
    expect(await statusOf(id)).toBe("SENDING");

    const cancelled = await h.request("POST", `/api/sendings/${id}/cancel`, {
      token: "backup-token-0123456789abcdef0123456789abcdef",
      body: { reason: "wrong audience", prepared: "deliver" },
    });
    expect(cancelled).toMatchObject({ status: 200, body: { id, status: "CANCELLED", cancelledRecipients: 3, preparedCount: 2, prepared: "deliver" } });
    expect(await statusOf(id)).toBe("CANCELLED");

    expect((await auditOf(id)).map((a) => [a.actor, a.action, a.reason, a.fromStatus, a.toStatus])).toEqual([
      ["operator:oncall", "paused", "the link is wrong", "SENDING", "PAUSED"],
      ["operator:oncall", "resumed", null, "PAUSED", "SENDING"],
      ["operator:backup", "cancelled", "wrong audience", "SENDING", "CANCELLED"],
    ]);
    expect(h.notifier.events.map(({ sendingId, event }) => ({ sendingId, event }))).toEqual([
      { sendingId: id, event: { kind: "paused", by: "operator:oncall", reason: "the link is wrong" } },
      { sendingId: id, event: { kind: "resumed", by: "operator:oncall" } },
      { sendingId: id, event: { kind: "cancelled", by: "operator:backup", reason: "wrong audience", prepared: "deliver", preparedCount: 2 } },
    ]);
  });

  it("cancel drops the prepared messages when told to", async () => {
    const id = await givenSending(h.db, { status: "PAUSED", recipients: 4 });
    await h.db.prisma.recipient.updateMany({ where: { sendingId: id, email: "r0@example.test" }, data: { status: "PREPARED" } });
    const cancelled = await operator("POST", `/api/sendings/${id}/cancel`, { reason: "Slack is down and this must stop", prepared: "drop" });
    expect(cancelled).toMatchObject({ status: 200, body: { status: "CANCELLED", cancelledRecipients: 4, preparedCount: 1, prepared: "drop" } });
    expect(await h.db.prisma.recipient.count({ where: { sendingId: id, status: "CANCELLED" } })).toBe(4);
  });

  it("refuses an intake token with 403 on every operator route, and no token or an unknown one with 401; nothing changes", async () => {
    const id = await givenSending(h.db, { status: "SENDING", recipients: 2 });
    const routes: [string, string, unknown][] = [
      ["GET", "/api/sendings", undefined],
      ["POST", `/api/sendings/${id}/pause`, {}],
      ["POST", `/api/sendings/${id}/resume`, {}],
      ["POST", `/api/sendings/${id}/cancel`, { reason: "x", prepared: "drop" }],
    ];
    for (const [method, path, body] of routes) {
      const intake = await h.request(method, path, { token: API_TOKEN, body });
      expect(intake.status, `${method} ${path}`).toBe(403);
      expect(intake.body).toEqual({ error: "forbidden", message: expect.stringContaining("need a token from OPERATOR_TOKENS") });
      for (const token of [null, "unknown-token-0123456789abcdef0123456789abcdef"]) {
        const refused = await h.request(method, path, { token, body });
        expect(refused.status, `${method} ${path} with ${token}`).toBe(401);
        expect(refused.body).toEqual({ error: "unauthorized", message: expect.stringContaining("operator token (one of OPERATOR_TOKENS)") });
      }
    }
    expect(await statusOf(id)).toBe("SENDING");
    expect(await auditOf(id)).toEqual([]);
    expect(h.notifier.events).toEqual([]);
  });

  it("refuses an operator token on the intake routes with 403: it steers deliveries, it hands nothing in", async () => {
    const id = await givenSending(h.db, { status: "PENDING_APPROVAL", recipients: 1 });
    const before = await h.rowCounts();
    for (const [method, path, body] of [
      ["POST", "/api/sendings", sendingJson()],
      ["GET", `/api/sendings/${id}`, undefined],
      ["PATCH", `/api/sendings/${id}`, { subject: "Changed by an operator" }],
    ] as const) {
      const refused = await operator(method, path, body);
      expect(refused.status, `${method} ${path}`).toBe(403);
      expect(refused.body).toEqual({ error: "forbidden", message: expect.stringContaining("needs a token from API_TOKENS; this is an operator token") });
    }
    expect(await h.rowCounts()).toEqual(before);
  });

  it("answers 409 when the status does not allow the action, with the status it is in", async () => {
    const cases: [SendingStatus, string, unknown][] = [
      ["SCHEDULED", "pause", {}],
      ["PAUSED", "pause", {}],
      ["SENDING", "resume", {}],
      ["COMPLETED", "cancel", { reason: "too late", prepared: "drop" }],
      ["CANCELLED", "resume", {}],
    ];
    for (const [status, action, body] of cases) {
      const id = await givenSending(h.db, { status, recipients: 1 });
      const refused = await operator("POST", `/api/sendings/${id}/${action}`, body);
      expect(refused.status, `${action} when ${status}`).toBe(409);
      expect(refused.body).toMatchObject({ error: "conflict", status, message: expect.stringMatching(/^This sending is /) });
      expect(await statusOf(id)).toBe(status);
      expect(await auditOf(id)).toEqual([]);
    }
    expect(h.notifier.events).toEqual([]);
  });

  it("answers 404 for a sending that does not exist", async () => {
    const missing = await operator("POST", "/api/sendings/snd_0000000000/pause");
    expect(missing).toMatchObject({ status: 404, body: { error: "not_found", message: "Sending snd_0000000000 does not exist." } });
  });

  it("answers 400 for a body it cannot take, naming the field, and changes nothing", async () => {
    const id = await givenSending(h.db, { status: "SENDING", recipients: 2 });
    const cases: [string, unknown, RegExp, string?][] = [
      ["cancel", { reason: "wrong list" }, /prepared.*is required: "drop" \(messages already prepared are not sent\) or "deliver"/, "prepared"],
      ["cancel", { reason: "wrong list", prepared: "maybe" }, /prepared.*is required: "drop"/, "prepared"],
      ["cancel", { prepared: "drop" }, /reason.*is required: why the sending is cancelled/, "reason"],
      ["cancel", { reason: "   ", prepared: "drop" }, /reason.*is required/, "reason"],
      ["cancel", { reason: "x", prepared: "drop", force: true }, /force/],
      ["pause", { reason: 42 }, /reason/, "reason"],
      ["pause", { reason: "" }, /reason.*is empty/, "reason"],
      ["pause", { reason: "x".repeat(2001) }, /reason.*at most 2000 characters/, "reason"],
      ["pause", ["not", "an", "object"], /pause request is invalid/],
      ["resume", { please: true }, /please/],
    ];
    for (const [action, body, message, field] of cases) {
      const refused = await operator("POST", `/api/sendings/${id}/${action}`, body);
      expect(refused.status, `${action} ${JSON.stringify(body).slice(0, 60)}`).toBe(400);
      expect(refused.body.error).toBe("invalid_request");
      expect(refused.body.message).toMatch(message);
      if (field) expect(refused.body.issues).toEqual([expect.objectContaining({ path: [field] })]);
    }
    const cancelWithoutBody = await operator("POST", `/api/sendings/${id}/cancel`);
    expect(cancelWithoutBody).toMatchObject({ status: 400, body: { error: "malformed_json" } });
    const malformed = await h.request("POST", `/api/sendings/${id}/pause`, { token: OPERATOR_TOKEN, raw: "{not json" });
    expect(malformed).toMatchObject({ status: 400, body: { error: "malformed_json" } });
    const wrongType = await h.request("POST", `/api/sendings/${id}/pause`, { token: OPERATOR_TOKEN, raw: "reason=x", contentType: "application/x-www-form-urlencoded" });
    expect(wrongType.status).toBe(415);
    expect(await statusOf(id)).toBe("SENDING");
    expect(await auditOf(id)).toEqual([]);
    expect(h.notifier.events).toEqual([]);
  });
});

describeEachDatabase("the operator API: listing sendings", (provider) => {
  let h: HttpHarness;
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    h = await startHttpHarness(provider, { env: OPERATOR_ENV });
    // Handed in a minute apart, newest last; two share the same instant, which the id orders.
    const plan: [string, SendingStatus, number][] = [
      ["a", "COMPLETED", 0],
      ["b", "SENDING", 1],
      ["c", "PAUSED", 2],
      ["d", "SENDING", 3],
      ["e", "PENDING_APPROVAL", 3],
      ["f", "SENDING", 4],
    ];
    for (const [key, status, minute] of plan) {
      const id = await givenSending(h.db, { id: `snd_list${key}00000`, status, recipients: 3 });
      await h.db.prisma.sending.update({ where: { id }, data: { createdAt: new Date(Date.UTC(2026, 10, 27, 9, minute)) } });
      ids[key] = id;
    }
    await h.db.prisma.recipient.updateMany({ where: { sendingId: ids.b, email: "r0@example.test" }, data: { status: "SENT" } });
    await h.db.prisma.recipient.updateMany({ where: { sendingId: ids.b, email: "r1@example.test" }, data: { status: "FAILED" } });
    await h.db.prisma.recipient.updateMany({ where: { sendingId: ids.b, email: "r2@example.test" }, data: { status: "PREPARED" } });
  });
  afterAll(() => h?.close());

  const list = (query: string) => h.request("GET", `/api/sendings${query}`, { token: OPERATOR_TOKEN });

  it("lists every sending newest first, with its counts", async () => {
    const all = await list("");
    expect(all.status).toBe(200);
    expect(all.body.items.map((item: { id: string }) => item.id)).toEqual([ids.f, ids.e, ids.d, ids.c, ids.b, ids.a]);
    expect(all.body.next).toBeNull();
    const b = all.body.items.find((item: { id: string }) => item.id === ids.b);
    expect(b).toEqual({
      id: ids.b,
      name: "Spring newsletter",
      status: "SENDING",
      launchAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      recipientCount: 3,
      counts: { queued: 0, prepared: 1, sent: 1, failed: 1, cancelled: 0 },
      updatedAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
    });
    expect(all.body.items.find((item: { id: string }) => item.id === ids.a).counts).toEqual({ queued: 3, prepared: 0, sent: 0, failed: 0, cancelled: 0 });
  });

  it("pages with a cursor: every sending once, in the same order, however the page size", async () => {
    for (const limit of [1, 2, 4]) {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: Awaited<ReturnType<typeof list>> = await list(`?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
        expect(page.status).toBe(200);
        expect(page.body.items.length).toBeLessThanOrEqual(limit);
        seen.push(...page.body.items.map((item: { id: string }) => item.id));
        cursor = page.body.next;
        pages += 1;
      } while (cursor && pages < 10);
      expect(seen, `limit ${limit}`).toEqual([ids.f, ids.e, ids.d, ids.c, ids.b, ids.a]);
      expect(pages).toBe(Math.ceil(6 / limit));
    }
  });

  it("a status moving between pages does not move a sending to another page", async () => {
    const first = await list("?limit=2");
    await h.db.prisma.sending.update({ where: { id: ids.d }, data: { status: "PAUSED" } });
    try {
      const second = await list(`?limit=2&cursor=${first.body.next}`);
      expect(second.body.items.map((item: { id: string }) => item.id)).toEqual([ids.d, ids.c]);
    } finally {
      await h.db.prisma.sending.update({ where: { id: ids.d }, data: { status: "SENDING" } });
    }
  });

  it("filters by status, comma-separated or repeated, in any case", async () => {
    const delivering = await list("?status=SENDING,PAUSED");
    expect(delivering.body.items.map((item: { id: string }) => item.id)).toEqual([ids.f, ids.d, ids.c, ids.b]);
    expect((await list("?status=sending&status=paused")).body.items).toEqual(delivering.body.items);
    const paged = await list("?status=SENDING&limit=2");
    expect(paged.body.items.map((item: { id: string }) => item.id)).toEqual([ids.f, ids.d]);
    const rest = await list(`?status=SENDING&limit=2&cursor=${paged.body.next}`);
    expect(rest.body).toMatchObject({ items: [expect.objectContaining({ id: ids.b })], next: null });
    expect((await list("?status=REJECTED")).body).toEqual({ items: [], next: null });
  });

  it.each([
    ["?status=SENDING,DELIVERING", "status", /"DELIVERING" is no status; use PENDING_APPROVAL, SCHEDULED, SENDING, PAUSED, COMPLETED, REJECTED, CANCELLED/],
    ["?limit=0", "limit", /must be a whole number from 1 to 200, not "0"/],
    ["?limit=201", "limit", /from 1 to 200, not "201"/],
    ["?limit=ten", "limit", /not "ten"/],
    ["?limit=2.5", "limit", /not "2.5"/],
    ["?cursor=bm90LWEtY3Vyc29y", "cursor", /is not a cursor this list gave/],
  ])("refuses %s with 400 naming the parameter", async (query, field, message) => {
    const refused = await list(query);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error: "invalid_request", issues: [{ path: [field], message: expect.stringMatching(message) }] });
  });

  it("takes 200 a page at most", async () => {
    expect((await list("?limit=200")).status).toBe(200);
  });
});

describeEachDatabase("the operator API without OPERATOR_TOKENS", (provider) => {
  let h: HttpHarness;
  beforeAll(async () => {
    h = await startHttpHarness(provider);
  });
  afterAll(() => h?.close());

  it("answers 503 on every operator route, whatever the token, and blames the server's set-up, not the caller", async () => {
    const id = await givenSending(h.db, { status: "SENDING", recipients: 1 });
    for (const [method, path] of [
      ["GET", "/api/sendings?status=SENDING"],
      ["POST", `/api/sendings/${id}/pause`],
      ["POST", `/api/sendings/${id}/resume`],
      ["POST", `/api/sendings/${id}/cancel`],
    ] as const) {
      for (const token of [API_TOKEN, null, OPERATOR_TOKEN]) {
        const refused = await h.request(method, path, { token, body: method === "POST" ? { reason: "x", prepared: "drop" } : undefined });
        expect(refused.status, `${method} ${path}`).toBe(503);
        expect(refused.body).toEqual({
          error: "operator_api_disabled",
          message: "Listing, pausing, resuming and cancelling sendings through the API are disabled until OPERATOR_TOKENS is set on the server.",
        });
      }
    }
    expect((await h.db.prisma.sending.findUniqueOrThrow({ where: { id } })).status).toBe("SENDING");
    // The intake API works as before.
    expect((await h.request("GET", `/api/sendings/${id}`)).status).toBe(200);
  });
});

describeEachDatabase("the intake API without API_TOKENS", (provider) => {
  let h: HttpHarness;
  beforeAll(async () => {
    // An explicit empty list: only the playground makes a token of its own.
    h = await startHttpHarness(provider, { env: { API_TOKENS: "" } });
  });
  afterAll(() => h?.close());

  it("answers 503 on every intake route and says the server's set-up is why, whatever the token", async () => {
    for (const [method, path] of [
      ["POST", "/api/sendings"],
      ["GET", "/api/sendings/snd_0000000000"],
      ["PATCH", "/api/sendings/snd_0000000000"],
    ] as const) {
      for (const token of [API_TOKEN, null]) {
        const refused = await h.request(method, path, { token, body: method === "GET" ? undefined : {} });
        expect(refused.status, `${method} ${path}`).toBe(503);
        expect(refused.body).toEqual({ error: "intake_api_disabled", message: "The intake API is disabled until API_TOKENS is set on the server." });
      }
    }
    expect(await h.db.prisma.sending.count()).toBe(0);
  });
});
