import nock from "nock";
import { afterEach, beforeEach, expect, it } from "vitest";
import { approveSending } from "../../src/sendings/approve-sending.js";
import { remindApprovers } from "../../src/sendings/remind-approvers.js";
import { ActionId } from "../../src/slack/ids.js";
import { describeEachDatabase } from "../support/databases.js";
import { API_TOKEN, APPROVALS_CHANNEL, givenPendingSending, NOW, settle, startSlackHarness, type SlackHarness } from "../support/slack-harness.js";

/** What the approvals channel shows, read from the stand-in's workspace as a person would see it. */
const threadOf = (h: SlackHarness, ts: string) => h.slack.workspace.replies(APPROVALS_CHANNEL, ts).map((m) => m.text);

describeEachDatabase("the sending's thread in Slack", (provider) => {
  let h: SlackHarness;
  beforeEach(async () => {
    h = await startSlackHarness(provider);
  });
  afterEach(async () => {
    nock.cleanAll();
    nock.enableNetConnect();
    await h.close();
  });

  it("a connection reset while the card is posted loses nothing: the card is posted when Slack answers again", async () => {
    // A fault no server produces on request: the connection dies under the client, on every retry. An
    // Error with a code, as a socket emits it: nock's interceptor never delivers anything else to Node's HTTP client.
    nock.disableNetConnect();
    nock.enableNetConnect(/127\.0\.0\.1/);
    const origin = new URL(h.config.slack.apiUrl).origin;
    const reset = nock(origin, { allowUnmocked: true }).post("/api/chat.postMessage").times(3).replyWithError(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }));
    const s = await givenPendingSending(h);
    expect(reset.isDone()).toBe(true);
    expect((await h.db.prisma.sending.findUniqueOrThrow({ where: { id: s.id } })).slackTs).toBeNull();
    expect(h.slack.workspace.history(APPROVALS_CHANNEL)).toHaveLength(0);

    await h.notifier.postMissing();
    const card = await h.approvalMessage(s.id);
    expect(h.slack.workspace.message(APPROVALS_CHANNEL, card.ts)?.text).toContain("Spring newsletter");
  });

  it("reminds the approvers, people and user groups, once in the thread shortly before launch", async () => {
    const s = await givenPendingSending(h, { launchAt: new Date(NOW.getTime() + 90 * 60_000) });
    const card = await h.approvalMessage(s.id);
    await remindApprovers(h.deps, { before: 120 });
    await remindApprovers(h.deps, { before: 120 });
    await settle(h, () => threadOf(h, card.ts).length === 1);
    const [reminder] = threadOf(h, card.ts);
    expect(reminder).toContain("<@UAPPROVER1> <@UAPPROVER2> <!subteam^SAPPROVERS>");
    expect(reminder).toMatch(/launches <!date\^\d+\^[^|]+\|[^>]+> and still waits for approval/);
  });

  it("a content change through the API withdraws the approval, and the card and thread say so", async () => {
    const s = await givenPendingSending(h, { requestedBy: "UREQUESTER" });
    const card = await h.approvalMessage(s.id);
    await h.click("UAPPROVER1", card, ActionId.approve);
    await settle(h, async () => (await h.db.prisma.sending.findUniqueOrThrow({ where: { id: s.id } })).status === "SCHEDULED");
    const res = await fetch(`${h.baseUrl}/api/sendings/${s.id}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${API_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ subject: "Hello again {{firstName}}", changedBy: "UREQUESTER" }),
    });
    expect(res.status).toBe(200);
    await settle(h, () => threadOf(h, card.ts).some((line) => line.includes("changed")));
    const note = threadOf(h, card.ts).find((line) => line.includes("changed"))!;
    expect(note).toContain("<@UREQUESTER> changed the subject from “Hello {{firstName}}” to “Hello again {{firstName}}”.");
    expect(note).toContain("The approval given before no longer counts: it needs approving again.");
    expect(note).toContain("<@UAPPROVER1> <@UAPPROVER2> <!subteam^SAPPROVERS>");
    const shown = JSON.stringify(h.slack.workspace.message(APPROVALS_CHANNEL, card.ts)!.blocks);
    expect(shown).toContain(ActionId.approve);

    // Without changedBy, the change is told with the name of the API token that made it.
    const renamed = await fetch(`${h.baseUrl}/api/sendings/${s.id}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${API_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "Spring newsletter, second try" }),
    });
    expect(renamed.status).toBe(200);
    await settle(h, () => threadOf(h, card.ts).some((line) => line.includes("changed the name")));
    expect(threadOf(h, card.ts).find((line) => line.includes("changed the name"))).toBe(
      ":pencil2: API token _token-1_ changed the name from “Spring newsletter” to “Spring newsletter, second try”.",
    );
    expect((await h.db.prisma.sending.findUniqueOrThrow({ where: { id: s.id } })).status).toBe("PENDING_APPROVAL");
  });

  it("a burst of approvals: each one's line in the thread, in order, and the card with the last count", async () => {
    const people = Array.from({ length: 8 }, (_, i) => `UAPPR${i}`);
    const many = await startSlackHarness(provider, { APPROVERS: people.join(","), REQUIRED_APPROVALS: "10" });
    try {
      const s = await givenPendingSending(many);
      const card = await many.approvalMessage(s.id);
      await Promise.all(people.map((userId) => approveSending(many.deps, { sendingId: s.id, userId })));
      await settle(many, () => threadOf(many, card.ts).length === people.length);
      const lines = threadOf(many, card.ts);
      expect(lines.map((line) => /approved \((\d+) of 10\)/.exec(line)?.[1])).toEqual(people.map((_, i) => String(i + 1)));
      expect(new Set(lines.map((line) => /<@(\w+)>/.exec(line)?.[1]))).toEqual(new Set(people));
      expect(JSON.stringify(many.slack.workspace.message(APPROVALS_CHANNEL, card.ts)!.blocks)).toContain("8 of 10 approvals");
    } finally {
      await many.close();
    }
  });
});
