import { afterEach, beforeEach, expect, it } from "vitest";
import { ActionId, BlockId, CallbackId } from "../../src/slack/ids.js";
import { describeEachDatabase } from "../support/databases.js";
import { blocksOf } from "../support/slack-api.js";
import { APPROVALS_CHANNEL, givenPendingSending, settle, startSlackHarness, type SlackHarness } from "../support/slack-harness.js";

const statusOf = async (h: SlackHarness, id: string) => (await h.db.prisma.sending.findUniqueOrThrow({ where: { id } })).status;

/** The same listeners as over HTTP, reached the way a Socket Mode app is: envelopes on its WebSocket, acks back on it. */
describeEachDatabase("Socket Mode", (provider) => {
  let h: SlackHarness;
  beforeEach(async () => {
    h = await startSlackHarness(provider, {}, { socketMode: true });
  });
  afterEach(() => h.close());

  it("connects through SLACK_API_URL's apps.connections.open and answers /sendings pending in its ack", async () => {
    expect(h.slack.called("apps.connections.open")).toMatchObject([{ ok: true }]);
    expect(h.config.slack.signingSecret).toBeUndefined();
    const s = await givenPendingSending(h, { name: "Socket newsletter" });

    const reply = await h.slack.slashCommand("UAPPROVER1", APPROVALS_CHANNEL, "/sendings", "pending");

    expect(reply).toMatchObject({ response_type: "ephemeral" });
    const json = JSON.stringify(reply?.blocks);
    expect(json).toContain(s.id);
    expect(json).toContain("Pending approval (1)");
    // The stand-in checked the ack's blocks and showed them to the person alone.
    expect(h.slack.workspace.ephemeralsFor("UAPPROVER1", APPROVALS_CHANNEL).map((e) => e.blocks)).toEqual([reply?.blocks]);
  });

  it("Reject on the card opens the modal with the socket payload's trigger; the reason is checked through the ack", async () => {
    const s = await givenPendingSending(h);
    h.slack.resetRecords();

    await h.click("UAPPROVER1", await h.approvalMessage(s.id), ActionId.reject);
    await settle(h, () => h.slack.called("views.open").length === 1);
    const trigger = h.slack.workspace.triggers.get(String(h.slack.called("views.open")[0]!.args.trigger_id));
    expect(trigger).toMatchObject({ user: "UAPPROVER1", exchanged: true });
    const modal = h.modal("UAPPROVER1");
    expect(modal.view.callback_id).toBe(CallbackId.reject);

    h.slack.fill("UAPPROVER1", modal.id, BlockId.reason, "   ");
    expect(await h.slack.submit("UAPPROVER1", modal.id)).toEqual({ kind: "errors", errors: { [BlockId.reason]: "A reason is required." } });
    expect(await statusOf(h, s.id)).toBe("PENDING_APPROVAL");

    h.slack.fill("UAPPROVER1", modal.id, BlockId.reason, "Wrong discount code");
    expect(await h.slack.submit("UAPPROVER1", modal.id)).toEqual({ kind: "closed" });
    expect(await statusOf(h, s.id)).toBe("REJECTED");
    await settle(h, () => h.slack.called("chat.update").length === 1);
    const card = await h.approvalMessage(s.id);
    const update = h.slack.called("chat.update")[0]!;
    expect(update.args.ts).toBe(card.ts);
    expect(JSON.stringify(blocksOf(update))).toContain("Rejected by <@UAPPROVER1>");
    expect(h.slack.workspace.message(card.channel, card.ts)?.blocks).toEqual(blocksOf(update));
  });
});
