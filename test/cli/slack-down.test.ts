import { afterEach, beforeEach, expect, it } from "vitest";
import { runCli } from "../../src/cli/run-cli.js";
import { HANDOFFS_PER_CONNECTION } from "../../src/sender/delivery-run.js";
import { describeEachDatabase } from "../support/databases.js";
import { APPROVALS_CHANNEL, givenPendingSending, NOW, startSlackHarness, type SlackHarness } from "../support/slack-harness.js";
import { startSmtpSink, type SmtpSink } from "../sender/support/smtp-sink.js";

const OPERATOR_TOKEN = "oncall-token-0123456789abcdef0123456789abcdef";
const recipients = Array.from({ length: 40 }, (_, i) => ({ email: `r${String(i).padStart(2, "0")}@example.com`, vars: { firstName: `R${i}` } }));
/** The mail server holds this message until the test lets it go: delivery is caught midway. */
const HELD_MESSAGE = 10;

/**
 * The operations issue's proof: with Slack's Web API answering 500 to every call, an operator finds
 * the sending that is delivering, pauses it and cancels it with the CLI; when Slack answers again,
 * its thread tells who did what.
 */
describeEachDatabase("when Slack is down, an operator steers a delivery with the CLI", (provider) => {
  let h: SlackHarness;
  let smtp: SmtpSink;
  let release: () => void;
  beforeEach(async () => {
    const held = new Promise<void>((resolve) => (release = resolve));
    smtp = await startSmtpSink({ received: (_mail, count) => (count === HELD_MESSAGE ? held : undefined) });
    h = await startSlackHarness(provider, {
      SMTP_URL: smtp.url,
      SEND_RATE: "1000",
      SEND_CONCURRENCY: "1",
      SENDER_PREPARE_WINDOW: "20",
      OPERATOR_TOKENS: `oncall:${OPERATOR_TOKEN}`,
    });
  });
  afterEach(async () => {
    release();
    h.slack.failAll(undefined);
    await h.close();
    await smtp.close();
  });

  async function cli(...args: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const status = await runCli(args, {
      env: { SENDGATE_URL: h.baseUrl, SENDGATE_OPERATOR_TOKEN: OPERATOR_TOKEN },
      out: (line) => out.push(line),
      err: (line) => err.push(line),
    });
    return { status, out: out.join("\n"), err: err.join("\n") };
  }

  const sendingOf = (id: string) => h.db.prisma.sending.findUniqueOrThrow({ where: { id } });
  const threadOf = (ts: string) => h.slack.workspace.replies(APPROVALS_CHANNEL, ts).map((message) => message.text);

  async function until(condition: () => boolean | Promise<boolean>, what: string) {
    const deadline = Date.now() + 10_000;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it("lists, pauses and cancels a delivering sending while every Slack call fails; the thread tells it once Slack is back", async () => {
    const s = await givenPendingSending(h, { recipients });
    const card = await h.approvalMessage(s.id);
    await h.db.prisma.sending.update({ where: { id: s.id }, data: { status: "SCHEDULED", launchAt: NOW } });

    // Slack goes down: from here every Web API call, whatever its method, is answered 500.
    h.slack.failAll({ status: 500, error: "internal_error" });
    const callsBefore = h.slack.calls.length;
    await h.app.engine.tick();
    await until(() => smtp.received.length >= HELD_MESSAGE, "the mail server holds a message");
    expect((await sendingOf(s.id)).status).toBe("SENDING");

    const listed = await cli("list", "--status", "SENDING,PAUSED");
    expect(listed.status, listed.err).toBe(0);
    const row = listed.out.split("\n").find((line) => line.startsWith(s.id));
    expect(row?.split(/ {2,}/).slice(0, 4)).toEqual([s.id, "SENDING", "2026-11-27 10:00", "40"]);

    const paused = await cli("pause", s.id, "--reason", "the link in the footer is wrong");
    expect(paused).toEqual({ status: 0, out: `Paused ${s.id}: now PAUSED; no more messages go to the mail server (the few in its hands finish).`, err: "" });
    expect((await sendingOf(s.id)).status).toBe("PAUSED");

    // The messages already in the mail server's hands finish (a few per connection); no more are handed over.
    release();
    await h.app.engine.idle();
    const delivered = smtp.received.length;
    expect(delivered).toBeGreaterThanOrEqual(HELD_MESSAGE);
    expect(delivered).toBeLessThanOrEqual(HELD_MESSAGE + HANDOFFS_PER_CONNECTION);

    const cancelled = await cli("cancel", s.id, "--reason", "wrong audience", "--prepared", "drop");
    expect(cancelled.status, cancelled.err).toBe(0);
    const dropped = /^Cancelled (\S+): now CANCELLED; (\d+) recipients will not get it; (\d+) prepared messages dropped\.$/.exec(cancelled.out);
    expect(dropped, cancelled.out).not.toBeNull();
    expect(dropped!.slice(1).map((value, i) => (i === 0 ? value : Number(value)))).toEqual([
      s.id,
      recipients.length - delivered,
      // The engine had rendered messages ahead of delivery: the operator's choice dropped them.
      JSON.parse((await h.db.prisma.auditEvent.findFirstOrThrow({ where: { sendingId: s.id, action: "cancelled" } })).details ?? "{}").preparedCount,
    ]);
    expect(Number(dropped![3])).toBeGreaterThan(0);
    expect(await sendingOf(s.id)).toMatchObject({ status: "CANCELLED" });
    expect(await h.db.prisma.recipient.count({ where: { sendingId: s.id, status: "CANCELLED" } })).toBe(recipients.length - delivered);
    await h.app.engine.tick();
    await h.app.engine.idle();
    expect(smtp.received).toHaveLength(delivered);

    // Slack was tried all along, and answered nothing but 500s.
    const duringOutage = h.slack.calls.slice(callsBefore);
    expect(duringOutage.length).toBeGreaterThan(0);
    expect(duringOutage.every((call) => !call.ok && call.error === "internal_error")).toBe(true);
    expect(threadOf(card.ts).filter((text) => text?.includes("operator"))).toEqual([]);
    const audit = await h.db.prisma.auditEvent.findMany({ where: { sendingId: s.id, actor: { startsWith: "operator:" } }, orderBy: { id: "asc" } });
    expect(audit.map((a) => [a.actor, a.action, a.reason])).toEqual([
      ["operator:oncall", "paused", "the link in the footer is wrong"],
      ["operator:oncall", "cancelled", "wrong audience"],
    ]);

    // Slack answers again: the outbox tells the story in order, naming the operator.
    h.slack.failAll(undefined);
    for (let round = 0; round < 20 && !threadOf(card.ts).some((text) => text?.includes("cancelled it")); round += 1) {
      h.clock.set(new Date(h.clock.now().getTime() + 5 * 60_000));
      await h.notifier.flush();
    }
    const thread = threadOf(card.ts);
    const told = [
      ":double_vertical_bar: operator _oncall_ paused delivery: the link in the footer is wrong",
      `:x: operator _oncall_ cancelled it: wrong audience. The ${dropped![3]} messages already prepared (rendered and waiting for the mail server) were dropped.`,
    ];
    expect(thread.filter((text) => text?.includes("operator _oncall_")), JSON.stringify(thread)).toEqual(told);
    expect(h.slack.workspace.message(APPROVALS_CHANNEL, card.ts)?.text).toContain("Cancelled");
    expect(await h.db.prisma.outboxMessage.count({ where: { sendingId: s.id, deliveredAt: null } })).toBe(0);
  });
});
