import { afterEach, beforeEach, expect, it } from "vitest";
import { AppError } from "../../src/domain/errors.js";
import { approveSending } from "../../src/sendings/approve-sending.js";
import { beginDecision } from "../../src/sendings/begin-decision.js";
import { cancelSending } from "../../src/sendings/cancel-sending.js";
import { createSendingAnalyzer } from "../../src/sendings/support/current-analysis.js";
import { rejectSending } from "../../src/sendings/reject-sending.js";
import { rescheduleSending } from "../../src/sendings/reschedule-sending.js";
import { createTestDatabase, describeEachDatabase, type TestDatabase } from "../support/databases.js";
import { ManualClock, NOW, RecordingNotifier, givenSending, silentLog } from "../sender/support/fixtures.js";

/** The approval gate's decisions as use cases, without Slack in between: guards, transitions, audit, notice. */
describeEachDatabase("approve, reject, reschedule and cancel", (provider) => {
  let db: TestDatabase;
  let notifier: RecordingNotifier;
  let clock: ManualClock;
  const approverIds = new Set(["UAPPROVER1", "UAPPROVER2", "UREQUESTER"]);
  const deps = (requiredApprovals = 1) => ({
    db,
    notifier,
    clock,
    log: silentLog,
    approvers: { isApprover: async (userId: string) => approverIds.has(userId) },
    policy: { requiredApprovals, allowSelfApproval: false },
    analyzer: createSendingAnalyzer(db, {}),
  });
  const inAnHour = () => new Date(NOW.getTime() + 3600_000);
  const pending = () => givenSending(db, { status: "PENDING_APPROVAL", launchAt: inAnHour(), recipients: 2 });
  const statusOf = async (id: string) => (await db.prisma.sending.findUniqueOrThrow({ where: { id } })).status;
  const codeOf = (promise: Promise<unknown>) =>
    promise.then(
      () => "no error",
      (error) => (error instanceof AppError ? error.code : String(error)),
    );

  beforeEach(async () => {
    db = await createTestDatabase(provider);
    notifier = new RecordingNotifier();
    clock = new ManualClock();
  });
  afterEach(() => db.destroy());

  it("approve: a quorum of distinct approvers schedules it; the same approver twice counts once", async () => {
    const id = await pending();
    expect(await approveSending(deps(2), { sendingId: id, userId: "UAPPROVER1" })).toEqual({ approvals: 1, required: 2, scheduled: false });
    expect(await codeOf(approveSending(deps(2), { sendingId: id, userId: "UAPPROVER1" }))).toBe("ALREADY_DECIDED");
    expect(await statusOf(id)).toBe("PENDING_APPROVAL");
    expect(await approveSending(deps(2), { sendingId: id, userId: "UAPPROVER2" })).toEqual({ approvals: 2, required: 2, scheduled: true });
    expect(await statusOf(id)).toBe("SCHEDULED");
    const audit = await db.prisma.auditEvent.findMany({ where: { sendingId: id, action: "approved" }, orderBy: { id: "asc" } });
    expect(audit.map((a) => [a.actor, a.toStatus])).toEqual([["UAPPROVER1", null], ["UAPPROVER2", "SCHEDULED"]]);
    expect(notifier.events.map((e) => e.event)).toEqual([
      { kind: "approved", by: "UAPPROVER1", approvals: 1, required: 2, scheduled: false },
      { kind: "approved", by: "UAPPROVER2", approvals: 2, required: 2, scheduled: true },
    ]);
  });

  it("approve refuses strangers, the requester, changed content, a passed launch date and what is decided, changing nothing", async () => {
    const id = await pending();
    expect(await codeOf(approveSending(deps(), { sendingId: id, userId: "USTRANGER" }))).toBe("NOT_ALLOWED");
    expect(await codeOf(approveSending(deps(), { sendingId: id, userId: "UREQUESTER" }))).toBe("SELF_APPROVAL");
    expect(await codeOf(approveSending(deps(), { sendingId: id, userId: "UAPPROVER1", contentHash: "an-older-hash" }))).toBe("CONFLICT");
    expect(await codeOf(approveSending(deps(), { sendingId: "snd_0000000000", userId: "UAPPROVER1" }))).toBe("NOT_FOUND");
    clock.advance(2 * 3600_000);
    expect(await codeOf(approveSending(deps(), { sendingId: id, userId: "UAPPROVER1" }))).toBe("LAUNCH_IN_PAST");
    expect(await statusOf(id)).toBe("PENDING_APPROVAL");
    expect(await db.prisma.decision.count()).toBe(0);
    expect(notifier.events).toEqual([]);

    const rejected = await givenSending(db, { status: "REJECTED", launchAt: inAnHour() });
    expect(await codeOf(approveSending(deps(), { sendingId: rejected, userId: "UAPPROVER1" }))).toBe("ALREADY_DECIDED");
  });

  it("reject: an approver with a reason; blank reasons, strangers and decided sendings are refused", async () => {
    const id = await pending();
    expect(await codeOf(rejectSending(deps(), { sendingId: id, userId: "UAPPROVER1", reason: "  \n " }))).toBe("VALIDATION");
    expect(await codeOf(rejectSending(deps(), { sendingId: id, userId: "USTRANGER", reason: "no" }))).toBe("NOT_ALLOWED");
    expect(await codeOf(rejectSending(deps(), { sendingId: id, userId: "UAPPROVER1", reason: "x".repeat(2001) }))).toBe("VALIDATION");
    expect(await statusOf(id)).toBe("PENDING_APPROVAL");

    await rejectSending(deps(), { sendingId: id, userId: "UAPPROVER1", reason: "  Wrong discount code " });
    expect(await statusOf(id)).toBe("REJECTED");
    expect(await db.prisma.decision.findFirstOrThrow({ where: { sendingId: id } })).toMatchObject({ kind: "REJECTION", reason: "Wrong discount code" });
    expect(notifier.events.map((e) => e.event)).toEqual([{ kind: "rejected", by: "UAPPROVER1", reason: "Wrong discount code" }]);
    expect(await codeOf(rejectSending(deps(), { sendingId: id, userId: "UAPPROVER2", reason: "too" }))).not.toBe("no error");
    expect(await db.prisma.decision.count({ where: { sendingId: id } })).toBe(1);
  });

  it("reschedule: pending or scheduled, never into the past, never once delivering", async () => {
    const id = await pending();
    expect(await codeOf(rescheduleSending(deps(), { sendingId: id, userId: "UAPPROVER1", launchAt: new Date(NOW.getTime() - 1) }))).toBe("LAUNCH_IN_PAST");
    expect(await codeOf(rescheduleSending(deps(), { sendingId: id, userId: "UAPPROVER1", launchAt: new Date(Number.NaN) }))).toBe("VALIDATION");
    expect(await codeOf(rescheduleSending(deps(), { sendingId: id, userId: "USTRANGER", launchAt: inAnHour() }))).toBe("NOT_ALLOWED");
    const later = new Date(NOW.getTime() + 86_400_000);
    expect(await rescheduleSending(deps(), { sendingId: id, userId: "UREQUESTER", launchAt: later })).toEqual({ from: inAnHour(), to: later });
    expect((await db.prisma.sending.findUniqueOrThrow({ where: { id } })).launchAt).toEqual(later);
    expect(await db.prisma.auditEvent.count({ where: { sendingId: id, action: "rescheduled", actor: "UREQUESTER" } })).toBe(1);

    const delivering = await givenSending(db, { status: "SENDING", launchAt: inAnHour() });
    expect(await codeOf(rescheduleSending(deps(), { sendingId: delivering, userId: "UAPPROVER1", launchAt: later }))).toBe("INVALID_STATE");
    expect((await db.prisma.sending.findUniqueOrThrow({ where: { id: delivering } })).launchAt).toEqual(inAnHour());
  });

  it("cancel at approval time: a reason, then every recipient is cancelled; a rejected sending cannot be cancelled", async () => {
    const id = await pending();
    expect(await codeOf(cancelSending(deps(), { sendingId: id, actor: "UAPPROVER1", reason: " ", prepared: "drop" }))).toBe("VALIDATION");
    await cancelSending(deps(), { sendingId: id, actor: "UAPPROVER1", reason: "Campaign postponed", prepared: "drop" });
    expect(await statusOf(id)).toBe("CANCELLED");
    expect(await db.prisma.recipient.count({ where: { sendingId: id, status: "CANCELLED" } })).toBe(2);
    const rejected = await givenSending(db, { status: "REJECTED", launchAt: inAnHour() });
    expect(await codeOf(cancelSending(deps(), { sendingId: rejected, actor: "UAPPROVER1", reason: "late", prepared: "drop" }))).not.toBe("no error");
    expect(await statusOf(rejected)).toBe("REJECTED");
  });

  it("a late launch approved with a new date: rescheduled, then approved, each audited and told", async () => {
    const id = await givenSending(db, { status: "PENDING_APPROVAL", launchAt: new Date(NOW.getTime() - 60_000), recipients: 1 });
    const refused = await approveSending(deps(), { sendingId: id, userId: "UAPPROVER1" }).catch((error: AppError) => error);
    expect(refused).toMatchObject({ code: "LAUNCH_IN_PAST", details: { name: expect.any(String) } });
    await approveSending(deps(), { sendingId: id, userId: "UAPPROVER1", launchAt: inAnHour() });
    expect(await db.prisma.sending.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: "SCHEDULED", launchAt: inAnHour() });
    expect(notifier.events.map((e) => e.event.kind)).toEqual(["rescheduled", "approved"]);
  });

  it("beginning a decision checks who asks and whether the status still allows it, before any form opens", async () => {
    const id = await pending();
    expect(await beginDecision(deps(), { sendingId: id, userId: "UAPPROVER1", decision: "reject" })).toMatchObject({ id, status: "PENDING_APPROVAL" });
    // Someone who is neither an approver nor the requester may not even open the form.
    expect(await codeOf(beginDecision(deps(), { sendingId: id, userId: "UPASSERBY", decision: "reject" }))).toBe("NOT_ALLOWED");
    expect(await codeOf(beginDecision(deps(), { sendingId: id, userId: "UPASSERBY", decision: "inspect" }))).toBe("NOT_ALLOWED");
    const completed = await givenSending(db, { status: "COMPLETED", launchAt: inAnHour() });
    expect(await codeOf(beginDecision(deps(), { sendingId: completed, userId: "UAPPROVER1", decision: "reject" }))).toBe("ALREADY_DECIDED");
    expect(await codeOf(beginDecision(deps(), { sendingId: completed, userId: "UAPPROVER1", decision: "reschedule" }))).toBe("INVALID_STATE");
    expect(await codeOf(beginDecision(deps(), { sendingId: completed, userId: "UAPPROVER1", decision: "cancel" }))).toBe("INVALID_STATE");
    expect(await beginDecision(deps(), { sendingId: completed, userId: "UAPPROVER1", decision: "inspect" })).toMatchObject({ status: "COMPLETED" });
    expect(await codeOf(beginDecision(deps(), { sendingId: "snd_nothere00", userId: "UAPPROVER1", decision: "cancel" }))).toBe("NOT_FOUND");
  });

  it("approve is refused while an analysis error stands, naming what blocks it", async () => {
    const id = await pending();
    await db.prisma.sending.update({ where: { id }, data: { html: "<p>{{#if vip}}unclosed</p>" } });
    const refused = await approveSending(deps(), { sendingId: id, userId: "UAPPROVER1" }).catch((error: AppError) => error);
    expect(refused).toMatchObject({ code: "BLOCKED", details: { checks: [expect.objectContaining({ id: expect.any(String), title: expect.any(String) })] } });
    expect(await statusOf(id)).toBe("PENDING_APPROVAL");
    expect(await db.prisma.decision.count({ where: { sendingId: id } })).toBe(0);
  });
});
