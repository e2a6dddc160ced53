import { afterEach, beforeEach, expect, it } from "vitest";
import { ActionId, BlockId, CallbackId } from "../../src/slack/ids.js";
import { describeEachDatabase } from "../support/databases.js";
import { blocksOf } from "../support/slack-api.js";
import { APPROVALS_CHANNEL, cardActionIds, givenPendingSending, NOW, settle, startSlackHarness, type SlackHarness } from "../support/slack-harness.js";
import { blockAction, interactionBody, postSigned, sign } from "../support/slack-requests.js";

const approveValue = (s: { id: string; contentHash: string }) => JSON.stringify({ id: s.id, hash: s.contentHash });
const clickOnCard = async (h: SlackHarness, user: string, sendingId: string, actionId: string) =>
  h.click(user, await h.approvalMessage(sendingId), actionId);
const statusOf = async (h: SlackHarness, id: string) =>
  (await h.db.prisma.sending.findUniqueOrThrow({ where: { id } })).status;
const actionIds = cardActionIds;

describeEachDatabase("approval through Slack", (provider) => {
  let h: SlackHarness;
  beforeEach(async () => {
    h = await startSlackHarness(provider);
  });
  afterEach(() => h.close());

  it("posts a new sending to the approvals channel with its buttons and remembers where", async () => {
    const s = await givenPendingSending(h);
    const [post] = h.slack.called("chat.postMessage");
    expect(post?.args.channel).toBe(APPROVALS_CHANNEL);
    const blocks = blocksOf(post!);
    expect(actionIds(blocks)).toEqual([ActionId.approve, ActionId.preview, ActionId.reject, ActionId.analysis, ActionId.reschedule, ActionId.cancel]);
    expect(JSON.stringify(blocks)).toContain("Spring newsletter");
    expect(JSON.stringify(blocks)).toMatch(/<!date\^\d+\^/);
    const stored = await h.db.prisma.sending.findUniqueOrThrow({ where: { id: s.id } });
    expect(stored.slackChannel).toBe(APPROVALS_CHANNEL);
    expect(stored.slackTs).toMatch(/^\d{10}\.\d{6}$/);
    expect(h.slack.workspace.message(APPROVALS_CHANNEL, stored.slackTs!)?.blocks).toEqual(blocks);
  });

  it("an approver's click schedules it, updates the message in place and writes the thread", async () => {
    const s = await givenPendingSending(h);
    const ts = (await h.db.prisma.sending.findUniqueOrThrow({ where: { id: s.id } })).slackTs;
    h.slack.resetRecords();
    await clickOnCard(h, "UAPPROVER1", s.id, ActionId.approve);
    await settle(h, () => h.slack.called("chat.update").length === 1 && h.slack.called("chat.postMessage").length === 1);
    expect(await statusOf(h, s.id)).toBe("SCHEDULED");
    const update = h.slack.called("chat.update")[0]!;
    expect(update.args.ts).toBe(ts);
    const blocks = blocksOf(update);
    expect(actionIds(blocks)).toEqual([ActionId.preview, ActionId.analysis, ActionId.reschedule, ActionId.cancel]);
    expect(JSON.stringify(blocks)).toContain("Approved by <@UAPPROVER1>");
    const thread = h.slack.called("chat.postMessage")[0]!;
    expect(thread.args.thread_ts).toBe(ts);
    expect(thread.args.text).toContain("<@UAPPROVER1> approved");
    const audit = await h.db.prisma.auditEvent.findMany({ where: { sendingId: s.id, action: "approved" } });
    expect(audit).toMatchObject([{ actor: "UAPPROVER1", fromStatus: "PENDING_APPROVAL", toStatus: "SCHEDULED" }]);
  });

  it("a member of an approver user group may approve", async () => {
    h.slack.workspace.userGroups.set("SAPPROVERS", ["UGROUPMEMBER"]);
    const s = await givenPendingSending(h);
    await clickOnCard(h, "UGROUPMEMBER", s.id, ActionId.approve);
    await settle(h, async () => (await statusOf(h, s.id)) === "SCHEDULED");
    expect(h.slack.called("usergroups.users.list")[0]?.args.usergroup).toBe("SAPPROVERS");
  });

  it("refuses a stranger ephemerally and changes nothing", async () => {
    const s = await givenPendingSending(h);
    h.slack.resetRecords();
    await clickOnCard(h, "USTRANGER", s.id, ActionId.approve);
    await settle(h, () => h.slack.called("chat.postEphemeral").length === 1);
    const ephemeral = h.slack.called("chat.postEphemeral")[0]!;
    expect(ephemeral.args).toMatchObject({ user: "USTRANGER", channel: APPROVALS_CHANNEL });
    expect(String(ephemeral.args.text)).toContain("Only the configured approvers");
    expect(await statusOf(h, s.id)).toBe("PENDING_APPROVAL");
    expect(h.slack.called("chat.update")).toHaveLength(0);
    expect(await h.db.prisma.decision.count()).toBe(0);
  });

  it("refuses the requester's own approval (four-eyes)", async () => {
    const s = await givenPendingSending(h, { requestedBy: "UAPPROVER2" });
    h.slack.resetRecords();
    await clickOnCard(h, "UAPPROVER2", s.id, ActionId.approve);
    await settle(h, () => h.slack.called("chat.postEphemeral").length === 1);
    expect(String(h.slack.called("chat.postEphemeral")[0]!.args.text)).toContain("four-eyes");
    expect(await statusOf(h, s.id)).toBe("PENDING_APPROVAL");
    expect(await h.db.prisma.decision.count()).toBe(0);
  });

  it("two approvers clicking at once produce exactly one transition; the late one is told who decided", async () => {
    const s = await givenPendingSending(h);
    h.slack.resetRecords();
    const card = await h.approvalMessage(s.id);
    await Promise.all(["UAPPROVER1", "UAPPROVER2"].map((userId) => h.click(userId, card, ActionId.approve)));
    await settle(h, () => h.slack.called("chat.postEphemeral").length === 1 && h.slack.called("chat.update").length === 1);
    expect(await statusOf(h, s.id)).toBe("SCHEDULED");
    const transitions = await h.db.prisma.auditEvent.findMany({ where: { sendingId: s.id, toStatus: "SCHEDULED" } });
    expect(transitions).toHaveLength(1);
    expect(await h.db.prisma.decision.count({ where: { sendingId: s.id } })).toBe(1);
    const late = h.slack.called("chat.postEphemeral")[0]!;
    expect(String(late.args.text)).toContain(`Already scheduled by <@${transitions[0]!.actor}>`);
    expect(late.args.user).not.toBe(transitions[0]!.actor);
  });

  it("a double click by one approver counts once", async () => {
    const s = await givenPendingSending(h);
    const card = await h.approvalMessage(s.id);
    await Promise.all([h.click("UAPPROVER1", card, ActionId.approve), h.click("UAPPROVER1", card, ActionId.approve)]);
    await settle(h, () => h.slack.called("chat.postEphemeral").length === 1);
    expect(await h.db.prisma.decision.count({ where: { sendingId: s.id } })).toBe(1);
    expect(await h.db.prisma.auditEvent.count({ where: { sendingId: s.id, action: "approved" } })).toBe(1);
  });

  it("a request with a bad signature gets 401 and changes nothing", async () => {
    const s = await givenPendingSending(h);
    h.slack.resetRecords();
    const body = interactionBody(blockAction({ actionId: ActionId.approve, value: approveValue(s), userId: "UAPPROVER1" }));
    const forged = await postSigned(h.baseUrl, body, sign(body, undefined, "not-the-signing-secret"));
    expect(forged.status).toBe(401);
    const stale = await postSigned(h.baseUrl, body, sign(body, Math.floor(Date.now() / 1000) - 3600));
    expect(stale.status).toBe(401);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await statusOf(h, s.id)).toBe("PENDING_APPROVAL");
    expect(h.slack.calls.filter((c) => c.method !== "auth.test")).toEqual([]);
  });

  it("reject asks for a reason: empty or blank gets a field error, a real one rejects and tells the requester", async () => {
    const s = await givenPendingSending(h);
    h.slack.resetRecords();
    await clickOnCard(h, "UAPPROVER1", s.id, ActionId.reject);
    await settle(h, () => h.slack.called("views.open").length === 1);
    const modal = h.modal("UAPPROVER1");
    expect(modal.view.callback_id).toBe(CallbackId.reject);

    // Slack's client keeps an empty required field from being submitted at all.
    expect(await h.slack.submit("UAPPROVER1", modal.id)).toEqual({ kind: "errors", errors: { [BlockId.reason]: expect.any(String) } });
    // A blank one reaches sendgate, which says what is missing in the field.
    h.slack.fill("UAPPROVER1", modal.id, BlockId.reason, "   \n  ");
    expect(await h.slack.submit("UAPPROVER1", modal.id)).toEqual({ kind: "errors", errors: { [BlockId.reason]: "A reason is required." } });
    expect(await statusOf(h, s.id)).toBe("PENDING_APPROVAL");

    h.slack.fill("UAPPROVER1", modal.id, BlockId.reason, "Wrong <!channel> discount code");
    expect(await h.slack.submit("UAPPROVER1", modal.id)).toEqual({ kind: "closed" });
    expect(await statusOf(h, s.id)).toBe("REJECTED");
    await settle(h, () => h.slack.called("chat.postMessage").length === 2);
    const [thread, dm] = h.slack.called("chat.postMessage");
    expect(thread!.args.thread_ts).toBeTruthy();
    expect(dm!.args.channel).toBe(s.requestedBy);
    const inbox = h.slack.workspace.history(h.slack.workspace.imWith(s.requestedBy).id);
    expect(inbox.map((m) => m.text)).toEqual([String(dm!.args.text)]);
    expect(String(dm!.args.text)).toContain("Wrong &lt;!channel&gt; discount code");
    expect(String(dm!.args.text)).not.toContain("<!channel>");
    // The last update is the rejection's; one still in flight from the intake may land before it.
    const update = blocksOf(h.slack.called("chat.update").at(-1)!);
    expect(actionIds(update)).toEqual([]);
    expect(JSON.stringify(update)).toContain("Rejected by <@UAPPROVER1>");
    const decision = await h.db.prisma.decision.findFirstOrThrow({ where: { sendingId: s.id } });
    expect(decision).toMatchObject({ kind: "REJECTION", userId: "UAPPROVER1", reason: "Wrong <!channel> discount code" });
  });

  it("reschedule refuses a date in the past in the modal, then moves the launch and says so", async () => {
    const s = await givenPendingSending(h);
    h.slack.resetRecords();
    await clickOnCard(h, "UAPPROVER1", s.id, ActionId.reschedule);
    await settle(h, () => h.slack.called("views.open").length === 1);
    const modal = h.modal("UAPPROVER1");
    const launchAt = (await h.db.prisma.sending.findUniqueOrThrow({ where: { id: s.id } })).launchAt;
    expect(JSON.stringify(modal.view.blocks)).toContain(`"initial_date_time":${launchAt.getTime() / 1000}`);

    h.slack.fill("UAPPROVER1", modal.id, BlockId.launchAt, NOW.getTime() / 1000 - 60);
    const past = await h.slack.submit("UAPPROVER1", modal.id);
    expect(past).toMatchObject({ kind: "errors", errors: { [BlockId.launchAt]: expect.stringContaining("future") } });
    expect((await h.db.prisma.sending.findUniqueOrThrow({ where: { id: s.id } })).launchAt).toEqual(launchAt);

    const next = new Date(NOW.getTime() + 3 * 24 * 3600_000);
    h.slack.fill("UAPPROVER1", modal.id, BlockId.launchAt, next.getTime() / 1000);
    expect(await h.slack.submit("UAPPROVER1", modal.id)).toEqual({ kind: "closed" });
    expect((await h.db.prisma.sending.findUniqueOrThrow({ where: { id: s.id } })).launchAt).toEqual(next);
    await settle(h, () => h.slack.called("chat.postMessage").length === 1);
    expect(String(h.slack.called("chat.postMessage")[0]!.args.text)).toContain(`<!date^${next.getTime() / 1000}^`);
    expect(JSON.stringify(blocksOf(h.slack.called("chat.update")[0]!))).toContain(`<!date^${next.getTime() / 1000}^`);
  });

  it("approving after the launch date passed asks for a new date or send now, never sends late silently", async () => {
    const s = await givenPendingSending(h, { launchAt: new Date(NOW.getTime() + 60_000) });
    h.clock.set(new Date(NOW.getTime() + 3600_000));
    h.slack.resetRecords();
    await clickOnCard(h, "UAPPROVER1", s.id, ActionId.approve);
    await settle(h, () => h.slack.called("views.open").length === 1);
    expect(await statusOf(h, s.id)).toBe("PENDING_APPROVAL");
    const modal = h.modal("UAPPROVER1");
    expect(JSON.stringify(modal.view)).toContain("Send now");
    h.slack.fill("UAPPROVER1", modal.id, BlockId.when, "now");
    expect(await h.slack.submit("UAPPROVER1", modal.id)).toEqual({ kind: "closed" });
    const stored = await h.db.prisma.sending.findUniqueOrThrow({ where: { id: s.id } });
    expect(stored.status).toBe("SCHEDULED");
    expect(stored.launchAt.getTime() - h.clock.now().getTime()).toBe(5000);
  });
});
