import { afterEach, beforeEach, expect, it } from "vitest";
import { ActionId } from "../../src/slack/ids.js";
import { describeEachDatabase } from "../support/databases.js";
import { givenPendingSending, NOW, settle, startSlackHarness, type SlackHarness } from "../support/slack-harness.js";
import { startSmtpSink, type SmtpSink } from "../sender/support/smtp-sink.js";

const recipients = Array.from({ length: 40 }, (_, i) => ({ email: `r${String(i).padStart(2, "0")}@example.com`, vars: { firstName: `R${i}` } }));

describeEachDatabase("delivery as the Slack thread shows it", (provider) => {
  let h: SlackHarness;
  let smtp: SmtpSink;
  beforeEach(async () => {
    smtp = await startSmtpSink();
    h = await startSlackHarness(provider, { SMTP_URL: smtp.url, SEND_RATE: "1000", SEND_CONCURRENCY: "4" });
  });
  afterEach(async () => {
    await h.close();
    await smtp.close();
  });

  async function givenDueSending() {
    const s = await givenPendingSending(h, { recipients });
    await h.db.prisma.sending.update({ where: { id: s.id }, data: { status: "SCHEDULED", launchAt: NOW } });
    h.slack.resetRecords();
    return s;
  }

  it("posts the delivery report in the thread, then the summary; the card carries Pause while delivering, and the outcome after", async () => {
    const s = await givenDueSending();
    await h.app.engine.tick();
    await h.app.engine.idle();
    expect(smtp.received).toHaveLength(40);
    await settle(h, async () => (await h.db.prisma.sending.findUniqueOrThrow({ where: { id: s.id } })).progressTs !== null);
    await settle(h, () => h.slack.called("chat.update").some((c) => JSON.stringify(c.args).includes("Delivered")));
    const thread = h.slack.called("chat.postMessage").map((c) => String(c.args.text));
    expect(thread.some((t) => t.includes("Delivery started to 40 recipients"))).toBe(true);
    expect(thread.some((t) => t.includes("Delivery finished: 40 delivered, 0 failed"))).toBe(true);
    const progressPosts = h.slack.called("chat.postMessage").filter((c) => c.args.thread_ts && String(c.args.blocks ?? "").includes("Delivering"));
    expect(progressPosts.length).toBeLessThanOrEqual(1);
    // The card, while delivering, offers Pause; the thread's report has no controls.
    const { slackTs } = await h.db.prisma.sending.findUniqueOrThrow({ where: { id: s.id } });
    const whileSending = h.slack.called("chat.update").filter((c) => c.args.ts === slackTs && String(c.args.blocks).includes(":outbox_tray: Sending"));
    expect(whileSending.length).toBeGreaterThan(0);
    expect(String(whileSending[0]!.args.blocks)).toContain(ActionId.pause);
    for (const post of progressPosts) expect(String(post.args.blocks)).not.toContain(ActionId.pause);
    const final = h.slack.called("chat.update").filter((c) => c.args.ts !== slackTs && String(c.args.blocks).includes("Delivered")).at(-1)!;
    expect(String(final.args.blocks)).toContain("*40* delivered");
    expect(String(final.args.blocks)).not.toContain(ActionId.pause);
    const card = h.slack.called("chat.update").filter((c) => c.args.ts === slackTs).at(-1)!;
    expect(String(card.args.blocks)).toContain(":checkered_flag: Delivered: Spring newsletter");
    expect(String(card.args.blocks)).toContain("*Outcome* of 40 recipients: *40* delivered · *0* failed");
    expect(String(card.args.blocks)).not.toContain(ActionId.pause);
  });

  it("Slack answering 429 and 500, or hanging, never stops or slows delivery", async () => {
    const s = await givenDueSending();
    for (const method of ["chat.postMessage", "chat.update"]) {
      h.slack.failNext(method, { status: 429, error: "ratelimited", retryAfter: 1 });
      for (let i = 0; i < 3; i += 1) h.slack.failNext(method, { status: 500, error: "internal_error" });
    }
    h.slack.latencyMs = 2000;
    await h.app.engine.tick();
    await h.app.engine.idle();
    // Every recipient has its one message while Slack has not answered a single call yet.
    expect(smtp.received).toHaveLength(40);
    expect(new Set(smtp.received.map((m) => m.to)).size).toBe(40);
    expect((await h.db.prisma.sending.findUniqueOrThrow({ where: { id: s.id } })).status).toBe("COMPLETED");
    h.slack.latencyMs = 0;
  });
});
