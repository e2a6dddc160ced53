import pino from "pino";
import { afterEach, beforeEach, expect, it } from "vitest";
import { cancelSending } from "../../src/sendings/cancel-sending.js";
import { pauseSending } from "../../src/sendings/pause-sending.js";
import type { ControlDeps } from "../../src/sendings/support/deps.js";
import { resumeSending } from "../../src/sendings/resume-sending.js";
import type { SendingNotifier } from "../../src/sendings/support/ports.js";
import { HANDOFFS_PER_CONNECTION } from "../../src/sender/delivery-run.js";
import { createTestDatabase, describeEachDatabase, type TestDatabase } from "../support/databases.js";
import { startSmtpSink, type SmtpSink } from "./support/smtp-sink.js";
import {
  ManualClock,
  RecordingNotifier,
  approversOf,
  emailOf,
  givenSending,
  recipientsOf,
  silentLog,
  startTestEngine,
  statusCounts,
  type TestEngine,
  countPrepared,
} from "./support/fixtures.js";

/** Messages an engine with the test settings' 4 connections may have handed over when a Pause commits. */
const IN_HAND = 4 * HANDOFFS_PER_CONNECTION;

describeEachDatabase("delivery", (provider) => {
  let db: TestDatabase;
  let sink: SmtpSink;
  let clock: ManualClock;
  let engines: TestEngine[];
  const useCases = (): ControlDeps => ({ db, notifier: new RecordingNotifier(), clock, log: silentLog, approvers: approversOf("UAPPROVER1") });

  // A database of its own per test: a sending one test leaves leased or paused must not meet another's engine.
  beforeEach(async () => {
    db = await createTestDatabase(provider);
    sink = await startSmtpSink();
    clock = new ManualClock();
    engines = [];
  });
  afterEach(async () => {
    for (const engine of engines) await engine.close();
    await sink.close();
    await db.destroy();
  });

  const engineWith = (options: Partial<Parameters<typeof startTestEngine>[2]> = {}) => {
    const engine = startTestEngine(db, sink.url, { ...options, clock: options.clock ?? clock });
    engines.push(engine);
    return engine;
  };

  it("delivers one personalized message to every recipient, with its headers, and completes", async () => {
    const id = await givenSending(db, {
      recipients: 45,
      vars: (i) => (i === 3 ? { unsubscribeUrl: "https://acme.test/u/own-3" } : {}),
    });
    const { deliver, recording } = engineWith({ clock, settings: { unsubscribeUrl: "https://acme.test/u?s={sendingId}&r={recipientId}&e={email}" } });

    await deliver();

    expect(sink.received).toHaveLength(45);
    const recipients = await recipientsOf(db, id);
    for (const [i, recipient] of recipients.entries()) {
      const mails = sink.received.filter((mail) => mail.to === emailOf(i));
      expect(mails, emailOf(i)).toHaveLength(1);
      const mail = mails[0]!;
      expect(mail.subject).toBe(`Hello Reader${i}`);
      expect(mail.html).toContain(`Hi Reader${i}, your code is <b>C${i}</b>.`);
      expect(mail.text).toContain(`Hi Reader${i}, your code is C${i}.`);
      expect(mail.messageId).toBe(`<${id}.r${recipient.id}@acme.test>`);
      const unsubscribe = i === 3 ? "https://acme.test/u/own-3" : `https://acme.test/u?s=${id}&r=${recipient.id}&e=${encodeURIComponent(emailOf(i))}`;
      expect(mail.headers.get("list-unsubscribe")).toBe(`<${unsubscribe}>`);
      expect(mail.headers.get("list-unsubscribe-post")).toBe("List-Unsubscribe=One-Click");
      expect(recipient.status).toBe("SENT");
      expect(recipient.attempts).toBe(1);
      expect(recipient.sentAt?.toISOString()).toBe(clock.now().toISOString());
      expect(recipient.smtpResponse).toMatch(/^250 .*queued as Q\d+/);
    }
    const sending = await db.prisma.sending.findUniqueOrThrow({ where: { id } });
    expect(sending.status).toBe("COMPLETED");
    expect(sending.startedAt?.toISOString()).toBe(clock.now().toISOString());
    expect(sending.finishedAt?.toISOString()).toBe(clock.now().toISOString());
    expect(sending.leaseOwner).toBeNull();
    expect(recording.kinds(id)).toEqual(["started", "completed"]);
    expect(recording.last("completed")?.progress).toMatchObject({ total: 45, sent: 45, failed: 0, queued: 0, prepared: 0 });
    expect(recording.progress.filter((p) => p.sendingId === id).length).toBeGreaterThan(0);
    const audit = await db.prisma.auditEvent.findMany({ where: { sendingId: id }, orderBy: { id: "asc" } });
    expect(audit.map((a) => [a.actor, a.fromStatus, a.toStatus])).toEqual([
      ["system", "SCHEDULED", "SENDING"],
      ["system", "SENDING", "COMPLETED"],
    ]);
  });

  it("a sending found delivering (a restart, a takeover) is resumed with a log line saying how many are left", async () => {
    const id = await givenSending(db, { status: "SENDING", recipients: 3 });
    await db.prisma.sending.update({ where: { id }, data: { startedAt: clock.now() } });
    const lines: { msg: string; left?: number }[] = [];
    const log = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string; left?: number }) });
    await engineWith({ log }).deliver();
    expect(lines.filter((line) => line.msg.startsWith("resuming delivery"))).toEqual([
      expect.objectContaining({ msg: `resuming delivery of ${id} (3 left)`, left: 3 }),
    ]);
    expect(sink.received).toHaveLength(3);
  });

  it("sets no List-Unsubscribe header when no unsubscribe URL is known", async () => {
    await givenSending(db, { recipients: 2 });
    await engineWith().deliver();
    expect(sink.received).toHaveLength(2);
    for (const mail of sink.received) {
      expect(mail.headers.has("list-unsubscribe")).toBe(false);
      expect(mail.headers.has("list-unsubscribe-post")).toBe(false);
    }
  });

  it("leaves sendings alone before their launch date, and pending ones always", async () => {
    await givenSending(db, { recipients: 3, launchAt: new Date(clock.now().getTime() + 60_000) });
    await givenSending(db, { recipients: 3, status: "PENDING_APPROVAL" });
    const { engine } = engineWith();
    expect((await engine.tick()).delivering).toEqual([]);
    await engine.idle();
    expect(sink.received).toHaveLength(0);
  });

  it("keeps at most the prepared window of recipients PREPARED while delivering", async () => {
    const id = await givenSending(db, { recipients: 120 });
    let mostPrepared = 0;
    sink.behaviour.received = async () => {
      mostPrepared = Math.max(mostPrepared, await countPrepared(db, id));
    };
    await engineWith({ clock, settings: { prepareWindow: 10, concurrency: 2 } }).deliver();
    expect(sink.received).toHaveLength(120);
    expect(mostPrepared).toBeGreaterThan(0);
    expect(mostPrepared).toBeLessThanOrEqual(10);
  });

  it("pauses before the next handoff and resumes exactly where it stopped", async () => {
    const id = await givenSending(db, { recipients: 150 });
    const { deliver, recording } = engineWith({ clock, settings: { prepareWindow: 30 } });
    let receivedAtPause = 0;
    sink.behaviour.received = async (_mail, count) => {
      if (count === 40) {
        await pauseSending(useCases(), { sendingId: id, actor: "UAPPROVER1", reason: "wrong link" });
        receivedAtPause = sink.received.length;
      }
    };

    await deliver();

    const paused = await db.prisma.sending.findUniqueOrThrow({ where: { id } });
    expect(paused.status).toBe("PAUSED");
    expect(paused.leaseOwner).toBeNull();
    // Only messages already handed to SMTP when the pause committed went out after it.
    const afterPause = sink.received.length - receivedAtPause;
    expect(afterPause).toBeLessThanOrEqual(IN_HAND);
    const counts = await statusCounts(db, id);
    expect(counts.SENT).toBe(sink.received.length);
    expect(counts.PREPARED ?? 0).toBeGreaterThan(0);

    // Paused: ticks deliver nothing.
    await deliver();
    expect(sink.received.length).toBe(receivedAtPause + afterPause);

    sink.behaviour.received = undefined;
    await resumeSending(useCases(), { sendingId: id, actor: "UAPPROVER1" });
    await deliver();

    expect(sink.received).toHaveLength(150);
    expect(new Set(sink.received.map((mail) => mail.to)).size).toBe(150);
    expect(new Set(sink.received.map((mail) => mail.messageId)).size).toBe(150);
    expect(await statusCounts(db, id)).toEqual({ SENT: 150 });
    expect((await db.prisma.sending.findUniqueOrThrow({ where: { id } })).status).toBe("COMPLETED");
    expect(recording.kinds(id)).toEqual(["started", "completed"]);
  });

  it("cancel with drop, from paused: the prepared messages and the queue are cancelled, exactly as counted", async () => {
    const id = await givenSending(db, { recipients: 100 });
    const { deliver } = engineWith({ clock, settings: { prepareWindow: 30 } });
    sink.behaviour.received = async (_mail, count) => {
      if (count === 25) await pauseSending(useCases(), { sendingId: id, actor: "UAPPROVER1" });
    };
    await deliver();
    const sentBefore = sink.received.length;
    const prepared = await countPrepared(db, id);
    const queued = (await statusCounts(db, id)).QUEUED ?? 0;
    expect(prepared).toBeGreaterThan(0);

    const notifier = new RecordingNotifier();
    const result = await cancelSending({ ...useCases(), notifier }, { sendingId: id, actor: "UAPPROVER1", reason: "wrong list", prepared: "drop" });

    expect(result).toEqual({ cancelledRecipients: prepared + queued, preparedCount: prepared, prepared: "drop" });
    expect(notifier.last("cancelled")).toEqual({ kind: "cancelled", by: "UAPPROVER1", reason: "wrong list", prepared: "drop", preparedCount: prepared });
    await deliver();
    expect(sink.received).toHaveLength(sentBefore);
    expect(await statusCounts(db, id)).toEqual({ SENT: sentBefore, CANCELLED: prepared + queued });
    const sending = await db.prisma.sending.findUniqueOrThrow({ where: { id } });
    expect(sending.status).toBe("CANCELLED");
    expect(sending.finishedAt).not.toBeNull();
  });

  it("cancel with deliver, from paused: exactly the prepared messages still go out", async () => {
    const id = await givenSending(db, { recipients: 100 });
    const { deliver } = engineWith({ clock, settings: { prepareWindow: 30 } });
    sink.behaviour.received = async (_mail, count) => {
      if (count === 25) await pauseSending(useCases(), { sendingId: id, actor: "UAPPROVER1" });
    };
    await deliver();
    sink.behaviour.received = undefined;
    const sentBefore = sink.received.length;
    const preparedIds = (await recipientsOf(db, id)).filter((r) => r.status === "PREPARED").map((r) => r.email);
    expect(preparedIds.length).toBeGreaterThan(0);

    const result = await cancelSending(useCases(), { sendingId: id, actor: "UAPPROVER1", reason: "enough", prepared: "deliver" });
    expect(result.preparedCount).toBe(preparedIds.length);
    expect(result.prepared).toBe("deliver");
    expect((await db.prisma.sending.findUniqueOrThrow({ where: { id } })).finishedAt).toBeNull();

    await deliver();

    expect(sink.received).toHaveLength(sentBefore + preparedIds.length);
    expect(sink.received.slice(sentBefore).map((mail) => mail.to).sort()).toEqual([...preparedIds].sort());
    expect(await statusCounts(db, id)).toEqual({ SENT: sentBefore + preparedIds.length, CANCELLED: result.cancelledRecipients });
    const sending = await db.prisma.sending.findUniqueOrThrow({ where: { id } });
    expect(sending.status).toBe("CANCELLED");
    expect(sending.finishedAt).not.toBeNull();
    expect(sending.leaseOwner).toBeNull();
    // Finished: later ticks leave it alone.
    expect((await engineWith().engine.tick()).delivering).toEqual([]);
  });

  it("cancel with deliver while delivering: what was prepared when it committed goes out, the rest is cancelled", async () => {
    const id = await givenSending(db, { recipients: 200 });
    const { deliver } = engineWith({ clock, settings: { prepareWindow: 40 } });
    let result: Awaited<ReturnType<typeof cancelSending>> | undefined;
    sink.behaviour.received = async (_mail, count) => {
      if (count === 60) {
        result = await cancelSending(useCases(), { sendingId: id, actor: "UAPPROVER1", reason: "stop", prepared: "deliver" });
      }
    };
    await deliver();

    expect(result!.preparedCount).toBeGreaterThan(0);
    const counts = await statusCounts(db, id);
    expect(counts).toEqual({ SENT: 200 - result!.cancelledRecipients, CANCELLED: result!.cancelledRecipients });
    expect(sink.received).toHaveLength(counts.SENT!);
    expect(new Set(sink.received.map((mail) => mail.to)).size).toBe(counts.SENT);
    expect((await db.prisma.sending.findUniqueOrThrow({ where: { id } })).finishedAt).not.toBeNull();
  });

  it("cancel with drop while delivering: nothing more is handed over, and the records match what went out", async () => {
    const id = await givenSending(db, { recipients: 200 });
    const { deliver } = engineWith({ clock, settings: { prepareWindow: 40 } });
    let result: Awaited<ReturnType<typeof cancelSending>> | undefined;
    let receivedAtCancel = 0;
    sink.behaviour.received = async (_mail, count) => {
      if (count === 60) {
        result = await cancelSending(useCases(), { sendingId: id, actor: "UAPPROVER1", reason: "stop", prepared: "drop" });
        receivedAtCancel = sink.received.length;
      }
    };
    await deliver();

    expect(sink.received.length - receivedAtCancel).toBeLessThanOrEqual(IN_HAND);
    const counts = await statusCounts(db, id);
    expect(counts.SENT).toBe(sink.received.length);
    expect((counts.SENT ?? 0) + (counts.CANCELLED ?? 0)).toBe(200);
    // Messages the server had accepted before the cancel committed, but whose outcome was not written
    // yet, were dropped as PREPARED: they are recorded as sent all the same, since they went out.
    expect(counts.CANCELLED).toBeLessThanOrEqual(result!.cancelledRecipients);
  });

  it("retries a temporary refusal later and fails a permanent one for that recipient only", async () => {
    const id = await givenSending(db, { recipients: 10 });
    sink.behaviour.rcpt = (address, attempt) => {
      if (address === emailOf(2) && attempt === 1) return { code: 451, message: "4.7.1 Greylisted, try again later" };
      if (address === emailOf(5)) return { code: 550, message: `5.1.1 <${address}>: Recipient address rejected: User unknown` };
      return undefined;
    };
    const { deliver, recording, engine } = engineWith({ clock, settings: { retrySeconds: 60 } });

    await deliver();

    let rows = await recipientsOf(db, id);
    expect(rows[2]).toMatchObject({ status: "QUEUED", attempts: 1, lastError: expect.stringContaining("451") });
    expect(rows[2]!.nextAttemptAt?.toISOString()).toBe(new Date(clock.now().getTime() + 60_000).toISOString());
    expect(rows[5]).toMatchObject({ status: "FAILED", attempts: 1 });
    expect(rows[5]!.lastError).toBe("550 5.1.1 <…>: Recipient address rejected: User unknown");
    expect((await db.prisma.sending.findUniqueOrThrow({ where: { id } })).status).toBe("SENDING");

    // Not due yet: no tick even takes the sending up.
    const waiting = await db.prisma.sending.findUniqueOrThrow({ where: { id } });
    expect(waiting.leaseOwner).toBeNull();
    expect(waiting.leaseExpiresAt?.toISOString()).toBe(rows[2]!.nextAttemptAt?.toISOString());
    clock.advance(30_000);
    expect((await engine.tick()).delivering).toEqual([]);
    await engine.idle();
    expect(sink.countFor(emailOf(2))).toBe(0);

    clock.advance(31_000);
    await deliver();

    rows = await recipientsOf(db, id);
    expect(rows[2]).toMatchObject({ status: "SENT", attempts: 2, lastError: null });
    expect(sink.countFor(emailOf(2))).toBe(1);
    expect(sink.countFor(emailOf(5))).toBe(0);
    expect(sink.received).toHaveLength(9);
    expect((await db.prisma.sending.findUniqueOrThrow({ where: { id } })).status).toBe("COMPLETED");
    expect(recording.last("completed")?.progress).toMatchObject({
      sent: 9,
      failed: 1,
      failureReasons: [{ reason: "550 5.1.1 <…>: Recipient address rejected: User unknown", count: 1 }],
    });
  });

  it("gives a temporary failure up after the last attempt", async () => {
    const id = await givenSending(db, { recipients: 3 });
    sink.behaviour.rcpt = (address) => (address === emailOf(1) ? { code: 421, message: "4.3.2 Try later" } : undefined);
    const { deliver } = engineWith({ clock, settings: { maxAttempts: 3, retrySeconds: 10 } });
    await deliver();
    clock.advance(10_000);
    await deliver();
    clock.advance(40_000);
    await deliver();
    expect(sink.attempts.get(emailOf(1))).toBe(3);
    const rows = await recipientsOf(db, id);
    expect(rows[1]).toMatchObject({ status: "FAILED", attempts: 3 });
    expect((await db.prisma.sending.findUniqueOrThrow({ where: { id } })).status).toBe("COMPLETED");
  });

  it("pauses itself when failures exceed the error budget, and says why", async () => {
    const id = await givenSending(db, { recipients: 100 });
    sink.behaviour.rcpt = () => ({ code: 554, message: "5.7.1 Service unavailable; client host blocked" });
    const { deliver, recording } = engineWith({ clock, settings: { errorBudget: { consecutive: 10, ratio: 1, window: 1000 } } });

    await deliver();

    const sending = await db.prisma.sending.findUniqueOrThrow({ where: { id } });
    expect(sending.status).toBe("PAUSED");
    expect(sending.statusNote).toMatch(/^1\d messages in a row failed\. The last one: 554 5\.7\.1 Service unavailable/);
    expect(sending.leaseOwner).toBeNull();
    const attempts = [...sink.attempts.values()].reduce((a, b) => a + b, 0);
    expect(attempts).toBeGreaterThanOrEqual(10);
    expect(attempts).toBeLessThanOrEqual(10 + IN_HAND);
    expect(recording.last("auto-paused")).toEqual({ kind: "auto-paused", reason: sending.statusNote });
    const audit = await db.prisma.auditEvent.findFirst({ where: { sendingId: id, toStatus: "PAUSED" } });
    expect(audit).toMatchObject({ actor: "system", fromStatus: "SENDING", reason: sending.statusNote });

    // Fixed, resumed: the rest goes out; those that failed stay failed.
    sink.behaviour.rcpt = undefined;
    await resumeSending(useCases(), { sendingId: id, actor: "UAPPROVER1" });
    await deliver();
    const counts = await statusCounts(db, id);
    expect(counts.FAILED).toBe(attempts);
    expect(counts.SENT).toBe(100 - attempts);
    expect(sink.received).toHaveLength(100 - attempts);
  });

  it("pauses itself on a failure ratio over the window", async () => {
    const id = await givenSending(db, { recipients: 60 });
    sink.behaviour.rcpt = (address) => (Number(/\d+/.exec(address)![0]) % 2 === 0 ? { code: 550, message: "5.1.1 No such user" } : undefined);
    await engineWith({ clock, settings: { errorBudget: { consecutive: 1000, ratio: 0.4, window: 20 } } }).deliver();
    const sending = await db.prisma.sending.findUniqueOrThrow({ where: { id } });
    expect(sending.status).toBe("PAUSED");
    expect(sending.statusNote).toMatch(/^\d+% of the last 20 messages failed \(the limit is 40%\)/);
  });

  it("does not send a sending found long after its launch date: it waits, paused, until resumed", async () => {
    const launchAt = new Date(clock.now().getTime() - 2 * 60 * 60_000);
    const id = await givenSending(db, { recipients: 5, launchAt });
    const { deliver, recording, engine } = engineWith({ clock, settings: { lateLaunchLimitMinutes: 30 } });

    const report = await engine.tick();
    await engine.idle();

    expect(report.lateLaunches).toEqual([id]);
    expect(sink.received).toHaveLength(0);
    const sending = await db.prisma.sending.findUniqueOrThrow({ where: { id } });
    expect(sending).toMatchObject({ status: "PAUSED", leaseOwner: null, startedAt: null });
    expect(sending.statusNote).toContain("2 hours");
    expect(recording.last("late-launch")).toEqual({ kind: "late-launch", launchAt });
    expect(await db.prisma.auditEvent.findFirst({ where: { sendingId: id } })).toMatchObject({ fromStatus: "SCHEDULED", toStatus: "PAUSED" });

    await resumeSending(useCases(), { sendingId: id, actor: "UAPPROVER1" });
    await deliver();
    expect(sink.received).toHaveLength(5);
    expect(recording.kinds(id)).toEqual(["late-launch", "started", "completed"]);
  });

  it("sends a sending picked up late but within the limit", async () => {
    const id = await givenSending(db, { recipients: 2, launchAt: new Date(clock.now().getTime() - 10 * 60_000) });
    await engineWith({ clock, settings: { lateLaunchLimitMinutes: 30 } }).deliver();
    expect(sink.received).toHaveLength(2);
    expect((await db.prisma.sending.findUniqueOrThrow({ where: { id } })).status).toBe("COMPLETED");
  });

  it("takes over a sending whose owner died once its lease expires, re-sending the in-flight ones with the same Message-ID", async () => {
    const id = await givenSending(db, { recipients: 30, status: "SENDING" });
    const rows = await recipientsOf(db, id);
    // As a crashed engine leaves it: five sent, three prepared (in flight), its lease still running.
    await db.prisma.recipient.updateMany({ where: { id: { in: rows.slice(0, 5).map((r) => r.id) } }, data: { status: "SENT", attempts: 1 } });
    await db.prisma.recipient.updateMany({ where: { id: { in: rows.slice(5, 8).map((r) => r.id) } }, data: { status: "PREPARED" } });
    await db.prisma.sending.update({
      where: { id },
      data: { startedAt: clock.now(), leaseOwner: "dead-host:1:x", leaseExpiresAt: new Date(clock.now().getTime() + 60_000) },
    });
    // One connection: messages reach the server in the order they are handed over.
    const { deliver, engine } = engineWith({ settings: { concurrency: 1 } });

    await deliver();
    expect(sink.received).toHaveLength(0);

    clock.advance(61_000);
    await deliver();

    expect(sink.received).toHaveLength(25);
    for (const row of rows.slice(0, 5)) expect(sink.countFor(row.email)).toBe(0);
    for (const row of rows.slice(5)) {
      expect(sink.countFor(row.email)).toBe(1);
      expect(sink.received.find((mail) => mail.to === row.email)!.messageId).toBe(`<${id}.r${row.id}@acme.test>`);
    }
    // The prepared ones, left by the dead engine, go first.
    expect(sink.received.slice(0, 3).map((mail) => mail.to).sort()).toEqual(rows.slice(5, 8).map((r) => r.email).sort());
    expect((await db.prisma.sending.findUniqueOrThrow({ where: { id } })).status).toBe("COMPLETED");
    expect(engine.delivering()).toEqual([]);
  });

  it("stops when another engine takes its lease over", async () => {
    const id = await givenSending(db, { recipients: 80 });
    const { deliver } = engineWith({ clock, settings: { prepareWindow: 10 } });
    let receivedAtTakeover = 0;
    sink.behaviour.received = async (_mail, count) => {
      if (count !== 20) return;
      await db.prisma.sending.update({ where: { id }, data: { leaseOwner: "someone-else", leaseExpiresAt: new Date(clock.now().getTime() + 60_000) } });
      receivedAtTakeover = sink.received.length;
    };
    await deliver();
    expect(sink.received.length - receivedAtTakeover).toBeLessThanOrEqual(IN_HAND);
    const sending = await db.prisma.sending.findUniqueOrThrow({ where: { id } });
    expect(sending.leaseOwner).toBe("someone-else");
    expect(sending.status).toBe("SENDING");
  });

  it("shuts down gracefully: the message in hand finishes, the lease is released, another engine finishes", async () => {
    const id = await givenSending(db, { recipients: 100 });
    const first = engineWith({ clock, settings: { prepareWindow: 20 } });
    let stopping: Promise<void> | undefined;
    sink.behaviour.received = (_mail, count) => {
      if (count === 30) stopping = first.engine.stop();
    };
    await first.engine.tick();
    await first.engine.idle();
    await stopping;
    const stoppedAt = sink.received.length;
    expect(stoppedAt).toBeLessThan(100);
    const sending = await db.prisma.sending.findUniqueOrThrow({ where: { id } });
    expect(sending).toMatchObject({ status: "SENDING", leaseOwner: null });
    expect((await statusCounts(db, id)).SENT).toBe(stoppedAt);

    sink.behaviour.received = undefined;
    await engineWith().deliver();
    expect(sink.received).toHaveLength(100);
    expect(new Set(sink.received.map((mail) => mail.to)).size).toBe(100);
  });

  it("delivers on time whatever the notifier does: throwing, or never answering", async () => {
    const id = await givenSending(db, { recipients: 30 });
    const broken: SendingNotifier = {
      sendingChanged: () => new Promise(() => {}),
      deliveryProgress: () => {
        throw new Error("Slack answered 429");
      },
    };
    const failing: SendingNotifier = {
      sendingChanged: async () => {
        throw new Error("Slack answered 500");
      },
      deliveryProgress: () => {},
    };
    await engineWith({ clock, notifier: broken }).deliver();
    const second = await givenSending(db, { recipients: 30 });
    await engineWith({ clock, notifier: failing }).deliver();
    expect(sink.received).toHaveLength(60);
    for (const sendingId of [id, second]) {
      expect((await db.prisma.sending.findUniqueOrThrow({ where: { id: sendingId } })).status).toBe("COMPLETED");
    }
  });
});
