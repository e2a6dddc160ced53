import { afterEach, beforeEach, expect, it } from "vitest";
import { ActionId } from "../../src/slack/ids.js";
import { startSmtpSink, type SmtpSink } from "../sender/support/smtp-sink.js";
import { describeEachDatabase } from "../support/databases.js";
import { givenPendingSending, NOW, settle, startSlackHarness, type SlackHarness } from "../support/slack-harness.js";

const recipients = Array.from({ length: 12 }, (_, i) => ({ email: `r${i}@example.com`, vars: { firstName: `R${i}` } }));

/** The value of one sample in Prometheus text, or undefined when the line is missing. */
function sample(text: string, name: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

describeEachDatabase("metrics after a delivery", (provider) => {
  let h: SlackHarness;
  let smtp: SmtpSink;
  beforeEach(async () => {
    // Two of the twelve are refused for good by the mail server, one is refused for now once.
    smtp = await startSmtpSink({
      rcpt: (address, attempt) =>
        address === "r3@example.com" || address === "r7@example.com"
          ? { code: 550, message: "5.1.1 No such user" }
          : address === "r5@example.com" && attempt === 1
            ? { code: 451, message: "4.7.1 Try again later" }
            : undefined,
    });
    h = await startSlackHarness(provider, { SMTP_URL: smtp.url, SEND_RATE: "1000", SEND_CONCURRENCY: "2", SEND_RETRY_SECONDS: "1" });
  });
  afterEach(async () => {
    await h.close();
    await smtp.close();
  });

  it("counts messages by outcome, SMTP latency, Slack's answers and acknowledgements, and sendings by status", async () => {
    const s = await givenPendingSending(h, { recipients, launchAt: new Date(NOW.getTime() + 3_600_000) });
    await h.click("UAPPROVER1", await h.approvalMessage(s.id), ActionId.approve);
    await settle(h, async () => (await h.db.prisma.sending.findUniqueOrThrow({ where: { id: s.id } })).status === "SCHEDULED");
    h.clock.set(new Date(NOW.getTime() + 3_660_000));
    await h.app.engine.tick();
    await h.app.engine.idle();
    // The retry of r5 comes due a little later on sendgate's clock.
    h.clock.set(new Date(h.clock.now().getTime() + 120_000));
    await h.app.engine.tick();
    await h.app.engine.idle();
    expect((await h.db.prisma.sending.findUniqueOrThrow({ where: { id: s.id } })).status).toBe("COMPLETED");
    await h.notifier.flush();

    const response = await fetch(`${h.baseUrl}/metrics`);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0.0.4/);
    const text = await response.text();
    expect(sample(text, 'sendgate_messages_total{outcome="sent"}')).toBe(10);
    expect(sample(text, 'sendgate_messages_total{outcome="failed"}')).toBe(2);
    expect(sample(text, 'sendgate_messages_total{outcome="retried"}')).toBe(1);
    expect(sample(text, "sendgate_smtp_send_seconds_count")).toBe(13);
    expect(sample(text, "sendgate_smtp_send_seconds_sum")).toBeGreaterThan(0);
    expect(sample(text, "sendgate_prepared_messages")).toBe(0);
    expect(sample(text, 'sendgate_sendings{status="COMPLETED"}')).toBe(1);
    expect(sample(text, 'sendgate_slack_api_calls_total{method="chat.postMessage",outcome="ok"}')).toBeGreaterThanOrEqual(3);
    expect(sample(text, 'sendgate_slack_api_calls_total{method="chat.update",outcome="ok"}')).toBeGreaterThanOrEqual(2);
    // The Approve click was acknowledged, and well inside Slack's 3 seconds.
    expect(sample(text, 'sendgate_slack_ack_seconds_count{receiver="http"}')).toBe(1);
    expect(sample(text, 'sendgate_slack_ack_seconds_bucket{le="3",receiver="http"}')).toBe(1);
    // prom-client's own process metrics are there too.
    expect(sample(text, "process_cpu_user_seconds_total")).toBeGreaterThan(0);
  });
});
