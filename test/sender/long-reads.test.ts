import { afterEach, beforeEach, expect, it } from "vitest";
import { createPrismaSenderStore } from "../../src/db/sender-store/prisma-sender-store.js";
import { createPostgresPool } from "../../src/db/pools.js";
import type { SenderStore } from "../../src/sender/store.js";
import { createTestDatabase, describeEachDatabase, type TestDatabase } from "../support/databases.js";
import { NOW, givenSending } from "./support/fixtures.js";

const RECIPIENTS = 6_000;
/** Rows a statement of a long read goes through on SQLite, small here so that a short list takes many. */
const READ_CHUNK = 500;

/**
 * Counting a long list (at a delivery's start and end, on a cancel, while engines share a sending)
 * leaves the event loop free: on SQLite the reads go in chunks with a turn between them, on
 * PostgreSQL the server reads. The answers stay exact.
 */
describeEachDatabase("the engine's long reads", (provider) => {
  let db: TestDatabase;
  let store: SenderStore & { close(): Promise<void> };
  let close: () => Promise<void>;
  beforeEach(async () => {
    db = await createTestDatabase(provider);
    const pool = provider === "postgresql" ? createPostgresPool(db.url, 2) : undefined;
    store = createPrismaSenderStore(db, { pool, readChunk: READ_CHUNK });
    close = async () => {
      await store.close();
      await pool?.end();
    };
  });
  afterEach(async () => {
    await close();
    await db.destroy();
  });

  /** Turns of the event loop taken while `read` runs: a timer that fires between the read's statements. */
  async function turnsDuring<T>(read: () => Promise<T>): Promise<{ result: T; turns: number }> {
    let turns = 0;
    let reading = true;
    const tick = () => {
      if (!reading) return;
      turns++;
      setImmediate(tick);
    };
    setImmediate(tick);
    const result = await read();
    reading = false;
    return { result, turns };
  }

  it("counts every state of a long list exactly, the event loop turning while it reads", async () => {
    const id = await givenSending(db, { recipients: RECIPIENTS, status: "SENDING" });
    const ids = (await db.prisma.recipient.findMany({ where: { sendingId: id }, select: { id: true }, orderBy: { id: "asc" } })).map((r) => r.id);
    const range = (from: number, to: number) => ({ sendingId: id, id: { gte: ids[from] as number, lte: ids[to - 1] as number } });
    // Interleaved, so that each state spans several chunks: 2,500 sent, 1,200 failed (three reasons), 300 prepared, 2,000 queued.
    await db.prisma.recipient.updateMany({ where: range(0, 2_500), data: { status: "SENT" } });
    await db.prisma.recipient.updateMany({ where: range(2_500, 3_100), data: { status: "FAILED", lastError: "550 no such user" } });
    await db.prisma.recipient.updateMany({ where: range(3_100, 3_500), data: { status: "FAILED", lastError: "552 mailbox full" } });
    await db.prisma.recipient.updateMany({ where: range(3_500, 3_700), data: { status: "FAILED", lastError: "554 rejected" } });
    await db.prisma.recipient.updateMany({ where: range(3_700, 4_000), data: { status: "PREPARED" } });
    await db.prisma.recipient.updateMany({ where: range(5_000, 5_100), data: { status: "CANCELLED" } });

    const counted = await turnsDuring(() => store.counts(id));
    expect(counted.result).toEqual({ total: RECIPIENTS, queued: 1_900, prepared: 300, sent: 2_500, failed: 1_200, cancelled: 100 });
    // One statement over the list (Prisma's groupBy through better-sqlite3) would take none.
    expect(counted.turns).toBeGreaterThanOrEqual(provider === "sqlite" ? RECIPIENTS / READ_CHUNK : 1);

    const reasons = await turnsDuring(() => store.failureReasons(id, 2));
    expect(reasons.result).toEqual([
      { reason: "550 no such user", count: 600 },
      { reason: "552 mailbox full", count: 400 },
    ]);
    expect(reasons.turns).toBeGreaterThanOrEqual(provider === "sqlite" ? 1_200 / READ_CHUNK : 1);
  });

  it("finds when the next retry is due across the whole list: now while one was never tried, else the earliest", async () => {
    const id = await givenSending(db, { recipients: 2_000, status: "SENDING" });
    const ids = (await db.prisma.recipient.findMany({ where: { sendingId: id }, select: { id: true }, orderBy: { id: "asc" } })).map((r) => r.id);
    const later = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);
    await db.prisma.recipient.updateMany({ where: { sendingId: id }, data: { nextAttemptAt: later(600) } });
    // The earliest sits in the last chunk.
    await db.prisma.recipient.update({ where: { id: ids[1_900] as number }, data: { nextAttemptAt: later(60) } });
    await db.prisma.recipient.update({ where: { id: ids[1_950] as number }, data: { nextAttemptAt: null } });

    expect((await turnsDuring(() => store.nextRetryAt(id))).result).toEqual(new Date(0));
    await db.prisma.recipient.update({ where: { id: ids[1_950] as number }, data: { status: "SENT" } });
    const next = await turnsDuring(() => store.nextRetryAt(id));
    expect(next.result).toEqual(later(60));
    expect(next.turns).toBeGreaterThanOrEqual(provider === "sqlite" ? 2_000 / READ_CHUNK : 1);
    await db.prisma.recipient.updateMany({ where: { sendingId: id }, data: { status: "SENT" } });
    expect(await store.nextRetryAt(id)).toBeNull();
  });
});
