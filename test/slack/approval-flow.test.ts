import { afterEach, beforeEach, expect, it } from "vitest";
import { ActionId, BlockId, CallbackId, InputActionId } from "../../src/slack/ids.js";
import { describeEachDatabase } from "../support/databases.js";
import { givenPendingSending, NOW, settle, startSlackHarness, type SlackHarness } from "../support/slack-harness.js";
import { APPROVALS_CHANNEL, blockAction, interactionBody, postSigned, sign, viewSubmission } from "../support/slack-requests.js";

const approveValue = (s: { id: string; contentHash: string }) => JSON.stringify({ id: s.id, hash: s.contentHash });
const statusOf = async (h: SlackHarness, id: string) =>
  (await h.db.prisma.sending.findUniqueOrThrow({ where: { id } })).status;
const actionIds = (blocks: Array<Record<string, unknown>>) =>
  blocks.flatMap((b) => ((b.elements as Array<{ action_id?: string }>) ?? []).map((e) => e.action_id).filter(Boolean));

describeEachDatabase("approval through Slack", (provider) => {
  let h: SlackHarness;
  beforeEach(async () => {
    h = await startSlackHarness(provider);
  });
  afterEach(() => h.close());

  it("posts a new sending to the approvals channel with its buttons and remembers where", async () => {
    const s = await givenPendingSending(h);
    const [post] = h.slack.called("chat.postMessage");
    expect(post?.body.channel).toBe(APPROVALS_CHANNEL);
    const blocks = h.slack.blocksOf(post!);
    expect(actionIds(blocks)).toEqual([ActionId.approve, ActionId.reject, ActionId.preview, ActionId.analysis, ActionId.reschedule, ActionId.cancel]);
    expect(JSON.stringify(blocks)).toContain("Spring newsletter");
    expect(JSON.stringify(blocks)).toMatch(/<!date\^\d+\^/);
    const stored = await h.db.prisma.sending.findUniqueOrThrow({ where: { id: s.id } });
    expect(stored.slackChannel).toBe(APPROVALS_CHANNEL);
    expect(stored.slackTs).toMatch(/^1700000000\./);
  });

  it("an approver's click schedules it, updates the message in place and writes the thread", async () => {
    const s = await givenPendingSending(h);
    const ts = (await h.db.prisma.sending.findUniqueOrThrow({ where: { id: s.id } })).slackTs;
    h.slack.reset();
    const res = await postSigned(h.baseUrl, interactionBody(blockAction({ actionId: ActionId.approve, value: approveValue(s), userId: "UAPPROVER1" })));
    expect(res.status).toBe(200);
    await settle(h, () => h.slack.called("chat.update").length === 1 && h.slack.called("chat.postMessage").length === 1);
    expect(await statusOf(h, s.id)).toBe("SCHEDULED");
    const update = h.slack.called("chat.update")[0]!;
    expect(update.body.ts).toBe(ts);
    const blocks = h.slack.blocksOf(update);
    expect(actionIds(blocks)).toEqual([ActionId.preview, ActionId.analysis, ActionId.reschedule, ActionId.cancel]);
    expect(JSON.stringify(blocks)).toContain("Approved by <@UAPPROVER1>");
    const thread = h.slack.called("chat.postMessage")[0]!;
    expect(thread.body.thread_ts).toBe(ts);
    expect(thread.body.text).toContain("<@UAPPROVER1> approved");
    const audit = await h.db.prisma.auditEvent.findMany({ where: { sendingId: s.id, action: "approved" } });
    expect(audit).toMatchObject([{ actor: "UAPPROVER1", fromStatus: "PENDING_APPROVAL", toStatus: "SCHEDULED" }]);
  });

  it("a member of an approver user group may approve", async () => {
    h.slack.setGroupMembers("SAPPROVERS", ["UGROUPMEMBER"]);
    const s = await givenPendingSending(h);
    await postSigned(h.baseUrl, interactionBody(blockAction({ actionId: ActionId.approve, value: approveValue(s), userId: "UGROUPMEMBER" })));
    await settle(h, async () => (await statusOf(h, s.id)) === "SCHEDULED");
    expect(h.slack.called("usergroups.users.list")[0]?.body.usergroup).toBe("SAPPROVERS");
  });

  it("refuses a stranger ephemerally and changes nothing", async () => {
    const s = await givenPendingSending(h);
    h.slack.reset();
    await postSigned(h.baseUrl, interactionBody(blockAction({ actionId: ActionId.approve, value: approveValue(s), userId: "USTRANGER" })));
    await settle(h, () => h.slack.called("chat.postEphemeral").length === 1);
    const ephemeral = h.slack.called("chat.postEphemeral")[0]!;
    expect(ephemeral.body).toMatchObject({ user: "USTRANGER", channel: APPROVALS_CHANNEL });
    expect(String(ephemeral.body.text)).toContain("Only the configured approvers");
    expect(await statusOf(h, s.id)).toBe("PENDING_APPROVAL");
    expect(h.slack.called("chat.update")).toHaveLength(0);
    expect(await h.db.prisma.decision.count()).toBe(0);
  });

  it("refuses the requester's own approval (four-eyes)", async () => {
    const s = await givenPendingSending(h, { requestedBy: "UAPPROVER2" });
    h.slack.reset();
    await postSigned(h.baseUrl, interactionBody(blockAction({ actionId: ActionId.approve, value: approveValue(s), userId: "UAPPROVER2" })));
    await settle(h, () => h.slack.called("chat.postEphemeral").length === 1);
    expect(String(h.slack.called("chat.postEphemeral")[0]!.body.text)).toContain("four-eyes");
    expect(await statusOf(h, s.id)).toBe("PENDING_APPROVAL");
    expect(await h.db.prisma.decision.count()).toBe(0);
  });

  it("two approvers clicking at once produce exactly one transition; the late one is told who decided", async () => {
    const s = await givenPendingSending(h);
    h.slack.reset();
    const clicks = ["UAPPROVER1", "UAPPROVER2"].map((userId) =>
      postSigned(h.baseUrl, interactionBody(blockAction({ actionId: ActionId.approve, value: approveValue(s), userId }))),
    );
    await Promise.all(clicks);
    await settle(h, () => h.slack.called("chat.postEphemeral").length === 1 && h.slack.called("chat.update").length === 1);
    expect(await statusOf(h, s.id)).toBe("SCHEDULED");
    const transitions = await h.db.prisma.auditEvent.findMany({ where: { sendingId: s.id, toStatus: "SCHEDULED" } });
    expect(transitions).toHaveLength(1);
    expect(await h.db.prisma.decision.count({ where: { sendingId: s.id } })).toBe(1);
    const late = h.slack.called("chat.postEphemeral")[0]!;
    expect(String(late.body.text)).toContain(`Already scheduled by <@${transitions[0]!.actor}>`);
    expect(late.body.user).not.toBe(transitions[0]!.actor);
  });

  it("a double click by one approver counts once", async () => {
    const s = await givenPendingSending(h);
    const click = () => postSigned(h.baseUrl, interactionBody(blockAction({ actionId: ActionId.approve, value: approveValue(s), userId: "UAPPROVER1" })));
    await Promise.all([click(), click()]);
    await settle(h, () => h.slack.called("chat.postEphemeral").length === 1);
    expect(await h.db.prisma.decision.count({ where: { sendingId: s.id } })).toBe(1);
    expect(await h.db.prisma.auditEvent.count({ where: { sendingId: s.id, action: "approved" } })).toBe(1);
  });

  it("a request with a bad signature gets 401 and changes nothing", async () => {
    const s = await givenPendingSending(h);
    h.slack.reset();
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
    h.slack.reset();
    await postSigned(h.baseUrl, interactionBody(blockAction({ actionId: ActionId.reject, value: s.id, userId: "UAPPROVER1" })));
    await settle(h, () => h.slack.called("views.open").length === 1);
    const modal = h.slack.viewOf(h.slack.called("views.open")[0]!);
    expect(modal.callback_id).toBe(CallbackId.reject);

    const submit = (reason: string) =>
      postSigned(
        h.baseUrl,
        interactionBody(
          viewSubmission({
            callbackId: CallbackId.reject,
            privateMetadata: String(modal.private_metadata),
            userId: "UAPPROVER1",
            values: { [BlockId.reason]: { [InputActionId.reason]: { type: "plain_text_input", value: reason } } },
          }),
        ),
      );
    for (const blank of ["", "   \n  "]) {
      const res = await submit(blank);
      expect(await res.json()).toEqual({ response_action: "errors", errors: { [BlockId.reason]: "A reason is required." } });
      expect(await statusOf(h, s.id)).toBe("PENDING_APPROVAL");
    }
    const res = await submit("Wrong <!channel> discount code");
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("");
    expect(await statusOf(h, s.id)).toBe("REJECTED");
    await settle(h, () => h.slack.called("chat.postMessage").length === 2);
    const [thread, dm] = h.slack.called("chat.postMessage");
    expect(thread!.body.thread_ts).toBeTruthy();
    expect(dm!.body.channel).toBe(s.requestedBy);
    expect(String(dm!.body.text)).toContain("Wrong &lt;!channel&gt; discount code");
    expect(String(dm!.body.text)).not.toContain("<!channel>");
    const update = h.slack.blocksOf(h.slack.called("chat.update")[0]!);
    expect(actionIds(update)).toEqual([]);
    expect(JSON.stringify(update)).toContain("Rejected by <@UAPPROVER1>");
    const decision = await h.db.prisma.decision.findFirstOrThrow({ where: { sendingId: s.id } });
    expect(decision).toMatchObject({ kind: "REJECTION", userId: "UAPPROVER1", reason: "Wrong <!channel> discount code" });
  });

  it("reschedule refuses a date in the past in the modal, then moves the launch and says so", async () => {
    const s = await givenPendingSending(h);
    h.slack.reset();
    await postSigned(h.baseUrl, interactionBody(blockAction({ actionId: ActionId.reschedule, value: s.id, userId: "UAPPROVER1" })));
    await settle(h, () => h.slack.called("views.open").length === 1);
    const modal = h.slack.viewOf(h.slack.called("views.open")[0]!);
    const picker = JSON.stringify(modal.blocks);
    const launchAt = (await h.db.prisma.sending.findUniqueOrThrow({ where: { id: s.id } })).launchAt;
    expect(picker).toContain(`"initial_date_time":${launchAt.getTime() / 1000}`);

    const submit = (unix: number) =>
      postSigned(
        h.baseUrl,
        interactionBody(
          viewSubmission({
            callbackId: CallbackId.reschedule,
            privateMetadata: String(modal.private_metadata),
            userId: "UAPPROVER1",
            values: { [BlockId.launchAt]: { [InputActionId.launchAt]: { type: "datetimepicker", selected_date_time: unix } } },
          }),
        ),
      );
    const past = await submit(NOW.getTime() / 1000 - 60);
    expect(await past.json()).toMatchObject({ response_action: "errors", errors: { [BlockId.launchAt]: expect.stringContaining("future") } });
    expect((await h.db.prisma.sending.findUniqueOrThrow({ where: { id: s.id } })).launchAt).toEqual(launchAt);

    const next = new Date(NOW.getTime() + 3 * 24 * 3600_000);
    const ok = await submit(next.getTime() / 1000);
    expect(ok.status).toBe(200);
    expect((await h.db.prisma.sending.findUniqueOrThrow({ where: { id: s.id } })).launchAt).toEqual(next);
    await settle(h, () => h.slack.called("chat.postMessage").length === 1);
    expect(String(h.slack.called("chat.postMessage")[0]!.body.text)).toContain(`<!date^${next.getTime() / 1000}^`);
    expect(JSON.stringify(h.slack.blocksOf(h.slack.called("chat.update")[0]!))).toContain(`<!date^${next.getTime() / 1000}^`);
  });

  it("approving after the launch date passed asks for a new date or send now, never sends late silently", async () => {
    const s = await givenPendingSending(h, { launchAt: new Date(NOW.getTime() + 60_000) });
    h.clock.set(new Date(NOW.getTime() + 3600_000));
    h.slack.reset();
    await postSigned(h.baseUrl, interactionBody(blockAction({ actionId: ActionId.approve, value: approveValue(s), userId: "UAPPROVER1" })));
    await settle(h, () => h.slack.called("views.open").length === 1);
    expect(await statusOf(h, s.id)).toBe("PENDING_APPROVAL");
    const modal = h.slack.viewOf(h.slack.called("views.open")[0]!);
    expect(JSON.stringify(modal)).toContain("Send now");
    const res = await postSigned(
      h.baseUrl,
      interactionBody(
        viewSubmission({
          callbackId: CallbackId.reschedule,
          privateMetadata: String(modal.private_metadata),
          userId: "UAPPROVER1",
          values: {
            [BlockId.launchAt]: { [InputActionId.launchAt]: { type: "datetimepicker", selected_date_time: 0 } },
            [BlockId.when]: { [InputActionId.when]: { type: "radio_buttons", selected_option: { value: "now" } } },
          },
        }),
      ),
    );
    expect(res.status).toBe(200);
    const stored = await h.db.prisma.sending.findUniqueOrThrow({ where: { id: s.id } });
    expect(stored.status).toBe("SCHEDULED");
    expect(stored.launchAt.getTime() - h.clock.now().getTime()).toBe(5000);
  });
});
