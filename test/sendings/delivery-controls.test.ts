import { afterEach, beforeEach, expect, it } from "vitest";
import { AppError } from "../../src/domain/errors.js";
import { cancelSending } from "../../src/sendings/cancel-sending.js";
import type { ControlDeps } from "../../src/sendings/support/deps.js";
import { pauseSending } from "../../src/sendings/pause-sending.js";
import { resumeSending } from "../../src/sendings/resume-sending.js";
import { createTestDatabase, describeEachDatabase, type TestDatabase } from "../support/databases.js";
import { countPrepared, ManualClock, RecordingNotifier, approversOf, givenSending, recipientsOf, silentLog, statusCounts } from "../sender/support/fixtures.js";

describeEachDatabase("pause, resume and cancel", (provider) => {
  let db: TestDatabase;
  let notifier: RecordingNotifier;
  let deps: ControlDeps;
  beforeEach(async () => {
    db = await createTestDatabase(provider);
    notifier = new RecordingNotifier();
    deps = { db, notifier, clock: new ManualClock(), log: silentLog, approvers: approversOf("UAPPROVER1", "U1") };
  });
  afterEach(() => db.destroy());

  const codeOf = (promise: Promise<unknown>) =>
    promise.then(
      () => "no error",
      (error) => (error instanceof AppError ? error.code : String(error)),
    );

  it("pause and resume write the status, an audit row each, and tell the notifier", async () => {
    const id = await givenSending(db, { status: "SENDING", recipients: 2 });
    await db.prisma.sending.update({ where: { id }, data: { statusNote: "an earlier note" } });
    await pauseSending(deps, { sendingId: id, actor: "UAPPROVER1", reason: "  wrong link " });
    expect(await db.prisma.sending.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: "PAUSED", statusNote: null });
    await resumeSending(deps, { sendingId: id, actor: "UREQUESTER" });
    expect((await db.prisma.sending.findUniqueOrThrow({ where: { id } })).status).toBe("SENDING");
    const audit = await db.prisma.auditEvent.findMany({ where: { sendingId: id }, orderBy: { id: "asc" } });
    expect(audit.map((a) => [a.actor, a.action, a.reason, a.fromStatus, a.toStatus])).toEqual([
      ["UAPPROVER1", "paused", "wrong link", "SENDING", "PAUSED"],
      ["UREQUESTER", "resumed", null, "PAUSED", "SENDING"],
    ]);
    expect(notifier.events.map((e) => e.event)).toEqual([
      { kind: "paused", by: "UAPPROVER1", reason: "wrong link" },
      { kind: "resumed", by: "UREQUESTER" },
    ]);
  });

  it("refuses pause, resume and cancel to someone who is neither an approver nor the requester, and changes nothing", async () => {
    const sending = await givenSending(db, { status: "SENDING", recipients: 2 });
    const paused = await givenSending(db, { status: "PAUSED", recipients: 2 });
    expect(await codeOf(pauseSending(deps, { sendingId: sending, actor: "UPASSERBY" }))).toBe("NOT_ALLOWED");
    expect(await codeOf(resumeSending(deps, { sendingId: paused, actor: "UPASSERBY" }))).toBe("NOT_ALLOWED");
    expect(await codeOf(cancelSending(deps, { sendingId: sending, actor: "UPASSERBY", reason: "mine now", prepared: "drop" }))).toBe("NOT_ALLOWED");
    expect(await db.prisma.sending.findUniqueOrThrow({ where: { id: sending } })).toMatchObject({ status: "SENDING" });
    expect(await db.prisma.sending.findUniqueOrThrow({ where: { id: paused } })).toMatchObject({ status: "PAUSED" });
    expect(await db.prisma.auditEvent.count()).toBe(0);
    expect(notifier.events).toEqual([]);
  });

  it("refuses to pause what is not sending, or to resume what is not paused, and changes nothing", async () => {
    const scheduled = await givenSending(db, { status: "SCHEDULED" });
    const completed = await givenSending(db, { status: "COMPLETED" });
    expect(await codeOf(pauseSending(deps, { sendingId: scheduled, actor: "U1" }))).toBe("INVALID_STATE");
    expect(await codeOf(pauseSending(deps, { sendingId: completed, actor: "U1" }))).toBe("INVALID_STATE");
    expect(await codeOf(resumeSending(deps, { sendingId: scheduled, actor: "U1" }))).toBe("INVALID_STATE");
    expect(await codeOf(pauseSending(deps, { sendingId: "snd_nothere00", actor: "U1" }))).toBe("NOT_FOUND");
    expect(await db.prisma.auditEvent.count()).toBe(0);
    expect(notifier.events).toEqual([]);
  });

  it("cancel needs a reason and a choice for the prepared messages", async () => {
    const id = await givenSending(db, { status: "SENDING", recipients: 3 });
    for (const reason of ["", "   \n "]) {
      expect(await codeOf(cancelSending(deps, { sendingId: id, actor: "U1", reason, prepared: "drop" }))).toBe("VALIDATION");
    }
    expect(await codeOf(cancelSending(deps, { sendingId: id, actor: "U1", reason: "x", prepared: "maybe" as never }))).toBe("VALIDATION");
    expect((await db.prisma.sending.findUniqueOrThrow({ where: { id } })).status).toBe("SENDING");
    expect(await statusCounts(db, id)).toEqual({ QUEUED: 3 });
  });

  it("cancel is allowed from pending, scheduled, sending and paused, and from nothing else", async () => {
    for (const status of ["PENDING_APPROVAL", "SCHEDULED", "SENDING", "PAUSED"] as const) {
      const id = await givenSending(db, { status, recipients: 2 });
      const result = await cancelSending(deps, { sendingId: id, actor: "U1", reason: "not needed", prepared: "deliver" });
      expect(result).toEqual({ cancelledRecipients: 2, preparedCount: 0, prepared: "none" });
      const sending = await db.prisma.sending.findUniqueOrThrow({ where: { id } });
      expect(sending).toMatchObject({ status: "CANCELLED", cancelPrepared: "deliver" });
      // Nothing prepared to deliver: finished at once.
      expect(sending.finishedAt).not.toBeNull();
    }
    for (const status of ["COMPLETED", "REJECTED", "CANCELLED"] as const) {
      const id = await givenSending(db, { status, recipients: 1 });
      expect(await codeOf(cancelSending(deps, { sendingId: id, actor: "U1", reason: "x", prepared: "drop" }))).toBe("INVALID_STATE");
    }
  });

  it("drop cancels queued and prepared recipients; deliver cancels the queued ones and counts the prepared", async () => {
    const drop = await givenSending(db, { status: "PAUSED", recipients: 10 });
    const deliver = await givenSending(db, { status: "PAUSED", recipients: 10 });
    for (const id of [drop, deliver]) {
      const rows = await recipientsOf(db, id);
      await db.prisma.recipient.updateMany({ where: { id: { in: rows.slice(0, 2).map((r) => r.id) } }, data: { status: "SENT" } });
      await db.prisma.recipient.updateMany({ where: { id: { in: rows.slice(2, 5).map((r) => r.id) } }, data: { status: "PREPARED" } });
      expect(await countPrepared(db, id)).toBe(3);
    }

    expect(await cancelSending(deps, { sendingId: drop, actor: "U1", reason: "wrong list", prepared: "drop" })).toEqual({
      cancelledRecipients: 8,
      preparedCount: 3,
      prepared: "drop",
    });
    expect(await statusCounts(db, drop)).toEqual({ SENT: 2, CANCELLED: 8 });
    expect((await db.prisma.sending.findUniqueOrThrow({ where: { id: drop } })).finishedAt).not.toBeNull();

    expect(await cancelSending(deps, { sendingId: deliver, actor: "U1", reason: "enough", prepared: "deliver" })).toEqual({
      cancelledRecipients: 5,
      preparedCount: 3,
      prepared: "deliver",
    });
    expect(await statusCounts(db, deliver)).toEqual({ SENT: 2, PREPARED: 3, CANCELLED: 5 });
    // The engine finishes it once the three are out.
    expect((await db.prisma.sending.findUniqueOrThrow({ where: { id: deliver } })).finishedAt).toBeNull();

    const audit = await db.prisma.auditEvent.findFirstOrThrow({ where: { sendingId: deliver } });
    expect(audit).toMatchObject({ actor: "U1", action: "cancelled", reason: "enough", fromStatus: "PAUSED", toStatus: "CANCELLED" });
    expect(JSON.parse(audit.details!)).toEqual({ prepared: "deliver", preparedCount: 3, cancelledRecipients: 5 });
    expect(notifier.last("cancelled")).toEqual({ kind: "cancelled", by: "U1", reason: "enough", prepared: "deliver", preparedCount: 3 });
  });

  it("cancelling an unknown sending is refused", async () => {
    expect(await codeOf(cancelSending(deps, { sendingId: "snd_nothere00", actor: "U1", reason: "x", prepared: "drop" }))).toBe("NOT_FOUND");
  });
});
