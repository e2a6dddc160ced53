import { afterEach, beforeEach, expect, it } from "vitest";
import { ActionId } from "../../src/slack/ids.js";
import { describeEachDatabase } from "../support/databases.js";
import { viewOf } from "../support/slack-api.js";
import { API_TOKEN, givenPendingSending, settle, startSlackHarness, type SlackHarness } from "../support/slack-harness.js";

/**
 * A preview is rendered once per content and kept: these show that what is kept can never be what
 * the sending held before a change, and that people clicking together each get their modal.
 */
describeEachDatabase("previews kept between clicks", (provider) => {
  let h: SlackHarness;
  beforeEach(async () => {
    h = await startSlackHarness(provider);
  });
  afterEach(() => h.close());

  /** The person clicks Preview on the card and closes the modal again; returns what it showed. */
  const previewText = async (user: string, sendingId: string) => {
    const opened = h.slack.called("views.open").length;
    await h.click(user, await h.approvalMessage(sendingId), ActionId.preview);
    await settle(h, () => h.slack.called("views.open").length === opened + 1);
    const modal = h.modal(user);
    const text = JSON.stringify(modal.view.blocks);
    await h.slack.close(user, modal.id);
    return text;
  };

  const api = (method: string, path: string, body: string, contentType = "application/json") =>
    fetch(`${h.baseUrl}${path}`, { method, headers: { authorization: `Bearer ${API_TOKEN}`, "content-type": contentType }, body });

  it("shows the new content once the template changed, and the new list once recipients were added", async () => {
    const s = await givenPendingSending(h);
    const before = await previewText("UAPPROVER1", s.id);
    expect(before).toContain("our spring collection is here");
    expect(before).toContain("Recipient 1 of 3");
    // Shown again from what was kept: the same content.
    expect(await previewText("UAPPROVER2", s.id)).toBe(before);

    const changed = await api("PATCH", `/api/sendings/${s.id}`, JSON.stringify({ html: "<p>Hi {{firstName}}, the summer sale starts Monday.</p>", changedBy: "UREQUESTER" }));
    expect(changed.status).toBe(200);
    const afterChange = await previewText("UAPPROVER1", s.id);
    expect(afterChange).toContain("the summer sale starts Monday");
    expect(afterChange).not.toContain("spring collection");

    // An address that sorts first: the list and the first recipient both change.
    const appended = await api("POST", `/api/sendings/${s.id}/recipients`, `${JSON.stringify({ email: "aaron@example.com", vars: { firstName: "Aaron" } })}\n`, "application/x-ndjson");
    expect(appended.status).toBe(200);
    const afterAppend = await previewText("UAPPROVER1", s.id);
    expect(afterAppend).toContain("Recipient 1 of 4");
    expect(afterAppend).toContain("aaron@example.com");
    expect(afterAppend).toContain("Hi Aaron, the summer sale");
  });

  it("gives every one of many people clicking Preview at once the same modal, within Slack's 3 seconds", async () => {
    const s = await givenPendingSending(h);
    const card = await h.approvalMessage(s.id);
    h.slack.resetRecords();
    const people = ["UAPPROVER1", "UAPPROVER2", "UREQUESTER"];
    await Promise.all(Array.from({ length: 12 }, (_, i) => h.click(people[i % people.length]!, card, ActionId.preview)));
    await settle(h, () => h.slack.called("views.open").length === 12);
    const shown = h.slack.called("views.open").map((call) => call.ok && JSON.stringify(viewOf(call).blocks));
    expect(new Set(shown).size).toBe(1);
    expect(shown[0]).toContain("Hi Ann, our spring collection is here.");
    // A late acknowledgement or an expired trigger would be among the refusals, which close() fails on.
    expect(h.slack.refusals).toEqual([]);
  });

  it("still refuses someone who may not look, even though the preview is kept", async () => {
    const s = await givenPendingSending(h);
    await previewText("UAPPROVER1", s.id);
    const opened = h.slack.called("views.open").length;
    await h.click("USTRANGER", await h.approvalMessage(s.id), ActionId.preview);
    await settle(h, () => h.slack.workspace.ephemeralsFor("USTRANGER").length === 1);
    expect(h.slack.workspace.ephemeralsFor("USTRANGER")[0]?.text).toContain("Only approvers and the person who requested");
    expect(h.slack.called("views.open")).toHaveLength(opened);
  });
});
