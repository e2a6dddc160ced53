import { afterEach, beforeEach, expect, it } from "vitest";
import { describeEachDatabase } from "../support/databases.js";
import { APPROVALS_CHANNEL, givenPendingSending, settle, startSlackHarness, type SlackHarness } from "../support/slack-harness.js";

describeEachDatabase("/sendings when the answer is slow", (provider) => {
  let h: SlackHarness;
  beforeEach(async () => {
    h = await startSlackHarness(provider);
  });
  afterEach(() => h.close());

  it("is acknowledged within Slack's 3 seconds, and the answer follows through its response_url", async () => {
    const s = await givenPendingSending(h, { name: "Autumn newsletter" });
    // The database as a burst of clicks leaves it: the answer takes longer than the acknowledgement may.
    const load = h.deps.views.load.bind(h.deps.views);
    h.deps.views.load = async (id) => {
      await new Promise((resolve) => setTimeout(resolve, 2500));
      return load(id);
    };
    const before = h.slack.workspace.ephemeralsFor("UAPPROVER1").length;
    const reply = await h.slack.slashCommand("UAPPROVER1", APPROVALS_CHANNEL, "/sendings", `show ${s.id}`);
    expect(reply).toBeUndefined();
    await settle(h, () => h.slack.workspace.ephemeralsFor("UAPPROVER1").length === before + 1);
    expect(h.slack.workspace.ephemeralsFor("UAPPROVER1").at(-1)?.text).toContain("Autumn newsletter");
    // A late acknowledgement would be a refusal, which close() fails on.
    expect(h.slack.refusals).toEqual([]);
  });
});
