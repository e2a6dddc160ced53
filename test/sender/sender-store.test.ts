import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../../src/db/database.js";
import type { SenderStore } from "../../src/sender/store.js";
import { createTestDatabase, describeEachDatabase, testedProviders, type TestDatabase } from "../support/databases.js";
import { createTestSenderStore } from "../support/db-paths.js";
import { NOW, givenSending, recipientsOf } from "./support/fixtures.js";

async function outboxEvents(db: Database, sendingId: string): Promise<{ kind: string }[]> {
  const rows = await db.prisma.outboxMessage.findMany({ where: { sendingId }, orderBy: { id: "asc" } });
  return rows.map((row) => JSON.parse(row.event) as { kind: string });
}

type Store = SenderStore & { close(): Promise<void> };
/** The final progress a run hands to complete(): what it counted with nothing left. */
const FINAL = { total: 2, queued: 0, prepared: 0, sent: 1, failed: 1, cancelled: 0, rate: 10, startedAt: NOW, failureReasons: [{ reason: "550", count: 1 }] };
const at = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);
const onPostgres = testedProviders().includes("postgresql") ? describe : describe.skip;

describeEachDatabase("the engine's store: claiming recipients", (provider) => {
  let db: TestDatabase;
  let store: Store;
  beforeEach(async () => {
    db = await createTestDatabase(provider);
    store = createTestSenderStore(db);
  });
  afterEach(async () => {
    await store.close();
    await db.destroy();
  });

  /** A SENDING sending whose lease `owner` holds until `until`. */
  async function leased(recipients: number, owner: string, until = at(60)) {
    const id = await givenSending(db, { recipients, status: "SENDING" });
    await db.prisma.sending.update({ where: { id }, data: { leaseOwner: owner, leaseExpiresAt: until, startedAt: NOW } });
    return id;
  }

  it("claims queued recipients in id order and marks them PREPARED and held by the claimer; prepared ones given back wait while paused", async () => {
    const id = await leased(10, "a");
    const first = await store.claimQueued(id, "a", NOW, 0, 4);
    expect(first.map((r) => r.id)).toEqual((await recipientsOf(db, id)).slice(0, 4).map((r) => r.id));
    const next = await store.claimQueued(id, "a", NOW, first.at(-1)!.id, 4);
    expect(next).toHaveLength(4);
    const rows = await recipientsOf(db, id);
    expect(rows.slice(0, 8).every((r) => r.status === "PREPARED" && r.claimedBy === "a")).toBe(true);
    expect(rows.slice(8).every((r) => r.status === "QUEUED" && r.claimedBy === null)).toBe(true);

    await store.releaseRecipients(id, "a");
    await db.prisma.sending.update({ where: { id }, data: { status: "PAUSED" } });
    expect(await store.claimPrepared(id, "a", NOW, 0, 4)).toEqual([]);
    await db.prisma.sending.update({ where: { id }, data: { status: "SENDING" } });
    expect(await store.claimPrepared(id, "a", NOW, 0, 4)).toHaveLength(4);
  });

  it("leaves retries not yet due in the queue", async () => {
    const id = await leased(3, "a");
    const rows = await recipientsOf(db, id);
    await db.prisma.recipient.update({ where: { id: rows[1]!.id }, data: { nextAttemptAt: at(30), attempts: 1 } });
    expect((await store.claimQueued(id, "a", NOW, 0, 10)).map((r) => r.id)).toEqual([rows[0]!.id, rows[2]!.id]);
    expect((await store.claimQueued(id, "a", at(31), 0, 10)).map((r) => r.id)).toEqual([rows[1]!.id]);
  });

  it("takes prepared recipients given back at once, and those of an engine that no longer holds the lease only once it ran out", async () => {
    const id = await leased(6, "dead");
    await store.claimQueued(id, "dead", NOW, 0, 6);
    // The new holder can only lease it once the dead engine's lease has run out; before, nothing is free.
    expect(await store.claimPrepared(id, "dead", NOW, 0, 10)).toEqual([]);
    await db.prisma.sending.update({ where: { id }, data: { leaseOwner: "next", leaseExpiresAt: at(120) } });
    expect(await store.claimPrepared(id, "next", at(61), 0, 10)).toHaveLength(6);
    expect((await recipientsOf(db, id)).every((r) => r.claimedBy === "next")).toBe(true);

    // Given back (a pause, a stop): free for whoever delivers next.
    await store.releaseRecipients(id, "next");
    expect((await recipientsOf(db, id)).every((r) => r.status === "PREPARED" && r.claimedBy === null)).toBe(true);
    expect(await store.claimPrepared(id, "next", at(61), 0, 3)).toHaveLength(3);
  });

  it("writes the outcomes a status read takes along before it reads, and reads a status changed before it began", async () => {
    const id = await leased(3, "a");
    const claimed = await store.claimQueued(id, "a", NOW, 0, 3);
    await db.prisma.sending.update({ where: { id }, data: { status: "PAUSED" } });
    const sentAt = at(5);
    const gate = await store.readGate(id, "a", NOW, claimed.slice(0, 2).map((r) => ({ recipientId: r.id, kind: "sent" as const, at: sentAt, response: `250 queued ${r.id}` })));
    expect(gate).toEqual({ status: "PAUSED", cancelPrepared: null, holdsLease: true, participants: 1 });
    const rows = await recipientsOf(db, id);
    expect(rows.map((r) => [r.status, r.attempts, r.smtpResponse, r.sentAt?.toISOString() ?? null])).toEqual([
      ["SENT", 1, `250 queued ${claimed[0]!.id}`, sentAt.toISOString()],
      ["SENT", 1, `250 queued ${claimed[1]!.id}`, sentAt.toISOString()],
      ["PREPARED", 0, null, null],
    ]);
    // Gone meanwhile: the outcomes are still written, and the gate says to stop.
    const gone = await store.readGate("snd_gone", "a", NOW, [{ recipientId: claimed[2]!.id, kind: "sent", at: sentAt, response: "250 ok" }]);
    expect(gone).toMatchObject({ status: "CANCELLED", holdsLease: false });
    expect((await recipientsOf(db, id))[2]!.status).toBe("SENT");
  });

  it("completes only once nothing is queued or prepared, and only once", async () => {
    const id = await leased(2, "a");
    expect(await store.complete(id, "a", NOW, FINAL)).toBeNull();
    const claimed = await store.claimQueued(id, "a", NOW, 0, 2);
    await store.record(claimed.slice(0, 1).map((r) => ({ recipientId: r.id, kind: "sent" as const, at: NOW, response: "250 ok" })));
    expect(await store.complete(id, "a", NOW, FINAL)).toBeNull();
    await store.record(claimed.slice(1).map((r) => ({ recipientId: r.id, kind: "failed" as const, reason: "550", response: "550 no" })));
    expect(await store.complete(id, "someone-else", NOW, FINAL)).toBeNull();
    expect(await store.complete(id, "a", NOW, FINAL)).toEqual({ kind: "completed", progress: FINAL });
    expect(await store.complete(id, "a", NOW, FINAL)).toBeNull();
    expect(await db.prisma.auditEvent.count({ where: { sendingId: id, toStatus: "COMPLETED" } })).toBe(1);
    // The event was written with the change, once: the calls that changed nothing wrote nothing.
    expect((await outboxEvents(db, id)).map((event) => event.kind)).toEqual(["completed"]);
  });

  it("writes the engine's own events to the outbox in the transaction of their change, and none when nothing changed", async () => {
    // Nothing but the store runs here, no notifier: what reaches Slack and webhooks after a crash right
    // after the commit is what the outbox holds.
    const scheduled = await givenSending(db, { recipients: 3, status: "SCHEDULED" });
    await db.prisma.sending.update({ where: { id: scheduled }, data: { leaseOwner: "a", leaseExpiresAt: at(60) } });
    expect(await store.start(scheduled, "someone-else", NOW)).toBeNull();
    const started = await store.start(scheduled, "a", NOW);
    expect(started).toMatchObject({ kind: "started", progress: { total: 3, queued: 3, sent: 0, startedAt: NOW } });
    expect(await outboxEvents(db, scheduled)).toEqual([JSON.parse(JSON.stringify(started))]);

    const paused = await store.autoPause(scheduled, "a", "Too many failures: 5 of the last 10.", { kind: "auto-paused", reason: "Too many failures: 5 of the last 10." });
    expect(paused).toEqual({ kind: "auto-paused", reason: "Too many failures: 5 of the last 10." });
    expect(await store.autoPause(scheduled, "a", "again", { kind: "auto-paused", reason: "again" })).toBeNull();
    expect((await outboxEvents(db, scheduled)).map((event) => event.kind)).toEqual(["started", "auto-paused"]);
    const audit = await db.prisma.auditEvent.findMany({ where: { sendingId: scheduled }, orderBy: { id: "asc" } });
    expect(audit.map((row) => [row.action, row.reason])).toEqual([
      ["delivery started", null],
      ["paused automatically", "Too many failures: 5 of the last 10."],
    ]);

    // A late launch paused before any delivery, resumed: its first delivery is its start.
    const late = await givenSending(db, { recipients: 2, status: "SENDING" });
    expect(await store.markStarted(late, NOW)).toMatchObject({ kind: "started", progress: { total: 2, queued: 2 } });
    expect(await store.markStarted(late, at(5))).toBeNull();
    expect((await outboxEvents(db, late)).map((event) => event.kind)).toEqual(["started"]);
  });

  it(`${provider === "postgresql" ? "lets" : "never lets"} another engine help`, async () => {
    const id = await leased(4, "a");
    expect(store.sharesSendings).toBe(provider === "postgresql");
    const helper = { owner: "b", now: NOW, until: at(60), limit: 4, skip: [] };
    expect(await store.joinSendings(helper)).toEqual({ admitted: [], waiting: provider === "postgresql" ? 1 : 0 });
    await store.admitHelpers(id, "a", NOW);
    const { admitted, waiting } = await store.joinSendings(helper);
    expect(admitted.map((s) => s.id)).toEqual(provider === "postgresql" ? [id] : []);
    expect(waiting).toBe(0);
  });
});

onPostgres("the engine's store: several engines on one sending (PostgreSQL)", () => {
  let db: TestDatabase;
  const stores: Store[] = [];
  const clients: Database[] = [];
  beforeEach(async () => {
    db = await createTestDatabase("postgresql");
  });
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    for (const client of clients.splice(0)) await client.close();
    await db.destroy();
  });

  /** A store as another process would have it: a client and a pool of its own. */
  async function processStore(): Promise<Store> {
    const client = await openDatabase(db.url);
    clients.push(client);
    const store = createTestSenderStore(client);
    stores.push(store);
    return store;
  }

  async function leased(recipients: number, owner: string) {
    const id = await givenSending(db, { recipients, status: "SENDING" });
    await db.prisma.sending.update({ where: { id }, data: { leaseOwner: owner, leaseExpiresAt: at(60), startedAt: NOW } });
    return id;
  }

  it("engines claiming at the same time get batches of their own: every recipient claimed once", async () => {
    const id = await leased(900, "e0");
    const engines = await Promise.all([0, 1, 2].map(() => processStore()));
    const claimedBy = new Map<number, string>();
    await Promise.all(
      engines.map(async (store, i) => {
        for (;;) {
          const rows = await store.claimQueued(id, `e${i}`, NOW, 0, 25);
          if (rows.length === 0) return;
          for (const row of rows) {
            expect(claimedBy.has(row.id), `recipient ${row.id} claimed twice`).toBe(false);
            claimedBy.set(row.id, `e${i}`);
          }
        }
      }),
    );
    expect(claimedBy.size).toBe(900);
    expect(new Set(claimedBy.values()).size).toBeGreaterThan(1);
    const rows = await recipientsOf(db, id);
    expect(rows.every((r) => r.status === "PREPARED" && r.claimedBy === claimedBy.get(r.id))).toBe(true);
  });

  it("a helper asks, the live lease holder admits it, and it takes part until its share runs out; then what it held is free", async () => {
    const id = await leased(10, "a");
    const [a, b, c] = [await processStore(), await processStore(), await processStore()];
    const ask = async (owner: string, now = NOW) =>
      (await b.joinSendings({ owner, now, until: new Date(now.getTime() + 60_000), limit: 4, skip: [] })).admitted;

    expect(await ask("b")).toEqual([]);
    expect(await b.readGate(id, "b", NOW)).toMatchObject({ holdsLease: false, participants: 1 });
    // Only the lease holder admits.
    expect(await c.admitHelpers(id, "c", NOW)).toBe(0);
    expect(await a.admitHelpers(id, "a", NOW)).toBe(1);
    const joined = await ask("b");
    expect(joined.map((s) => s.id)).toEqual([id]);
    expect(joined[0]!.content.subject).toBe("Hello {{firstName}}");
    expect(await b.readGate(id, "b", NOW)).toMatchObject({ status: "SENDING", holdsLease: true, participants: 2 });
    expect(await a.readGate(id, "a", NOW)).toMatchObject({ holdsLease: true, participants: 2 });

    // b claims a batch; while its share is live nobody else takes it, not even the lease holder.
    expect(await b.claimQueued(id, "b", NOW, 0, 3)).toHaveLength(3);
    expect(await a.claimPrepared(id, "a", at(30), 0, 10)).toEqual([]);
    expect(await b.renewShare(id, "b", at(30), at(90))).toBe(true);
    expect(await a.claimPrepared(id, "a", at(80), 0, 10)).toEqual([]);
    // Its share ran out (it died): the lease holder takes its recipients, and b is never revived.
    await a.renewLease(id, "a", at(200));
    expect(await a.claimPrepared(id, "a", at(91), 0, 10)).toHaveLength(3);
    expect(await b.renewShare(id, "b", at(91), at(151))).toBe(false);
    expect(await b.readGate(id, "b", at(91))).toMatchObject({ holdsLease: false, participants: 1 });
    // Asking again, it is a newcomer: the lease holder has to admit it afresh.
    expect(await ask("b", at(91))).toEqual([]);
    expect(await b.readGate(id, "b", at(91))).toMatchObject({ holdsLease: false, participants: 1 });
  });

  it("a helper that leaves gives back what it held and no longer counts; a helper may complete the sending", async () => {
    const id = await leased(4, "a");
    const [a, b] = [await processStore(), await processStore()];
    await b.joinSendings({ owner: "b", now: NOW, until: at(60), limit: 1, skip: [] });
    await a.admitHelpers(id, "a", NOW);
    await b.joinSendings({ owner: "b", now: NOW, until: at(60), limit: 1, skip: [] });
    const held = await b.claimQueued(id, "b", NOW, 0, 2);
    await b.leaveSending(id, "b");
    expect(await a.readGate(id, "a", NOW)).toMatchObject({ participants: 1 });
    expect((await a.claimPrepared(id, "a", NOW, 0, 10)).map((r) => r.id)).toEqual(held.map((r) => r.id));

    // Back in, b delivers the last ones and completes it: the lease holder's own attempt then finds it done.
    await b.joinSendings({ owner: "b", now: NOW, until: at(60), limit: 1, skip: [] });
    await a.admitHelpers(id, "a", NOW);
    await b.joinSendings({ owner: "b", now: NOW, until: at(60), limit: 1, skip: [] });
    const rest = await b.claimQueued(id, "b", NOW, 0, 10);
    await a.record([...held].map((r) => ({ recipientId: r.id, kind: "sent" as const, at: NOW, response: "250" })));
    await b.record(rest.map((r) => ({ recipientId: r.id, kind: "sent" as const, at: NOW, response: "250" })));
    expect(await b.complete(id, "b", NOW, { ...FINAL, total: 4, sent: 4, failed: 0, failureReasons: [] })).toMatchObject({ kind: "completed" });
    expect(await a.complete(id, "a", NOW, FINAL)).toBeNull();
    expect(await db.prisma.sending.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: "COMPLETED", leaseOwner: null });
  });

  it("the lease holder taking a sending it asked to help with no longer counts as a helper", async () => {
    const id = await givenSending(db, { recipients: 2, status: "SENDING" });
    await db.prisma.sending.update({ where: { id }, data: { leaseOwner: "gone", leaseExpiresAt: at(10), startedAt: NOW } });
    const b = await processStore();
    await b.joinSendings({ owner: "b", now: NOW, until: at(600), limit: 1, skip: [] });
    const claimed = await b.claim({ owner: "b", now: at(11), leaseUntil: at(71), limit: 1, skip: [] });
    expect(claimed.map((s) => s.id)).toEqual([id]);
    expect(await b.admitHelpers(id, "b", at(11))).toBe(0);
    expect(await b.readGate(id, "b", at(11))).toMatchObject({ holdsLease: true, participants: 1 });
  });
});
