import { afterEach, beforeEach, expect, it } from "vitest";
import { ActionId, CallbackId } from "../../src/slack/ids.js";
import { describeEachDatabase } from "../support/databases.js";
import { APPROVALS_CHANNEL, givenPendingSending, settle, startSlackHarness, type SlackHarness } from "../support/slack-harness.js";

/** The person runs /sendings; the answer is checked as Slack checks it and shown to them alone. */
const command = async (h: SlackHarness, text: string, userId = "UAPPROVER1") => {
  const before = h.slack.workspace.ephemeralsFor(userId).length;
  const reply = (await h.slack.slashCommand(userId, APPROVALS_CHANNEL, "/sendings", text)) as { response_type: string; text: string; blocks: unknown[] };
  expect(h.slack.workspace.ephemeralsFor(userId)).toHaveLength(before + 1);
  return reply;
};
const clickOnCard = async (h: SlackHarness, user: string, sendingId: string, actionId: string) =>
  h.click(user, await h.approvalMessage(sendingId), actionId);

describeEachDatabase("preview and /sendings", (provider) => {
  let h: SlackHarness;
  beforeEach(async () => {
    h = await startSlackHarness(provider);
  });
  afterEach(() => h.close());

  it("previews recipient by recipient with variables filled, and steps to the next", async () => {
    const s = await givenPendingSending(h, {
      recipients: [
        { email: "ann@example.com", vars: { firstName: "Ann <!channel> <https://evil.test|bank>" } },
        { email: "bob@example.com", vars: { firstName: "Bob" } },
      ],
    });
    h.slack.resetRecords();
    await clickOnCard(h, "UAPPROVER1", s.id, ActionId.preview);
    await settle(h, () => h.slack.called("views.open").length === 1);
    const modal = h.modal("UAPPROVER1");
    const first = modal.view;
    expect(first.callback_id).toBe(CallbackId.preview);
    const text = JSON.stringify(first.blocks);
    expect(text).toContain("ann@example.com");
    expect(text).toContain("Recipient 1 of 2");
    // The hostile variable shows as text: escaped wherever mrkdwn is parsed, the body included.
    const mrkdwnTexts = JSON.stringify(first.blocks).match(/"type":"mrkdwn","text":"(?:[^"\\]|\\.)*"/g) ?? [];
    expect(mrkdwnTexts.length).toBeGreaterThan(2);
    for (const m of mrkdwnTexts) {
      expect(m).not.toContain("<!channel>");
      expect(m).not.toContain("<https://evil.test|bank>");
    }
    expect(text).toContain("Hello Ann &lt;!channel&gt;");
    const body = (first.blocks as Array<{ text?: { type: string; text: string } }>).find((b) => b.text?.text.startsWith("Hi Ann"));
    expect(body?.text?.type).toBe("mrkdwn");
    expect(body?.text?.text).toContain("Hi Ann &lt;!channel&gt;");

    const hash = modal.hash;
    await h.click("UAPPROVER1", { viewId: modal.id }, ActionId.previewNext);
    await settle(h, () => h.slack.called("views.update").length === 1);
    const update = h.slack.called("views.update")[0]!;
    // The update names the view it replaces and the version it saw, so a stale click cannot overwrite a newer one.
    expect(update.args).toMatchObject({ view_id: modal.id, hash });
    expect(update.ok).toBe(true);
    const second = JSON.stringify(h.modal("UAPPROVER1").view.blocks);
    expect(second).toContain("bob@example.com");
    expect(second).toContain("Hello Bob");
    expect(second).toContain("Recipient 2 of 2");
    expect(second).not.toContain(ActionId.previewNext);
  });

  it("does not show a preview to someone who is neither approver nor requester", async () => {
    const s = await givenPendingSending(h);
    h.slack.resetRecords();
    await clickOnCard(h, "USTRANGER", s.id, ActionId.preview);
    await settle(h, () => h.slack.called("chat.postEphemeral").length === 1);
    expect(h.slack.called("views.open")).toHaveLength(0);
  });

  it("/sendings pending, scheduled, in-progress and recent list the right sendings, ephemerally", async () => {
    const pending = await givenPendingSending(h, { name: "Pending one" });
    const scheduled = await givenPendingSending(h, { name: "Scheduled one" });
    const sending = await givenPendingSending(h, { name: "Running one" });
    const done = await givenPendingSending(h, { name: "Finished one" });
    await h.db.prisma.sending.update({ where: { id: scheduled.id }, data: { status: "SCHEDULED" } });
    await h.db.prisma.sending.update({ where: { id: sending.id }, data: { status: "SENDING" } });
    await h.db.prisma.recipient.updateMany({ where: { sendingId: sending.id, email: "ann@example.com" }, data: { status: "SENT" } });
    await h.db.prisma.sending.update({ where: { id: done.id }, data: { status: "COMPLETED" } });

    const expectations: Array<[string, string, string[]]> = [
      ["pending", pending.id, ["Pending approval (1)"]],
      ["scheduled", scheduled.id, ["Scheduled (1)"]],
      ["in-progress", sending.id, ["In progress (1)", "1 delivered, 0 failed of 3", ActionId.pause, ActionId.cancel]],
      ["recent", done.id, ["Recently finished (1)"]],
    ];
    for (const [word, id, texts] of expectations) {
      const reply = await command(h, word);
      expect(reply.response_type).toBe("ephemeral");
      const json = JSON.stringify(reply.blocks);
      expect(json).toContain(id);
      for (const t of texts) expect(json).toContain(t);
      for (const other of [pending, scheduled, sending, done].filter((x) => x.id !== id)) expect(json).not.toContain(other.id);
    }
  });

  it("/sendings pages long lists within Block Kit limits", async () => {
    for (let i = 0; i < 12; i += 1) await givenPendingSending(h, { name: `Sending ${i}` });
    const first = await command(h, "pending");
    expect(first.blocks.length).toBeLessThanOrEqual(50);
    expect(JSON.stringify(first.blocks)).toContain("Page 1 of 2");
    const second = await command(h, "pending 2");
    expect(JSON.stringify(second.blocks)).toContain("Page 2 of 2");
    const items = (reply: { blocks: unknown[] }) => JSON.stringify(reply.blocks).match(/snd_[0-9a-z]{10}/g) ?? [];
    expect(items(first)).toHaveLength(10);
    expect(items(second)).toHaveLength(2);
    expect(new Set([...items(first), ...items(second)]).size).toBe(12);
  });

  it("Next and Previous on a /sendings page replace that page in place, for the person who asked", async () => {
    for (let i = 0; i < 12; i += 1) await givenPendingSending(h, { name: `Sending ${i}` });
    await command(h, "pending");
    const [page] = h.slack.workspace.ephemeralsFor("UAPPROVER1");
    await h.click("UAPPROVER1", { ephemeral: page! }, `${ActionId.listPage}.next`);
    await settle(h, () => JSON.stringify(page!.blocks).includes("Page 2 of 2"));
    expect(h.slack.workspace.ephemeralsFor("UAPPROVER1")).toHaveLength(1);
    await h.click("UAPPROVER1", { ephemeral: page! }, `${ActionId.listPage}.prev`);
    await settle(h, () => JSON.stringify(page!.blocks).includes("Page 1 of 2"));
    expect(h.slack.workspace.ephemeralsFor("UAPPROVER2")).toEqual([]);
  });

  it("/sendings show <id> shows one sending; help and unknown input get the help", async () => {
    const s = await givenPendingSending(h, { name: "Show me" });
    const shown = await command(h, `show ${s.id}`);
    expect(JSON.stringify(shown.blocks)).toContain("Show me");
    expect(JSON.stringify(shown.blocks)).toContain(":hourglass_flowing_sand: Needs approval: Show me");
    expect(JSON.stringify(shown.blocks)).toContain("0 of 1 approval");
    const missing = await command(h, "show snd_0000000000");
    expect(missing.text).toContain("does not exist");
    for (const text of ["help", "", "launch the rockets"]) {
      const help = await command(h, text);
      expect(JSON.stringify(help.blocks)).toContain("/sendings in-progress");
    }
    expect(JSON.stringify((await command(h, "launch the rockets")).blocks)).toContain("I don't know");
  });
});
