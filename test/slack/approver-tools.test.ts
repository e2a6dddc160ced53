import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { simpleParser } from "mailparser";
import { afterEach, beforeEach, expect, it } from "vitest";
import { ActionId, BlockId, CallbackId } from "../../src/slack/ids.js";
import { describeEachDatabase } from "../support/databases.js";
import { cardActionIds, givenPendingSending, settle, startSlackHarness, type SlackHarness } from "../support/slack-harness.js";
import { blocksOf, viewOf } from "../support/slack-api.js";
import { interactionBody, postSigned } from "../support/slack-requests.js";

const clickOnCard = async (h: SlackHarness, user: string, sendingId: string, actionId: string) =>
  h.click(user, await h.approvalMessage(sendingId), actionId);

/** A block_suggestion from someone who never had the preview open: only a forged request can carry it. */

function suggestion(sendingId: string, value: string, userId = "UAPPROVER1") {
  return {
    type: "block_suggestion",
    user: { id: userId, username: "u", name: "u", team_id: "T0TEAM" },
    team: { id: "T0TEAM", domain: "acme" },
    api_app_id: "A0APP",
    token: "legacy-token",
    action_id: ActionId.previewSearch,
    block_id: BlockId.recipientSearch,
    value,
    view: { id: "V0VIEW", type: "modal", callback_id: CallbackId.preview, private_metadata: JSON.stringify({ id: sendingId, r: 1 }) },
  };
}

describeEachDatabase("approver tools in Slack", (provider) => {
  let h: SlackHarness;
  beforeEach(async () => {
    h = await startSlackHarness(provider, { PUBLIC_URL: "https://sendgate.acme.test" });
  });
  afterEach(() => h.close());

  it("shows the analysis summary on the message and the checks in a modal", async () => {
    const s = await givenPendingSending(h, { html: '<p>Hi {{firstName}}</p><img src="https://cdn.acme.test/a.png">' });
    const posted = JSON.stringify(blocksOf(h.slack.called("chat.postMessage")[0]!));
    expect(posted).toMatch(/:warning: \d+ warnings?: [^"]*alt/i);
    h.slack.resetRecords();
    await clickOnCard(h, "UAPPROVER1", s.id, ActionId.analysis);
    await settle(h, () => h.slack.called("views.open").length === 1);
    const modal = viewOf(h.slack.called("views.open")[0]!);
    expect(modal.callback_id).toBe(CallbackId.analysis);
    expect(JSON.stringify(modal.blocks)).toMatch(/:warning: \*[^*]*alt/i);
  });

  it("a card blocked by an analysis error offers no Approve and names the error; the analysis opens from it", async () => {
    const s = await givenPendingSending(h, { html: "<p>{{#if vip}}unclosed</p>" });
    const card = blocksOf(h.slack.called("chat.postMessage")[0]!);
    expect(JSON.stringify(card[0])).toContain(":no_entry: Blocked: Spring newsletter");
    expect(cardActionIds(card)).not.toContain(ActionId.approve);
    expect(JSON.stringify(card)).toMatch(/Approval is blocked until this is fixed:[^"]*html/);
    h.slack.resetRecords();
    await clickOnCard(h, "UAPPROVER1", s.id, ActionId.analysis);
    await settle(h, () => h.slack.called("views.open").length === 1);
    expect(viewOf(h.slack.called("views.open")[0]!).callback_id).toBe(CallbackId.analysis);
    expect((await h.db.prisma.sending.findUniqueOrThrow({ where: { id: s.id } })).status).toBe("PENDING_APPROVAL");
    expect(await h.db.prisma.decision.count()).toBe(0);
  });

  it("searches recipients by address for the preview and jumps to the one picked", async () => {
    const s = await givenPendingSending(h, {
      recipients: [
        { email: "ann@example.com", vars: { firstName: "Ann" } },
        { email: "anna@example.com", vars: { firstName: "Anna" } },
        { email: "bob@example.com", vars: { firstName: "Bob" } },
      ],
    });
    await clickOnCard(h, "UAPPROVER1", s.id, ActionId.preview);
    await settle(h, () => h.slack.called("views.open").length === 1);
    const modal = h.modal("UAPPROVER1");
    expect(modal.view.submit ?? undefined).toBeUndefined();
    const options = await h.slack.suggest("UAPPROVER1", { viewId: modal.id }, ActionId.previewSearch, "AnN");
    expect(options.map((o) => (o.text as { text: string }).text)).toEqual(["ann@example.com", "anna@example.com"]);

    const stranger = await postSigned(h.baseUrl, interactionBody(suggestion(s.id, "ann", "USTRANGER")));
    expect(await stranger.json()).toEqual({ options: [] });

    h.slack.resetRecords();
    await h.slack.pick("UAPPROVER1", { viewId: modal.id }, ActionId.previewSearch, options[1]!);
    await settle(h, () => h.slack.called("views.update").length === 1);
    const shown = JSON.stringify(h.modal("UAPPROVER1").view.blocks);
    expect(shown).toContain("anna@example.com");
    expect(shown).toContain("Hello Anna");
  });

  it("links to the exact HTML through a signed link, and sends a test to the approver only", async () => {
    const s = await givenPendingSending(h);
    h.slack.resetRecords();
    await clickOnCard(h, "UAPPROVER2", s.id, ActionId.preview);
    await settle(h, () => h.slack.called("views.open").length === 1);
    const modal = h.modal("UAPPROVER2");
    const blocks = modal.view.blocks as Array<{ elements?: Array<{ action_id?: string; url?: string; value?: string }> }>;
    const elements = blocks.flatMap((b) => b.elements ?? []);
    const link = elements.find((e) => e.action_id === ActionId.previewHtml)!.url!;
    expect(link).toMatch(/^https:\/\/sendgate\.acme\.test\/preview\/snd_\w+\/\d+\?exp=\d+&sig=/);
    const served = await fetch(h.baseUrl + link.replace("https://sendgate.acme.test", ""));
    expect(served.status).toBe(200);
    expect(await served.text()).toContain("Hi Ann, our spring collection is here.");
    // One character of the signature changed (whatever it was).
    const tampered = await fetch(h.baseUrl + link.replace("https://sendgate.acme.test", "").replace(/sig=(.)/, (_, first: string) => `sig=${first === "A" ? "B" : "A"}`));
    expect(tampered.status).toBe(403);

    await h.click("UAPPROVER2", { viewId: modal.id }, ActionId.previewHtml);
    await h.click("UAPPROVER2", { viewId: modal.id }, ActionId.previewTestSend);
    await settle(h, () => h.slack.called("views.update").length === 1);
    expect(h.slack.called("users.info")[0]?.args.user).toBe("UAPPROVER2");
    expect(JSON.stringify(viewOf(h.slack.called("views.update")[0]!).blocks)).toContain("Test sent to uapprover2@acme.test");
    const files = readdirSync(h.outboxDir).filter((f) => f.endsWith(".eml"));
    expect(files).toHaveLength(1);
    const mail = await simpleParser(readFileSync(join(h.outboxDir, files[0]!)));
    expect(mail.subject).toBe("[TEST] Hello Ann");
    expect((mail.to as { text: string }).text).toBe("uapprover2@acme.test");
    const audit = await h.db.prisma.auditEvent.findFirst({ where: { sendingId: s.id, action: "test-sent" } });
    expect(audit?.actor).toBe("UAPPROVER2");
  });
});
