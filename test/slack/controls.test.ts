import { afterEach, beforeEach, expect, it } from "vitest";
import { ActionId, BlockId, CallbackId, InputActionId } from "../../src/slack/ids.js";
import { describeEachDatabase } from "../support/databases.js";
import { givenPendingSending, settle, startSlackHarness, type SlackHarness } from "../support/slack-harness.js";
import { blockAction, interactionBody, postSigned, viewSubmission } from "../support/slack-requests.js";

const statusOf = async (h: SlackHarness, id: string) => (await h.db.prisma.sending.findUniqueOrThrow({ where: { id } })).status;

async function openCancelModal(h: SlackHarness, sendingId: string, userId: string) {
  await postSigned(h.baseUrl, interactionBody(blockAction({ actionId: ActionId.cancel, value: sendingId, userId })));
  await settle(h, () => h.slack.called("views.open").length === 1);
  return h.slack.viewOf(h.slack.called("views.open")[0]!);
}

const submitCancel = (h: SlackHarness, metadata: string, userId: string, reason: string, prepared?: "drop" | "deliver") =>
  postSigned(
    h.baseUrl,
    interactionBody(
      viewSubmission({
        callbackId: CallbackId.cancel,
        privateMetadata: metadata,
        userId,
        values: {
          [BlockId.reason]: { [InputActionId.reason]: { type: "plain_text_input", value: reason } },
          ...(prepared
            ? { [BlockId.prepared]: { [InputActionId.prepared]: { type: "radio_buttons", selected_option: { value: prepared } } } }
            : {}),
        },
      }),
    ),
  );

describeEachDatabase("cancel, pause and resume from Slack", (provider) => {
  let h: SlackHarness;
  beforeEach(async () => {
    h = await startSlackHarness(provider);
  });
  afterEach(() => h.close());

  it("cancels at approval time: the reason is required, then the message loses its buttons", async () => {
    const s = await givenPendingSending(h);
    h.slack.reset();
    const modal = await openCancelModal(h, s.id, "UAPPROVER1");
    expect(modal.callback_id).toBe(CallbackId.cancel);
    expect(JSON.stringify(modal.blocks)).not.toContain(BlockId.prepared);

    const blank = await submitCancel(h, String(modal.private_metadata), "UAPPROVER1", "  ");
    expect(await blank.json()).toEqual({ response_action: "errors", errors: { [BlockId.reason]: "A reason is required." } });
    expect(await statusOf(h, s.id)).toBe("PENDING_APPROVAL");

    const res = await submitCancel(h, String(modal.private_metadata), "UAPPROVER1", "Campaign postponed");
    expect(res.status).toBe(200);
    expect(await statusOf(h, s.id)).toBe("CANCELLED");
    await settle(h, () => h.slack.called("chat.update").length >= 1 && h.slack.called("chat.postMessage").length >= 1);
    expect(String(h.slack.called("chat.postMessage")[0]!.body.text)).toContain("<@UAPPROVER1> cancelled it: Campaign postponed");
    const blocks = JSON.stringify(h.slack.blocksOf(h.slack.called("chat.update")[0]!));
    expect(blocks).not.toContain(ActionId.approve);
    expect(blocks).toContain("Cancelled by <@UAPPROVER1>");
    expect(await h.db.prisma.recipient.count({ where: { sendingId: s.id, status: "CANCELLED" } })).toBe(3);
  });

  it("the requester may cancel; a stranger may not even open the modal", async () => {
    const s = await givenPendingSending(h);
    h.slack.reset();
    await postSigned(h.baseUrl, interactionBody(blockAction({ actionId: ActionId.cancel, value: s.id, userId: "USTRANGER" })));
    await settle(h, () => h.slack.called("chat.postEphemeral").length === 1);
    expect(h.slack.called("views.open")).toHaveLength(0);
    // A forged submission from the stranger is refused too.
    const forged = await submitCancel(h, JSON.stringify({ id: s.id, prepared: 0 }), "USTRANGER", "because");
    expect(JSON.stringify(await forged.json())).toContain("Only approvers and the person who requested");
    expect(await statusOf(h, s.id)).toBe("PENDING_APPROVAL");

    const modal = await openCancelModal(h, s.id, s.requestedBy);
    await submitCancel(h, String(modal.private_metadata), s.requestedBy, "Wrong list");
    expect(await statusOf(h, s.id)).toBe("CANCELLED");
  });

  it("shows the prepared count and honours 'deliver' for a sending in delivery", async () => {
    const s = await givenPendingSending(h);
    await h.db.prisma.sending.update({ where: { id: s.id }, data: { status: "SENDING" } });
    await h.db.prisma.recipient.updateMany({ where: { sendingId: s.id, email: { in: ["ann@example.com", "bob@example.com"] } }, data: { status: "PREPARED" } });
    h.slack.reset();
    const modal = await openCancelModal(h, s.id, "UAPPROVER2");
    expect(JSON.stringify(modal.blocks)).toContain("2 messages are already prepared");
    const res = await submitCancel(h, String(modal.private_metadata), "UAPPROVER2", "Typo in the subject", "deliver");
    expect(res.status).toBe(200);
    expect(await statusOf(h, s.id)).toBe("CANCELLED");
    const counts = await h.db.prisma.recipient.groupBy({ by: ["status"], where: { sendingId: s.id }, _count: { _all: true }, orderBy: { status: "asc" } });
    expect(Object.fromEntries(counts.map((c) => [c.status, c._count._all]))).toEqual({ PREPARED: 2, CANCELLED: 1 });
  });

  it("pause and resume from the thread, refused for strangers", async () => {
    const s = await givenPendingSending(h);
    await h.db.prisma.sending.update({ where: { id: s.id }, data: { status: "SENDING" } });
    h.slack.reset();
    await postSigned(h.baseUrl, interactionBody(blockAction({ actionId: ActionId.pause, value: s.id, userId: "USTRANGER" })));
    await settle(h, () => h.slack.called("chat.postEphemeral").length === 1);
    expect(await statusOf(h, s.id)).toBe("SENDING");

    await postSigned(h.baseUrl, interactionBody(blockAction({ actionId: ActionId.pause, value: s.id, userId: "UAPPROVER1" })));
    await settle(h, async () => (await statusOf(h, s.id)) === "PAUSED");
    await settle(h, () => h.slack.called("chat.postMessage").some((c) => String(c.body.text).includes("paused delivery")));
    await postSigned(h.baseUrl, interactionBody(blockAction({ actionId: ActionId.resume, value: s.id, userId: s.requestedBy })));
    await settle(h, async () => (await statusOf(h, s.id)) === "SENDING");
    const audit = await h.db.prisma.auditEvent.findMany({ where: { sendingId: s.id, action: { in: ["paused", "resumed"] } }, orderBy: { id: "asc" } });
    expect(audit.map((a) => [a.action, a.actor])).toEqual([["paused", "UAPPROVER1"], ["resumed", s.requestedBy]]);
  });
});
