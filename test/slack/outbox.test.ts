import { afterEach, beforeEach, expect, it } from "vitest";
import { cancelSending } from "../../src/sendings/cancel-sending.js";
import { rescheduleSending } from "../../src/sendings/reschedule-sending.js";
import { describeEachDatabase } from "../support/databases.js";
import { APPROVALS_CHANNEL, givenPendingSending, NOW, startSlackHarness, type SlackHarness } from "../support/slack-harness.js";

const threadOf = (h: SlackHarness, ts: string) => h.slack.workspace.replies(APPROVALS_CHANNEL, ts).map((m) => m.text);

describeEachDatabase("what sendgate owes Slack (the outbox)", (provider) => {
  let h: SlackHarness;
  beforeEach(async () => {
    h = await startSlackHarness(provider);
  });
  afterEach(() => h.close());

  it("while Slack fails, every change is kept; when it answers, the thread tells them all, in order", async () => {
    const s = await givenPendingSending(h);
    const card = await h.approvalMessage(s.id);
    expect(threadOf(h, card.ts)).toEqual([]);
    // Slack answers 503 to the next few card updates: every attempt of the first change fails.
    for (let i = 0; i < 6; i += 1) h.slack.failNext("chat.update", { status: 503, error: "service_unavailable" });

    const later = new Date(NOW.getTime() + 3 * 3600_000);
    await rescheduleSending(h.deps, { sendingId: s.id, userId: "UAPPROVER1", launchAt: later });
    await cancelSending(h.deps, { sendingId: s.id, actor: "UAPPROVER2", reason: "Postponed to spring", prepared: "drop" });
    // The use cases returned at once; the first attempt to tell Slack runs beside them.
    await h.notifier.flush();

    // Decided and kept, not told: both changes wait in the outbox, the second behind the first.
    expect((await h.db.prisma.sending.findUniqueOrThrow({ where: { id: s.id } })).status).toBe("CANCELLED");
    const waiting = await h.db.prisma.outboxMessage.findMany({ where: { sendingId: s.id, deliveredAt: null }, orderBy: { id: "asc" } });
    expect(waiting.map((m) => (JSON.parse(m.event) as { kind: string }).kind)).toEqual(["rescheduled", "cancelled"]);
    expect(waiting[0]!.attempts).toBeGreaterThan(0);
    expect(threadOf(h, card.ts)).toEqual([]);

    // Time passes, Slack answers again; the retries go out with their backoff, oldest first.
    for (let round = 0; round < 10 && threadOf(h, card.ts).length < 2; round += 1) {
      h.clock.set(new Date(h.clock.now().getTime() + 5 * 60_000));
      await h.notifier.flush();
    }
    const thread = threadOf(h, card.ts);
    expect(thread, JSON.stringify(thread)).toHaveLength(2);
    expect(thread[0]).toMatch(/^:calendar: <@UAPPROVER1> moved the launch from /);
    expect(thread[1]).toBe(":x: <@UAPPROVER2> cancelled it: Postponed to spring.");
    expect(h.slack.workspace.message(APPROVALS_CHANNEL, card.ts)?.text).toContain("Cancelled");
    expect(await h.db.prisma.outboxMessage.count({ where: { sendingId: s.id, deliveredAt: null } })).toBe(0);
  });

  it("a refusal by Slack that retrying cannot fix is given up after a few attempts, and the story goes on", async () => {
    const s = await givenPendingSending(h);
    const card = await h.approvalMessage(s.id);
    // Slack refuses the rescheduled note three times (ok: false), as it does what it will never take.
    for (let i = 0; i < 3; i += 1) h.slack.failNext("chat.postMessage", { status: 200, error: "msg_too_long" });
    const later = new Date(NOW.getTime() + 3 * 3600_000);
    await rescheduleSending(h.deps, { sendingId: s.id, userId: "UAPPROVER1", launchAt: later });
    await cancelSending(h.deps, { sendingId: s.id, actor: "UAPPROVER2", reason: "Not now", prepared: "drop" });
    for (let round = 0; round < 10 && threadOf(h, card.ts).length < 1; round += 1) {
      h.clock.set(new Date(h.clock.now().getTime() + 5 * 60_000));
      await h.notifier.flush();
    }
    const given = await h.db.prisma.outboxMessage.findMany({ where: { sendingId: s.id }, orderBy: { id: "asc" } });
    const rescheduled = given.find((m) => m.event.includes('"rescheduled"'))!;
    expect(rescheduled).toMatchObject({ attempts: 3, lastError: expect.stringContaining("msg_too_long") });
    expect(rescheduled.deliveredAt).not.toBeNull();
    // The next change was told after it: the cancel's note is in the thread, the card shows it.
    expect(threadOf(h, card.ts)).toEqual([":x: <@UAPPROVER2> cancelled it: Not now."]);
    expect(h.slack.workspace.message(APPROVALS_CHANNEL, card.ts)?.text).toContain("Cancelled");
  });
});
