import pino from "pino";
import { request } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import { describeEachDatabase } from "../support/databases.js";
import { API_TOKEN, ndjson, sendingJson, startHttpHarness, type HttpHarness } from "../support/http-harness.js";

const NDJSON = "application/x-ndjson";

describeEachDatabase("intake: append recipients as NDJSON", (provider) => {
  let h: HttpHarness;
  let before: Record<string, number>;
  const logLines: { level: number; msg: string }[] = [];
  const log = pino({ level: "info" }, { write: (line: string) => void logLines.push(JSON.parse(line) as { level: number; msg: string }) });
  beforeAll(async () => {
    h = await startHttpHarness(provider, { log });
  });
  afterAll(() => h?.close());
  beforeEach(() => {
    h.notifier.events.length = 0;
  });

  async function createSending(overrides: Record<string, unknown> = {}) {
    const created = await h.request("POST", "/api/sendings", { body: sendingJson(overrides) });
    expect(created.status).toBe(201);
    h.notifier.events.length = 0;
    before = await h.rowCounts();
    return created.body as { id: string; contentHash: string };
  }
  const append = (id: string, lines: unknown[] | string, query = "") =>
    h.request("POST", `/api/sendings/${id}/recipients${query}`, {
      raw: typeof lines === "string" ? lines : ndjson(lines),
      contentType: NDJSON,
    });
  const nothingWritten = async () => {
    expect(await h.rowCounts()).toEqual(before);
    expect(h.notifier.events).toEqual([]);
  };

  it("appends three lines, updates the count and the content hash, and tells Slack", async () => {
    const sending = await createSending();
    const response = await append(sending.id, [
      { email: "carol@example.com", vars: { firstName: "Carol", vip: true } },
      { email: "Dave@Example.com" },
      { email: "erin@example.com", vars: { firstName: "Erin", visits: 3, note: null } },
    ]);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      sendingId: sending.id,
      received: 3,
      appended: 3,
      duplicates: { inUpload: 0, alreadyInSending: 0 },
      recipientCount: 5,
      status: "PENDING_APPROVAL",
      approvalsWithdrawn: 0,
    });
    const rows = await h.db.prisma.recipient.findMany({ where: { sendingId: sending.id }, orderBy: { id: "asc" } });
    expect(rows.map((r) => r.email)).toEqual([
      "ann@example.com",
      "bob@example.com",
      "carol@example.com",
      "dave@example.com",
      "erin@example.com",
    ]);
    expect(JSON.parse(rows[4]!.vars)).toEqual({ firstName: "Erin", visits: 3, note: null });
    expect(rows.every((r) => r.status === "QUEUED")).toBe(true);

    const read = await h.request("GET", `/api/sendings/${sending.id}`);
    expect(read.body.recipientCount).toBe(5);
    expect(read.body.recipients.QUEUED).toBe(5);
    expect(read.body.contentHash).not.toBe(sending.contentHash);
    expect(h.notifier.events).toEqual([
      { sendingId: sending.id, event: { kind: "content-changed", by: "api:token-1", changed: ["recipients"], approvalsWithdrawn: 0 } },
    ]);
    const audit = await h.db.prisma.auditEvent.findFirstOrThrow({ where: { sendingId: sending.id }, orderBy: { id: "desc" } });
    expect(audit.action).toBe("recipients appended");
    expect(JSON.parse(audit.details ?? "{}")).toMatchObject({ received: 3, appended: 3 });
    expect(await h.db.prisma.stagedRecipient.count()).toBe(0);
    expect(await h.db.prisma.recipientUpload.count()).toBe(0);

    const metrics = await h.request("GET", "/metrics", { token: null });
    expect(metrics.body).toMatch(/^sendgate_recipients_appended_total 3$/m);
  });

  it("skips and counts duplicates within the upload and of addresses already in the sending", async () => {
    const sending = await createSending();
    const response = await append(
      sending.id,
      [{ email: "ann@example.com" }, { email: "frank@example.com", vars: { firstName: "Frank" } }, "", { email: " FRANK@example.com" }, { email: "bob@example.com" }, { email: "gina@example.com" }],
      "?changedBy=U0MARKETER",
    );
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      received: 5,
      appended: 2,
      duplicates: { inUpload: 1, alreadyInSending: 2 },
      recipientCount: 4,
    });
    const frank = await h.db.prisma.recipient.findFirstOrThrow({ where: { sendingId: sending.id, email: "frank@example.com" } });
    expect(JSON.parse(frank.vars)).toEqual({ firstName: "Frank" });
    expect(h.notifier.events[0]?.event).toMatchObject({ kind: "content-changed", by: "U0MARKETER" });
  });

  it("changes nothing when every address is already there", async () => {
    const sending = await createSending();
    const response = await append(sending.id, [{ email: "ann@example.com" }, { email: "bob@example.com" }]);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ appended: 0, duplicates: { inUpload: 0, alreadyInSending: 2 } });
    const read = await h.request("GET", `/api/sendings/${sending.id}`);
    expect(read.body.contentHash).toBe(sending.contentHash);
    await nothingWritten();
  });

  it("refuses the whole upload when one line is invalid, naming the lines, and writes nothing", async () => {
    const sending = await createSending();
    const lines = [
      { email: "hank@example.com" },
      { email: "ivy@example.com" },
      "{not json",
      { email: "jack@example.com" },
      { email: "broken-address" },
      { email: "kim@example.com", vars: { picks: [{ title: "Salt" }, { tags: [[[[[["too deep"]]]]]] }] } },
      { email: "lee@example.com", unknown: 1 },
    ];
    const response = await append(sending.id, lines);
    expect(response.status).toBe(400);
    expect(response.body.error).toBe("invalid_request");
    expect(response.body.invalidLines).toBe(4);
    expect(response.body.issues).toEqual([
      { line: 3, path: [], message: "is not valid JSON" },
      { line: 5, path: ["email"], message: "is not a valid e-mail address" },
      { line: 6, path: ["vars", "picks", 1, "tags", 0, 0, 0, 0, 0], message: "nested deeper than 8 levels" },
      { line: 7, path: [], message: expect.stringContaining("unknown") },
    ]);
    expect(response.body.message).toMatch(/^4 lines are invalid \(lines 3, 5, 6, 7\); nothing was appended/);
    await nothingWritten();
  });

  it("names at most 20 invalid lines but counts them all, even after a staged batch", async () => {
    const sending = await createSending();
    const valid = Array.from({ length: 6_000 }, (_, i) => ({ email: `valid${i}@example.com` }));
    const invalid = Array.from({ length: 30 }, (_, i) => ({ email: `invalid${i}` }));
    const response = await append(sending.id, [...valid, ...invalid]);
    expect(response.status).toBe(400);
    expect(response.body.invalidLines).toBe(30);
    expect(response.body.issues).toHaveLength(20);
    expect(response.body.issues[0]).toMatchObject({ line: 6_001 });
    await nothingWritten();
  });

  it("answers 404 for an unknown sending and writes nothing", async () => {
    await createSending();
    const response = await append("snd_0000000000", [{ email: "x@example.com" }]);
    expect(response.status).toBe(404);
    await nothingWritten();
  });

  it.each(["COMPLETED", "CANCELLED", "SENDING", "REJECTED"] as const)("refuses an append to a %s sending with 409", async (status) => {
    const sending = await createSending();
    await h.db.prisma.sending.update({ where: { id: sending.id }, data: { status } });
    const response = await append(sending.id, [{ email: "late@example.com" }]);
    expect(response.status).toBe(409);
    expect(response.body.error).toBe("conflict");
    expect(response.body.status).toBe(status);
    await nothingWritten();
  });

  it("refuses an upload without a token (401), with the wrong content type (415) or over the limit (413)", async () => {
    const sending = await createSending();
    const noToken = await h.request("POST", `/api/sendings/${sending.id}/recipients`, {
      raw: ndjson([{ email: "x@example.com" }]),
      contentType: NDJSON,
      token: null,
    });
    expect(noToken.status).toBe(401);
    const asJson = await h.request("POST", `/api/sendings/${sending.id}/recipients`, { body: [{ email: "x@example.com" }] });
    expect(asJson.status).toBe(415);
    // 4,000 valid lines are about 300 KB, over the test limit of 256 KB: stopped mid-stream, nothing kept.
    const big = Array.from({ length: 4_000 }, (_, i) => ({ email: `reader${i}@example.com`, vars: { firstName: "Reader", i } }));
    const tooLarge = await append(sending.id, big);
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body.error).toBe("payload_too_large");
    await nothingWritten();
  });

  it("refuses an oversized upload sent in chunks without a length, and writes nothing", async () => {
    const sending = await createSending();
    const line = Buffer.from(`${JSON.stringify({ email: "same@example.com", vars: { pad: "x".repeat(900) } })}\n`);
    let sent = 0;
    const body = new ReadableStream({
      pull(controller) {
        if (sent++ < 400) controller.enqueue(line);
        else controller.close();
      },
    });
    const response = await fetch(`${h.baseUrl}/api/sendings/${sending.id}/recipients`, {
      method: "POST",
      headers: { authorization: `Bearer ${API_TOKEN}`, "content-type": NDJSON },
      body,
      duplex: "half",
    } as RequestInit);
    expect(response.status).toBe(413);
    await nothingWritten();
  });

  it("writes nothing when the client stops halfway through an upload, and says so at info, not as an error", async () => {
    const sending = await createSending();
    logLines.length = 0;
    const url = new URL(`${h.baseUrl}/api/sendings/${sending.id}/recipients`);
    const req = request(url, {
      method: "POST",
      headers: { authorization: `Bearer ${API_TOKEN}`, "content-type": NDJSON, "transfer-encoding": "chunked" },
    });
    req.on("error", () => {});
    // More than one batch, so rows were already written when the connection drops.
    req.write(ndjson(Array.from({ length: 6_000 }, (_, i) => ({ email: `cut${i}@example.com` }))));
    await sleep(300);
    req.destroy();
    // The server has given the upload up once no upload is staged (SQLite) and no transaction is left open (PostgreSQL).
    const uploadInProgress = async () =>
      provider === "sqlite"
        ? (await h.db.prisma.recipientUpload.count()) > 0
        : Number(
            (
              await h.db.prisma.$queryRaw<{ open: bigint }[]>`
                SELECT count(*) AS open FROM pg_stat_activity
                WHERE datname = current_database() AND state LIKE 'idle in transaction%'`
            )[0]?.open,
          ) > 0;
    for (let i = 0; i < 100 && (await uploadInProgress()); i++) await sleep(50);
    expect(await uploadInProgress()).toBe(false);
    await nothingWritten();
    for (let i = 0; i < 40 && !logLines.some((l) => l.msg.includes("client went away")); i++) await sleep(25);
    expect(logLines.filter((l) => l.msg.includes("client went away")).map((l) => l.level)).toEqual([30]);
    expect(logLines.filter((l) => l.level >= 50)).toEqual([]);
  });
});
