import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import type { Database } from "../../src/db/database.js";
import type { SendingStatus } from "../../src/domain/sending-status.js";
import type { SendingEvent, SendingNotifier } from "../../src/sendings/support/ports.js";
import { remindApprovers } from "../../src/sendings/remind-approvers.js";
import { createTestDatabase, describeEachDatabase, type TestDatabase } from "../support/databases.js";
import { NOW, insertSending } from "./fixtures.js";

const minutes = (n: number) => new Date(NOW.getTime() + n * 60_000);

class Recording implements SendingNotifier {
  events: { sendingId: string; event: SendingEvent }[] = [];
  async sendingChanged(sendingId: string, event: SendingEvent) {
    this.events.push({ sendingId, event });
  }
  deliveryProgress() {}
}

describeEachDatabase("remindApprovers", (provider) => {
  let db: TestDatabase;
  let notifier: Recording;
  let now: Date;
  const deps = (database: Database = db) => ({ db: database, notifier, clock: { now: () => now }, log: pino({ level: "silent" }) });
  const audits = (sendingId: string) => db.prisma.auditEvent.findMany({ where: { sendingId, action: "reminded" } });

  beforeAll(async () => {
    db = await createTestDatabase(provider);
  });
  afterAll(() => db?.destroy());
  beforeEach(async () => {
    await db.prisma.sending.deleteMany();
    notifier = new Recording();
    now = NOW;
  });

  it("reminds a pending sending within the window once, not twice", async () => {
    const launchAt = minutes(90);
    const id = await insertSending(db, { launchAt });

    expect(await remindApprovers(deps(), { before: 120 })).toEqual([{ sendingId: id, launchAt }]);
    now = minutes(30);
    expect(await remindApprovers(deps(), { before: 120 })).toEqual([]);

    expect(notifier.events).toEqual([{ sendingId: id, event: { kind: "reminder", launchAt } }]);
    const sending = await db.prisma.sending.findUniqueOrThrow({ where: { id } });
    expect(sending.remindedAt).toEqual(NOW);
    expect(sending.status).toBe("PENDING_APPROVAL");
    const [audit, ...more] = await audits(id);
    expect(more).toEqual([]);
    expect(audit).toMatchObject({ actor: "system", action: "reminded", fromStatus: null, toStatus: null });
    expect(JSON.parse(audit?.details ?? "{}")).toEqual({ launchAt: launchAt.toISOString(), beforeMinutes: 120 });
  });

  it("does not remind a sending whose launch is further away, until its window opens", async () => {
    const id = await insertSending(db, { launchAt: minutes(121) });
    expect(await remindApprovers(deps(), { before: 120 })).toEqual([]);
    expect(notifier.events).toEqual([]);
    now = minutes(1);
    expect((await remindApprovers(deps(), { before: 120 })).map((r) => r.sendingId)).toEqual([id]);
  });

  it("reminds of a sending whose launch passed unapproved, once", async () => {
    const id = await insertSending(db, { launchAt: minutes(-60) });
    expect((await remindApprovers(deps(), { before: 120 })).map((r) => r.sendingId)).toEqual([id]);
    expect(await remindApprovers(deps(), { before: 120 })).toEqual([]);
  });

  it("leaves sendings in every other status alone", async () => {
    const others: SendingStatus[] = ["SCHEDULED", "SENDING", "PAUSED", "COMPLETED", "REJECTED", "CANCELLED"];
    for (const status of others) await insertSending(db, { status, launchAt: minutes(30) });
    expect(await remindApprovers(deps(), { before: 120 })).toEqual([]);
    expect(notifier.events).toEqual([]);
    expect(await db.prisma.sending.count({ where: { remindedAt: { not: null } } })).toBe(0);
    expect(await db.prisma.auditEvent.count()).toBe(0);
  });

  it("reminds again before a later launch date when the sending was rescheduled", async () => {
    const id = await insertSending(db, { launchAt: minutes(60) });
    await remindApprovers(deps(), { before: 120 });
    await db.prisma.sending.update({ where: { id }, data: { launchAt: minutes(24 * 60) } });
    now = minutes(10);
    expect(await remindApprovers(deps(), { before: 120 })).toEqual([]);
    now = minutes(23 * 60);
    expect((await remindApprovers(deps(), { before: 120 })).map((r) => r.sendingId)).toEqual([id]);
    expect(await audits(id)).toHaveLength(2);
  });

  it("reminds each sending exactly once when several calls race in one process", async () => {
    const ids = [await insertSending(db, { launchAt: minutes(30) }), await insertSending(db, { launchAt: minutes(45) })];
    const rounds = await Promise.all(Array.from({ length: 6 }, () => remindApprovers(deps(), { before: 120 })));
    expect(rounds.flat().map((r) => r.sendingId).sort()).toEqual([...ids].sort());
    expect(notifier.events.map((e) => e.sendingId).sort()).toEqual([...ids].sort());
    for (const id of ids) expect(await audits(id)).toHaveLength(1);
  });

  it("reminds each sending exactly once when several processes run at the same moment", async () => {
    const ids = [await insertSending(db, { launchAt: minutes(30) }), await insertSending(db, { launchAt: minutes(45) })];
    const children = Array.from({ length: 4 }, () =>
      fork(fileURLToPath(new URL("./support/remind-child.ts", import.meta.url)), {
        execArgv: ["--import", "tsx"],
        env: { ...process.env, DATABASE_URL: db.url, NOW: NOW.toISOString() },
      }),
    );
    const messages = children.map((child) => {
      const queue: unknown[] = [];
      const waiting: ((message: unknown) => void)[] = [];
      child.on("message", (message) => (waiting.length ? waiting.shift()!(message) : queue.push(message)));
      const exited = new Promise<never>((_, reject) => child.once("exit", (code) => reject(new Error(`a reminder process exited (${code}) early`))));
      return () => Promise.race([queue.length ? Promise.resolve(queue.shift()) : new Promise((resolve) => waiting.push(resolve)), exited]);
    });
    await Promise.all(messages.map((next) => next())); // every process is connected
    const reports = messages.map((next) => next() as Promise<{ reminded: string[]; told: string[] }>);
    for (const child of children) child.send("go");
    const results = await Promise.all(reports);
    expect(results.flatMap((r) => r.reminded).sort()).toEqual([...ids].sort());
    expect(results.flatMap((r) => r.told).sort()).toEqual([...ids].sort());
    for (const id of ids) expect(await audits(id)).toHaveLength(1);
  }, 60_000);
});
