import { afterEach, beforeEach, expect, it } from "vitest";
import { ActionId } from "../../src/slack/ids.js";
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

  it("answers many people asking for the same list at once, each in the acknowledgement, and never from before a change", async () => {
    const first = await givenPendingSending(h, { name: "Autumn newsletter" });
    await givenPendingSending(h, { name: "Winter newsletter" });
    const people = ["UAPPROVER1", "UAPPROVER2", "UREQUESTER"];
    const replies = await Promise.all(
      Array.from({ length: 12 }, (_, i) => h.slack.slashCommand(people[i % people.length]!, APPROVALS_CHANNEL, "/sendings", i % 2 ? "pending" : "PENDING 1")),
    );
    for (const reply of replies) {
      expect(JSON.stringify(reply?.blocks)).toContain("Autumn newsletter");
      expect(JSON.stringify(reply?.blocks)).toContain("Winter newsletter");
    }
    expect(new Set(replies.map((reply) => JSON.stringify(reply?.blocks))).size).toBe(1);

    // Approved (quorum 1): a command asked afterwards no longer lists it as pending.
    await h.click("UAPPROVER1", await h.approvalMessage(first.id), ActionId.approve);
    await settle(h, async () => (await h.db.prisma.sending.findUniqueOrThrow({ where: { id: first.id } })).status === "SCHEDULED");
    const after = await h.slack.slashCommand("UAPPROVER2", APPROVALS_CHANNEL, "/sendings", "pending");
    expect(JSON.stringify(after?.blocks)).not.toContain("Autumn newsletter");
    expect(JSON.stringify(after?.blocks)).toContain("Winter newsletter");
    expect(h.slack.refusals).toEqual([]);
  });
});
