import { afterEach, beforeEach, expect, it } from "vitest";
import { ActionId, BlockId, CallbackId, InputActionId } from "../../src/slack/ids.js";
import { describeEachDatabase } from "../support/databases.js";
import type { OpenView } from "../../src/slack-standin/workspace.js";
import { blocksOf } from "../support/slack-api.js";
import { APPROVALS_CHANNEL, givenPendingSending, settle, startSlackHarness, type SlackHarness } from "../support/slack-harness.js";
import { interactionBody, postSigned, viewSubmission } from "../support/slack-requests.js";

const statusOf = async (h: SlackHarness, id: string) => (await h.db.prisma.sending.findUniqueOrThrow({ where: { id } })).status;

/** Cancel on the approval card (pending, scheduled) or in the /sendings in-progress list (delivering, paused). */
async function openCancelModal(h: SlackHarness, sendingId: string, userId: string, where: "card" | "list" = "card") {
  const surface = where === "card" ? await h.approvalMessage(sendingId) : await inProgressList(h, userId);
  await h.click(userId, surface, ActionId.cancel);
  await settle(h, () => h.slack.called("views.open").length === 1);
  return h.modal(userId);
}

/** The person runs /sendings in-progress; its answer, with Pause / Resume / Cancel, is only theirs to see. */
async function inProgressList(h: SlackHarness, userId: string) {
  await h.slack.slashCommand(userId, APPROVALS_CHANNEL, "/sendings", "in-progress");
  const ephemeral = h.slack.workspace.ephemeralsFor(userId, APPROVALS_CHANNEL).at(-1);
  if (!ephemeral) throw new Error("no answer to /sendings in-progress");
  return { ephemeral };
}

async function submitCancel(h: SlackHarness, modal: OpenView, userId: string, reason: string, prepared?: "drop" | "deliver") {
  h.slack.fill(userId, modal.id, BlockId.reason, reason);
  if (prepared) h.slack.fill(userId, modal.id, BlockId.prepared, prepared);
  return h.slack.submit(userId, modal.id);
}

describeEachDatabase("cancel, pause and resume from Slack", (provider) => {
  let h: SlackHarness;
  beforeEach(async () => {
    h = await startSlackHarness(provider);
  });
  afterEach(() => h.close());

  it("cancels at approval time: the reason is required, then the message loses its buttons", async () => {
    const s = await givenPendingSending(h);
    h.slack.resetRecords();
    const modal = await openCancelModal(h, s.id, "UAPPROVER1");
    expect(modal.view.callback_id).toBe(CallbackId.cancel);
    expect(JSON.stringify(modal.view.blocks)).not.toContain(BlockId.prepared);

    const blank = await submitCancel(h, modal, "UAPPROVER1", "  ");
    expect(blank).toEqual({ kind: "errors", errors: { [BlockId.reason]: "A reason is required." } });
    expect(await statusOf(h, s.id)).toBe("PENDING_APPROVAL");

    expect(await submitCancel(h, modal, "UAPPROVER1", "Campaign postponed")).toEqual({ kind: "closed" });
    expect(await statusOf(h, s.id)).toBe("CANCELLED");
    await settle(h, () => h.slack.called("chat.update").length >= 1 && h.slack.called("chat.postMessage").length >= 1);
    expect(String(h.slack.called("chat.postMessage")[0]!.args.text)).toContain("<@UAPPROVER1> cancelled it: Campaign postponed");
    const blocks = JSON.stringify(blocksOf(h.slack.called("chat.update")[0]!));
    expect(blocks).not.toContain(ActionId.approve);
    expect(blocks).toContain("Cancelled by <@UAPPROVER1>");
    expect(await h.db.prisma.recipient.count({ where: { sendingId: s.id, status: "CANCELLED" } })).toBe(3);
  });

  it("the requester may cancel; a stranger may not even open the modal", async () => {
    const s = await givenPendingSending(h);
    h.slack.resetRecords();
    await h.click("USTRANGER", await h.approvalMessage(s.id), ActionId.cancel);
    await settle(h, () => h.slack.called("chat.postEphemeral").length === 1);
    expect(h.slack.called("views.open")).toHaveLength(0);
    // A forged submission from the stranger, who never had the modal, is refused too.
    const forged = await postSigned(
      h.baseUrl,
      interactionBody(
        viewSubmission({
          callbackId: CallbackId.cancel,
          privateMetadata: JSON.stringify({ id: s.id, prepared: 0 }),
          userId: "USTRANGER",
          values: { [BlockId.reason]: { [InputActionId.reason]: { type: "plain_text_input", value: "because" } } },
        }),
      ),
    );
    expect(JSON.stringify(await forged.json())).toContain("Only approvers and the person who requested");
    expect(await statusOf(h, s.id)).toBe("PENDING_APPROVAL");

    const modal = await openCancelModal(h, s.id, s.requestedBy);
    await submitCancel(h, modal, s.requestedBy, "Wrong list");
    expect(await statusOf(h, s.id)).toBe("CANCELLED");
  });

  it("shows the prepared count and honours 'deliver' for a sending in delivery", async () => {
    const s = await givenPendingSending(h);
    await h.db.prisma.sending.update({ where: { id: s.id }, data: { status: "SENDING" } });
    await h.db.prisma.recipient.updateMany({ where: { sendingId: s.id, email: { in: ["ann@example.com", "bob@example.com"] } }, data: { status: "PREPARED" } });
    h.slack.resetRecords();
    const modal = await openCancelModal(h, s.id, "UAPPROVER2", "list");
    expect(JSON.stringify(modal.view.blocks)).toContain("What happens to the 2 prepared messages?");
    expect(JSON.stringify(modal.view.blocks)).toContain("0 delivered · 0 failed · 2 prepared · 1 not yet prepared");
    expect(await submitCancel(h, modal, "UAPPROVER2", "Typo in the subject", "deliver")).toEqual({ kind: "closed" });
    expect(await statusOf(h, s.id)).toBe("CANCELLED");
    const counts = await h.db.prisma.recipient.groupBy({ by: ["status"], where: { sendingId: s.id }, _count: { _all: true }, orderBy: { status: "asc" } });
    expect(Object.fromEntries(counts.map((c) => [c.status, c._count._all]))).toEqual({ PREPARED: 2, CANCELLED: 1 });
  });

  it("pause and resume from the thread, refused for strangers", async () => {
    const s = await givenPendingSending(h);
    await h.db.prisma.sending.update({ where: { id: s.id }, data: { status: "SENDING" } });
    h.slack.resetRecords();
    await h.click("USTRANGER", await inProgressList(h, "USTRANGER"), ActionId.pause);
    await settle(h, () => h.slack.called("chat.postEphemeral").length === 1);
    expect(await statusOf(h, s.id)).toBe("SENDING");

    await h.click("UAPPROVER1", await inProgressList(h, "UAPPROVER1"), ActionId.pause);
    await settle(h, async () => (await statusOf(h, s.id)) === "PAUSED");
    await settle(h, () => h.slack.called("chat.postMessage").some((c) => String(c.args.text).includes("paused delivery")));
    await h.click(s.requestedBy, await inProgressList(h, s.requestedBy), ActionId.resume);
    await settle(h, async () => (await statusOf(h, s.id)) === "SENDING");
    const audit = await h.db.prisma.auditEvent.findMany({ where: { sendingId: s.id, action: { in: ["paused", "resumed"] } }, orderBy: { id: "asc" } });
    expect(audit.map((a) => [a.action, a.actor])).toEqual([["paused", "UAPPROVER1"], ["resumed", s.requestedBy]]);
  });
});
