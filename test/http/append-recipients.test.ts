import pino from "pino";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { request, type ClientRequest } from "node:http";
import { basename, dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import { sqliteFile } from "../../src/db/provider.js";
import { chainRecipientsDigest, contentHash } from "../../src/domain/content-hash.js";
import { appendRecipients } from "../../src/sendings/append-recipients.js";
import { describeEachDatabase } from "../support/databases.js";
import { createTestRecipientBulk } from "../support/db-paths.js";
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
  /** SQLite: the files a long upload stages its rows in, beside the database; gone once the upload is over. */
  const stagingFiles = () => {
    if (provider !== "sqlite") return [];
    const file = sqliteFile(h.db.url);
    return readdirSync(dirname(file)).filter((name) => name.startsWith(`${basename(file)}-upload-`));
  };
  /** An upload is under way: its rows staged (SQLite) or its transaction open, idle or at work (PostgreSQL). */
  const uploadInProgress = async () =>
    provider === "sqlite"
      ? stagingFiles().length > 0
      : Number(
          (
            await h.db.prisma.$queryRaw<{ open: bigint }[]>`
              SELECT count(*) AS open FROM pg_stat_activity
              WHERE datname = current_database() AND xact_start IS NOT NULL AND pid <> pg_backend_pid()`
          )[0]?.open,
        ) > 0;
  const nothingWritten = async () => {
    expect(await h.rowCounts()).toEqual(before);
    expect(h.notifier.events).toEqual([]);
    expect(stagingFiles()).toEqual([]);
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
    // The server has given the upload up once nothing is staged (SQLite) and no transaction is left open (PostgreSQL).
    for (let i = 0; i < 100 && (await uploadInProgress()); i++) await sleep(50);
    expect(await uploadInProgress()).toBe(false);
    await nothingWritten();
    for (let i = 0; i < 40 && !logLines.some((l) => l.msg.includes("client went away")); i++) await sleep(25);
    expect(logLines.filter((l) => l.msg.includes("client went away")).map((l) => l.level)).toEqual([30]);
    expect(logLines.filter((l) => l.level >= 50)).toEqual([]);
  });
});

describeEachDatabase("intake: long NDJSON uploads, staged (SQLite) and published in one transaction", (provider) => {
  let h: HttpHarness;
  beforeAll(async () => {
    h = await startHttpHarness(provider, { env: { API_NDJSON_LIMIT: "16mb" } });
  });
  afterAll(() => h?.close());
  beforeEach(() => {
    h.notifier.events.length = 0;
  });

  async function createSending() {
    const created = await h.request("POST", "/api/sendings", { body: sendingJson() });
    expect(created.status).toBe(201);
    h.notifier.events.length = 0;
    return created.body as { id: string; contentHash: string };
  }
  const append = (id: string, lines: unknown[]) => h.request("POST", `/api/sendings/${id}/recipients`, { raw: ndjson(lines), contentType: NDJSON });
  const stagingFiles = () => {
    if (provider !== "sqlite") return [];
    const file = sqliteFile(h.db.url);
    return readdirSync(dirname(file)).filter((name) => name.startsWith(`${basename(file)}-upload-`));
  };
  const uploadInProgress = async () =>
    provider === "sqlite"
      ? stagingFiles().length > 0
      : Number(
          (
            await h.db.prisma.$queryRaw<{ open: bigint }[]>`
              SELECT count(*) AS open FROM pg_stat_activity
              WHERE datname = current_database() AND xact_start IS NOT NULL AND pid <> pg_backend_pid()`
          )[0]?.open,
        ) > 0;
  let before: Record<string, number>;
  const nothingWritten = async () => {
    expect(await h.rowCounts()).toEqual(before);
    expect(h.notifier.events).toEqual([]);
    expect(stagingFiles()).toEqual([]);
  };
  /** Lines of a long list: more than one batch (5,000), so that it is staged on SQLite. */
  const readers = (count: number, prefix = "reader") =>
    Array.from({ length: count }, (_, i) => ({ email: `${prefix}${i}@example.com`, vars: { firstName: `Reader ${i}`, n: i } }));
  /** The digest of rows as they are stored, in order, computed here from the lines themselves. */
  const digestOf = (rows: { email: string; vars?: unknown }[]) => {
    const hash = createHash("sha256");
    for (const row of rows) hash.update(`${row.email.trim().toLowerCase()}\t${JSON.stringify(row.vars ?? {})}\n`);
    return hash.digest("hex");
  };
  /** A chunked upload that the test writes piece by piece; `answer` settles with the response. */
  const chunkedUpload = (id: string) => {
    const req: ClientRequest = request(new URL(`${h.baseUrl}/api/sendings/${id}/recipients`), {
      method: "POST",
      headers: { authorization: `Bearer ${API_TOKEN}`, "content-type": NDJSON, "transfer-encoding": "chunked" },
    });
    const answer = new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
      req.on("response", (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
      });
      req.on("error", reject);
    });
    return { req, answer };
  };

  it("appends a list longer than a batch whole and in order, the first of a repeated address kept; count, digest and hash follow", async () => {
    const sending = await createSending();
    const { recipientsDigest: digestBefore } = await h.db.prisma.sending.findUniqueOrThrow({ where: { id: sending.id } });
    const lines: { email: string; vars?: unknown }[] = readers(12_000);
    lines.splice(7_000, 0, { email: "READER10@example.com", vars: { firstName: "Second of reader10" } });
    lines.splice(100, 0, { email: "ann@example.com", vars: { firstName: "Ann again" } }, { email: "bob@example.com" });
    const response = await append(sending.id, lines);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ received: 12_003, appended: 12_000, duplicates: { inUpload: 1, alreadyInSending: 2 }, recipientCount: 12_002 });

    const rows = await h.db.prisma.recipient.findMany({ where: { sendingId: sending.id }, orderBy: { id: "asc" }, select: { email: true, vars: true } });
    expect(rows.map((row) => row.email)).toEqual(["ann@example.com", "bob@example.com", ...readers(12_000).map((row) => row.email)]);
    expect(JSON.parse(rows[12]!.vars)).toEqual({ firstName: "Reader 10", n: 10 });
    expect(JSON.parse(rows[0]!.vars)).toMatchObject({ firstName: "Ann" });

    // The digest covers every line received, in order, repeats included, chained onto what the sending had.
    const stored = await h.db.prisma.sending.findUniqueOrThrow({ where: { id: sending.id } });
    const recipientsDigest = chainRecipientsDigest(digestBefore, digestOf(lines));
    expect(stored.recipientsDigest).toBe(recipientsDigest);
    expect(stored.contentHash).toBe(contentHash(stored, recipientsDigest));
    expect(stored.recipientCount).toBe(await h.db.prisma.recipient.count({ where: { sendingId: sending.id } }));
    const audit = await h.db.prisma.auditEvent.findFirstOrThrow({ where: { sendingId: sending.id }, orderBy: { id: "desc" } });
    expect(JSON.parse(audit.details ?? "{}")).toMatchObject({ received: 12_003, appended: 12_000 });
    expect(stagingFiles()).toEqual([]);
  }, 60_000);

  it("writes nothing when a long upload fails at its very end: the sending was cancelled while the lines came in", async () => {
    const sending = await createSending();
    const upload = chunkedUpload(sending.id);
    upload.req.write(ndjson(readers(11_000)));
    for (let i = 0; i < 100 && !(await uploadInProgress()); i++) await sleep(50);
    expect(await uploadInProgress()).toBe(true);
    await h.db.prisma.sending.update({ where: { id: sending.id }, data: { status: "CANCELLED" } });
    before = await h.rowCounts();
    upload.req.end(ndjson(readers(4_000, "late")));
    const response = await upload.answer;
    expect(response.status).toBe(409);
    expect(response.body).toMatchObject({ error: "conflict", status: "CANCELLED" });
    await nothingWritten();
    expect(await h.db.prisma.recipient.count({ where: { sendingId: sending.id } })).toBe(2);
  }, 60_000);

  it("two long uploads to one sending at once: each is whole, no address twice, the count and the digest chain agree", async () => {
    const sending = await createSending();
    const { recipientsDigest: digestBefore } = await h.db.prisma.sending.findUniqueOrThrow({ where: { id: sending.id } });
    const first = readers(8_000);
    const second = readers(8_000).slice(5_000).concat(readers(5_000, "other"));
    const [a, b] = await Promise.all([append(sending.id, first), append(sending.id, second)]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.body.appended + b.body.appended).toBe(13_000);
    expect(a.body.duplicates.alreadyInSending + b.body.duplicates.alreadyInSending).toBe(3_000);
    const stored = await h.db.prisma.sending.findUniqueOrThrow({ where: { id: sending.id } });
    expect(stored.recipientCount).toBe(13_002);
    expect(await h.db.prisma.recipient.count({ where: { sendingId: sending.id } })).toBe(13_002);
    // Whichever committed first is chained first.
    const [dA, dB] = [digestOf(first), digestOf(second)];
    expect([chainRecipientsDigest(chainRecipientsDigest(digestBefore, dA), dB), chainRecipientsDigest(chainRecipientsDigest(digestBefore, dB), dA)]).toContain(
      stored.recipientsDigest,
    );
    expect(stored.contentHash).toBe(contentHash(stored, stored.recipientsDigest));
    expect(stagingFiles()).toEqual([]);
  }, 60_000);

  it("writes nothing when the client stops after rows were staged", async () => {
    const sending = await createSending();
    before = await h.rowCounts();
    const upload = chunkedUpload(sending.id);
    upload.answer.catch(() => {});
    upload.req.write(ndjson(readers(11_000)));
    for (let i = 0; i < 100 && !(await uploadInProgress()); i++) await sleep(50);
    expect(await uploadInProgress()).toBe(true);
    upload.req.destroy();
    for (let i = 0; i < 100 && (await uploadInProgress()); i++) await sleep(50);
    expect(await uploadInProgress()).toBe(false);
    await nothingWritten();
  }, 60_000);

  // SQLite only, and not listed as skipped on PostgreSQL: there, uploads stage nothing and hold no thread.
  if (provider !== "sqlite") return;

  it("removes what crashed uploads left a day or more ago, before its first long upload", async () => {
    const file = sqliteFile(h.db.url);
    // A staging file of a process that died mid-upload, and one of an upload under way elsewhere.
    const stale = `${file}-upload-upl_stale_0`;
    const fresh = `${file}-upload-upl_fresh_0`;
    writeFileSync(stale, "");
    writeFileSync(fresh, "");
    const dayAndAHourAgo = new Date(Date.now() - 25 * 60 * 60 * 1000);
    utimesSync(stale, dayAndAHourAgo, dayAndAHourAgo);
    // The staging tables of earlier versions, as they wrote them.
    const sending = await createSending();
    const legacy = async (uploadId: string, createdAt: Date, rows: number) => {
      await h.db.prisma.$executeRawUnsafe('INSERT INTO "RecipientUpload" ("id", "sendingId", "createdAt") VALUES (?, ?, ?)', uploadId, sending.id, createdAt.toISOString());
      for (let i = 0; i < rows; i++) {
        await h.db.prisma.$executeRawUnsafe('INSERT INTO "StagedRecipient" ("uploadId", "email", "vars") VALUES (?, ?, ?)', uploadId, `old${i}@example.com`, "{}");
      }
    };
    await legacy("upl_old", dayAndAHourAgo, 30);
    await legacy("upl_recent", new Date(), 3);
    // A new upload thread on this database (the harness's has served the tests above): it tidies up first.
    const recipients = createTestRecipientBulk(h.db);
    try {
      const lines = readers(6_000, "after-crash").map((line) => JSON.stringify(line));
      const result = await appendRecipients({ ...h.deps, recipients }, { sendingId: sending.id, lines: (async function* () { yield lines; })() });
      expect(result.appended).toBe(6_000);
      expect(existsSync(stale)).toBe(false);
      expect(existsSync(fresh)).toBe(true);
      expect(await h.db.prisma.recipientUpload.findMany({ select: { id: true } })).toEqual([{ id: "upl_recent" }]);
      expect(await h.db.prisma.stagedRecipient.count()).toBe(3);
    } finally {
      await recipients.close();
      rmSync(stale, { force: true });
      rmSync(fresh, { force: true });
    }
  }, 60_000);

  it("a write on the main thread while a long list is published waits for it as a promise, the event loop turning meanwhile", async () => {
    const sending = await createSending();
    const other = await createSending();
    const gate = h.db.writeGate!;
    const hold = gate.hold.bind(gate);
    const events: string[] = [];
    let holding = false;
    gate.hold = (work) =>
      hold(async () => {
        holding = true;
        events.push("publish begins");
        try {
          return await work();
        } finally {
          events.push("publish ends");
          holding = false;
        }
      });
    try {
      const upload = append(sending.id, readers(40_000));
      while (!holding) await new Promise((resolve) => setImmediate(resolve));
      const write = h.db.prisma.sending.update({ where: { id: other.id }, data: { name: "Renamed meanwhile" } }).then(() => events.push("write done"));
      setImmediate(() => events.push("event loop turned"));
      await write;
      expect((await upload).status).toBe(200);
      expect(events).toEqual(["publish begins", "event loop turned", "publish ends", "write done"]);
      expect((await h.db.prisma.sending.findUniqueOrThrow({ where: { id: other.id } })).name).toBe("Renamed meanwhile");
    } finally {
      gate.hold = hold;
    }
  }, 60_000);
});
