import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../../src/db/database.js";
import type { Mailer } from "../../src/mail/transport.js";
import { HANDOFFS_PER_CONNECTION } from "../../src/sender/delivery-run.js";
import type { SenderSettings } from "../../src/sender/settings.js";
import { cancelSending } from "../../src/sendings/cancel-sending.js";
import { pauseSending } from "../../src/sendings/pause-sending.js";
import { resumeSending } from "../../src/sendings/resume-sending.js";
import type { ControlDeps } from "../../src/sendings/support/deps.js";
import { createTestDatabase, testedProviders, type TestDatabase } from "../support/databases.js";
import {
  ManualClock,
  RecordingNotifier,
  approversOf,
  givenSending,
  recipientsOf,
  silentLog,
  startTestEngine,
  statusCounts,
  type TestEngine,
} from "./support/fixtures.js";
import { startSmtpSink, type SmtpSink } from "./support/smtp-sink.js";

const onPostgres = testedProviders().includes("postgresql") ? describe : describe.skip;

const CONNECTIONS = 2;
/** Messages one engine may have handed over when a Pause commits: every engine stops within its own. */
const IN_HAND = CONNECTIONS * HANDOFFS_PER_CONNECTION;

type Engine = TestEngine & { recording: RecordingNotifier; owner: string };

function sharedSuite(provider: "postgresql" | "sqlite") {
  let db: TestDatabase;
  let sink: SmtpSink;
  let clock: ManualClock;
  const clients: Database[] = [];
  const running: Engine[] = [];
  const useCases = (): ControlDeps => ({ db, notifier: new RecordingNotifier(), clock, log: silentLog, approvers: approversOf("UAPPROVER1") });

  beforeEach(async () => {
    db = await createTestDatabase(provider);
    sink = await startSmtpSink();
    clock = new ManualClock();
  });
  afterEach(async () => {
    for (const engine of running.splice(0)) await engine.close();
    await sink.close();
    for (const client of clients.splice(0)) await client.close();
    await db.destroy();
  });

  /** An engine as one process would run it: a database client, a store and an SMTP pool of its own. */
  async function engine(name: string, settings: Partial<SenderSettings> = {}, options: { wrapMailer?: (mailer: Mailer) => Mailer; keep?: boolean } = {}): Promise<Engine> {
    const client = await openDatabase(db.url);
    clients.push(client);
    const owner = `engine-${name}`;
    const started = startTestEngine(client, sink.url, {
      clock,
      owner,
      settings: { concurrency: CONNECTIONS, prepareWindow: 40, ...settings },
      wrapMailer: options.wrapMailer,
    });
    const result = { ...started, owner };
    if (options.keep !== false) running.push(result);
    return result;
  }

  /** Ticks the engines (as their cron jobs would) until `done`, then waits for them to be idle. */
  async function tickUntil(engines: Engine[], done: () => Promise<boolean>, seconds = 60, waitIdle = true) {
    const deadline = Date.now() + seconds * 1000;
    while (!(await done())) {
      if (Date.now() > deadline) throw new Error("the engines did not get there in time");
      await Promise.all(engines.map((e) => e.engine.tick()));
      await sleep(20);
    }
    if (waitIdle) for (const e of engines) await e.engine.idle();
  }

  const statusOf = async (id: string) => (await db.prisma.sending.findUniqueOrThrow({ where: { id } })).status;
  const isIn = (engines: Engine[], id: string) => engines.every((e) => e.engine.delivering().includes(id));
  /** Each engine's recipients, by who claimed them: every engine that took part delivered some. */
  const deliveredBy = async (id: string) => {
    const rows = await db.prisma.recipient.groupBy({ by: ["claimedBy"], where: { sendingId: id, status: "SENT" }, _count: { _all: true } });
    return new Map(rows.map((row) => [row.claimedBy, row._count._all]));
  };
  /** The sink answers each message after `ms`, so that deliveries overlap long enough to watch. */
  const slowSink = (ms: number) => {
    sink.behaviour.received = () => sleep(ms);
  };
  const expectEachOnce = (count: number) => {
    expect(sink.received).toHaveLength(count);
    expect(new Set(sink.received.map((mail) => mail.to)).size).toBe(count);
  };

  return { engine, tickUntil, statusOf, isIn, deliveredBy, slowSink, expectEachOnce, useCases, get db() { return db; }, get sink() { return sink; }, get clock() { return clock; } };
}

onPostgres("several engines share one sending on PostgreSQL (skipped only without TEST_POSTGRES_URL)", () => {
  const t = sharedSuite("postgresql");

  it("three engines deliver every recipient exactly once, each its own batches; one completion, counted from the database", async () => {
    const id = await givenSending(t.db, { recipients: 300 });
    t.slowSink(5);
    const [a, b, c] = [await t.engine("a"), await t.engine("b"), await t.engine("c")];
    await a.engine.tick();
    await t.tickUntil([a, b, c], async () => (await t.statusOf(id)) === "COMPLETED");

    t.expectEachOnce(300);
    expect(await t.db.prisma.recipient.count({ where: { sendingId: id, status: "SENT" } })).toBe(300);
    const shares = await t.deliveredBy(id);
    expect([...shares.keys()].sort()).toEqual([a.owner, b.owner, c.owner]);
    // Completed once, by whoever found nothing left, and announced once, with the database's counts.
    const completions = [a, b, c].flatMap((e) => e.recording.events.filter((event) => event.event.kind === "completed"));
    expect(completions).toHaveLength(1);
    expect(completions[0]!.event).toMatchObject({ kind: "completed", progress: { total: 300, sent: 300, queued: 0, prepared: 0 } });
    const audit = await t.db.prisma.auditEvent.findMany({ where: { sendingId: id, toStatus: "COMPLETED" } });
    expect(audit).toHaveLength(1);
    // Only the lease holder reports progress, and its counts include what the others delivered.
    expect(b.recording.progress).toHaveLength(0);
    expect(c.recording.progress).toHaveLength(0);
    const mostSent = Math.max(...a.recording.progress.map((p) => p.progress.sent));
    expect(mostSent).toBeGreaterThan(shares.get(a.owner)!);
    const sending = await t.db.prisma.sending.findUniqueOrThrow({ where: { id } });
    expect(sending.leaseOwner).toBeNull();
    expect(await t.db.prisma.deliveryShare.count({ where: { sendingId: id, admittedAt: { not: null } } })).toBe(0);
  }, 120_000);

  it("an engine that asks to help starts within that tick, once the lease holder (claiming recipients) admits it", async () => {
    const id = await givenSending(t.db, { recipients: 300 });
    t.slowSink(5);
    const [a, b] = [await t.engine("a"), await t.engine("b")];
    expect((await a.engine.tick()).delivering).toEqual([id]);
    expect((await b.engine.tick()).delivering).toEqual([id]);
    expect(await t.db.prisma.deliveryShare.findUniqueOrThrow({ where: { sendingId_owner: { sendingId: id, owner: b.owner } } })).toMatchObject({
      admittedAt: expect.any(Date),
    });
    await t.tickUntil([a, b], async () => (await t.statusOf(id)) === "COMPLETED");
    t.expectEachOnce(300);
    expect((await t.deliveredBy(id)).size).toBe(2);
  }, 120_000);

  it("Pause stops all three within the messages each has in hand; Resume finishes exactly once", async () => {
    const id = await givenSending(t.db, { recipients: 300 });
    t.slowSink(5);
    const engines = [await t.engine("a"), await t.engine("b"), await t.engine("c")];
    let receivedAtPause = -1;
    t.sink.behaviour.received = async (_mail, count) => {
      await sleep(5);
      if (receivedAtPause < 0 && count >= 40 && t.isIn(engines, id)) {
        receivedAtPause = 0;
        await pauseSending(t.useCases(), { sendingId: id, actor: "UAPPROVER1", reason: "wrong link" });
        receivedAtPause = t.sink.received.length;
      }
    };
    await engines[0]!.engine.tick();
    await t.tickUntil(engines, async () => (await t.statusOf(id)) === "PAUSED" && engines.every((e) => e.engine.delivering().length === 0));

    expect(receivedAtPause).toBeGreaterThan(0);
    expect(t.sink.received.length - receivedAtPause).toBeLessThanOrEqual(3 * IN_HAND);
    const counts = await statusCounts(t.db, id);
    expect(counts.SENT).toBe(t.sink.received.length);
    // Every engine gave back what it held: nothing is claimed, no engine takes part any more.
    const prepared = (await recipientsOf(t.db, id)).filter((r) => r.status === "PREPARED");
    expect(prepared.every((r) => r.claimedBy === null)).toBe(true);
    expect(await t.db.prisma.deliveryShare.count({ where: { sendingId: id, admittedAt: { not: null } } })).toBe(0);
    expect((await t.db.prisma.sending.findUniqueOrThrow({ where: { id } })).leaseOwner).toBeNull();

    // Paused: ticks deliver nothing.
    const atRest = t.sink.received.length;
    await Promise.all(engines.map((e) => e.engine.tick()));
    for (const e of engines) await e.engine.idle();
    expect(t.sink.received).toHaveLength(atRest);

    t.sink.behaviour.received = () => sleep(5);
    await resumeSending(t.useCases(), { sendingId: id, actor: "UAPPROVER1" });
    await t.tickUntil(engines, async () => (await t.statusOf(id)) === "COMPLETED");
    t.expectEachOnce(300);
    expect(new Set(t.sink.received.map((mail) => mail.messageId)).size).toBe(300);
    expect(await statusCounts(t.db, id)).toEqual({ SENT: 300 });
  }, 120_000);

  it("Cancel dropping the prepared ones: no engine hands over more than it had in hand, and the records match what went out", async () => {
    const id = await givenSending(t.db, { recipients: 300 });
    const engines = [await t.engine("a"), await t.engine("b"), await t.engine("c")];
    let receivedAtCancel = -1;
    let result: Awaited<ReturnType<typeof cancelSending>> | undefined;
    t.sink.behaviour.received = async (_mail, count) => {
      await sleep(5);
      if (receivedAtCancel < 0 && count >= 40 && t.isIn(engines, id)) {
        receivedAtCancel = 0;
        result = await cancelSending(t.useCases(), { sendingId: id, actor: "UAPPROVER1", reason: "wrong list", prepared: "drop" });
        receivedAtCancel = t.sink.received.length;
      }
    };
    await engines[0]!.engine.tick();
    await t.tickUntil(engines, async () => (await t.statusOf(id)) === "CANCELLED" && engines.every((e) => e.engine.delivering().length === 0));

    expect(result!.prepared).toBe("drop");
    expect(t.sink.received.length - receivedAtCancel).toBeLessThanOrEqual(3 * IN_HAND);
    const counts = await statusCounts(t.db, id);
    expect(counts.SENT).toBe(t.sink.received.length);
    expect((counts.SENT ?? 0) + (counts.CANCELLED ?? 0)).toBe(300);
    t.expectEachOnce(t.sink.received.length);
    const sending = await t.db.prisma.sending.findUniqueOrThrow({ where: { id } });
    expect(sending.finishedAt).not.toBeNull();
    // Finished: later ticks leave it alone.
    await Promise.all(engines.map((e) => e.engine.tick()));
    for (const e of engines) expect(e.engine.delivering()).toEqual([]);
  }, 120_000);

  it("Cancel delivering the prepared ones: each engine delivers what it held, the rest is cancelled, it finishes once", async () => {
    const id = await givenSending(t.db, { recipients: 300 });
    const engines = [await t.engine("a"), await t.engine("b"), await t.engine("c")];
    let result: Awaited<ReturnType<typeof cancelSending>> | undefined;
    let cancelling = false;
    t.sink.behaviour.received = async (_mail, count) => {
      await sleep(5);
      if (!cancelling && count >= 40 && t.isIn(engines, id)) {
        cancelling = true;
        result = await cancelSending(t.useCases(), { sendingId: id, actor: "UAPPROVER1", reason: "enough", prepared: "deliver" });
      }
    };
    await engines[0]!.engine.tick();
    await t.tickUntil(engines, async () => {
      const sending = await t.db.prisma.sending.findUniqueOrThrow({ where: { id } });
      return sending.finishedAt !== null && engines.every((e) => e.engine.delivering().length === 0);
    });

    expect(result!.preparedCount).toBeGreaterThan(0);
    const counts = await statusCounts(t.db, id);
    expect(counts).toEqual({ SENT: 300 - result!.cancelledRecipients, CANCELLED: result!.cancelledRecipients });
    t.expectEachOnce(counts.SENT!);
    const finished = await t.db.prisma.auditEvent.findMany({ where: { sendingId: id, action: "prepared messages delivered" } });
    expect(finished).toHaveLength(1);
    expect((await t.db.prisma.sending.findUniqueOrThrow({ where: { id } })).status).toBe("CANCELLED");
  }, 120_000);

  it("an engine that dies mid-batch keeps its recipients until its share runs out; then they are taken over, re-sent with the same Message-ID", async () => {
    const LEASE = 600;
    const id = await givenSending(t.db, { recipients: 200 });
    t.slowSink(3);
    const a = await t.engine("a", { leaseSeconds: LEASE });
    const c = await t.engine("c", { leaseSeconds: LEASE });
    // b dies in the middle of its batch: the server takes its 15th message, the answer never comes
    // back, and nothing more leaves it. It never gives back what it claimed.
    let bPool: Mailer | undefined;
    const inFlight: string[] = [];
    const b = await t.engine(
      "b",
      { leaseSeconds: LEASE },
      {
        keep: false,
        wrapMailer: (pool) => {
          bPool = pool;
          let handed = 0;
          return {
            target: pool.target,
            close: () => pool.close(),
            send(message) {
              handed++;
              if (handed < 15) return pool.send(message);
              if (handed === 15) {
                inFlight.push(message.to);
                void pool.send(message);
              }
              return new Promise(() => {});
            },
          };
        },
      },
    );
    await a.engine.tick();
    await t.tickUntil([a, b, c], async () => inFlight.length > 0, 60, false);
    // b no longer ticks (it is dead); a and c deliver everything else.
    const heldByB = async () => (await recipientsOf(t.db, id)).filter((r) => r.status === "PREPARED" && r.claimedBy === b.owner);
    const deadline = Date.now() + 60_000;
    for (;;) {
      const rows = await recipientsOf(t.db, id);
      const open = rows.filter((r) => r.status !== "SENT");
      if (open.length > 0 && open.every((r) => r.status === "PREPARED" && r.claimedBy === b.owner)) break;
      if (Date.now() > deadline) throw new Error("a and c did not deliver the rest");
      await Promise.all([a, c].map((e) => e.engine.tick()));
      await sleep(50);
    }
    const held = await heldByB();
    expect(held.map((r) => r.email)).toContain(inFlight[0]);
    // Its share has not run out: nobody takes its recipients, however long we look.
    await sleep(800);
    await Promise.all([a, c].map((e) => e.engine.tick()));
    await sleep(300);
    expect((await heldByB()).map((r) => r.id)).toEqual(held.map((r) => r.id));
    for (const row of held) expect(t.sink.countFor(row.email)).toBe(row.email === inFlight[0] ? 1 : 0);
    expect(await t.statusOf(id)).toBe("SENDING");

    t.clock.advance((LEASE + 1) * 1000);
    await t.tickUntil([a, c], async () => (await t.statusOf(id)) === "COMPLETED");

    const rows = await recipientsOf(t.db, id);
    expect(rows.every((r) => r.status === "SENT")).toBe(true);
    for (const row of rows) {
      const mails = t.sink.received.filter((mail) => mail.to === row.email);
      expect(mails, row.email).toHaveLength(row.email === inFlight[0] ? 2 : 1);
      for (const mail of mails) expect(mail.messageId).toBe(`<${id}.r${row.id}@acme.test>`);
    }
    for (const row of held) expect(rows.find((r) => r.id === row.id)!.claimedBy).not.toBe(b.owner);
    await bPool?.close();
  }, 120_000);

  it("SEND_RATE is the sending's rate across the engines: three engines at 30 a second deliver 30 a second together", async () => {
    const RATE = 30;
    const id = await givenSending(t.db, { recipients: 150 });
    const arrivals: number[] = [];
    const handoffs: number[] = [];
    t.sink.behaviour.received = () => void arrivals.push(performance.now());
    const timed = (pool: Mailer): Mailer => ({ ...pool, send: (message) => (handoffs.push(performance.now()), pool.send(message)) });
    const engines = await Promise.all(["a", "b", "c"].map((name) => t.engine(name, { rate: RATE }, { wrapMailer: timed })));
    await engines[0]!.engine.tick();
    await t.tickUntil(engines, async () => (await t.statusOf(id)) === "COMPLETED");

    t.expectEachOnce(150);
    expect((await t.deliveredBy(id)).size).toBe(3);
    // Each engine alone goes at 30 a second: unshared, the three would hand over about 90. Shared, no
    // second holds much more than 30 (margin for timers and for the moment helpers join), and the whole
    // takes its time. The sink shares this process's event loop, so what it sees may bunch a little more.
    const busiest = (times: number[]) => {
      const sorted = [...times].sort((x, y) => x - y);
      let most = 0;
      for (let i = 0, j = 0; i < sorted.length; i++) {
        while (sorted[i]! - sorted[j]! >= 1000) j++;
        most = Math.max(most, i - j + 1);
      }
      return most;
    };
    expect(handoffs).toHaveLength(150);
    expect(busiest(handoffs)).toBeLessThanOrEqual(RATE * 1.25 + 2);
    expect(busiest(arrivals)).toBeLessThanOrEqual(RATE * 2);
    expect(Math.max(...handoffs) - Math.min(...handoffs)).toBeGreaterThanOrEqual(((150 - 1.25 * RATE) / RATE) * 1000);
  }, 120_000);

  it("the error budget: each engine judges what it handed over, and the first to find it spent pauses the sending for all", async () => {
    const id = await givenSending(t.db, { recipients: 300 });
    const engines = [
      await t.engine("a", { errorBudget: { consecutive: 10, ratio: 1, window: 1000 } }),
      await t.engine("b", { errorBudget: { consecutive: 10, ratio: 1, window: 1000 } }),
      await t.engine("c", { errorBudget: { consecutive: 10, ratio: 1, window: 1000 } }),
    ];
    let broken = false;
    let refused = 0;
    t.sink.behaviour.received = () => sleep(5);
    // The server breaks once all three deliver.
    t.sink.behaviour.rcpt = () => {
      if (!broken && t.sink.received.length >= 30 && engines.every((e) => e.engine.delivering().includes(id))) broken = true;
      if (!broken) return undefined;
      refused++;
      return { code: 554, message: "5.7.1 Service unavailable; client host blocked" };
    };
    await engines[0]!.engine.tick();
    await t.tickUntil(engines, async () => (await t.statusOf(id)) === "PAUSED" && engines.every((e) => e.engine.delivering().length === 0));

    const sending = await t.db.prisma.sending.findUniqueOrThrow({ where: { id } });
    expect(sending.statusNote).toMatch(/^1\d messages in a row failed\. The last one: 554 5\.7\.1 Service unavailable/);
    expect(refused).toBeGreaterThanOrEqual(10);
    expect(refused).toBeLessThanOrEqual(3 * (10 + IN_HAND));
    expect((await statusCounts(t.db, id)).FAILED).toBe(refused);
    const announced = engines.flatMap((e) => e.recording.events.filter((event) => event.event.kind === "auto-paused"));
    expect(announced).toHaveLength(1);
  }, 120_000);
});

describe("one engine a sending on SQLite", () => {
  const t = sharedSuite("sqlite");

  it("a second engine leaves a sending to the engine holding its lease", async () => {
    const id = await givenSending(t.db, { recipients: 200 });
    t.slowSink(2);
    const [a, b] = [await t.engine("a"), await t.engine("b")];
    await a.engine.tick();
    await t.tickUntil([a, b], async () => {
      expect(b.engine.delivering()).toEqual([]);
      return (await t.statusOf(id)) === "COMPLETED";
    });
    t.expectEachOnce(200);
    expect([...(await t.deliveredBy(id)).keys()]).toEqual([a.owner]);
    expect(await t.db.prisma.deliveryShare.count()).toBe(0);
  }, 120_000);
});
