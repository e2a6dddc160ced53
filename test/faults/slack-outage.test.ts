import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pino from "pino";
import { loadConfig } from "../../src/config.js";
import { parseOutboxEvent } from "../../src/db/outbox.js";
import { contentHash, EMPTY_RECIPIENTS_DIGEST } from "../../src/domain/content-hash.js";
import { HANDOFFS_PER_CONNECTION } from "../../src/sender/delivery-run.js";
import { startSendgate, type Sendgate } from "../../src/sendgate.js";
import { newSendingId } from "../../src/sendings/support/sending-id.js";
import { httpTransport } from "../../src/slack-standin/app-transport.js";
import { describeEvent } from "../../src/slack/blocks/thread-messages.js";
import { ActionId } from "../../src/slack/ids.js";
import { APPROVALS_CHANNEL, BOT_TOKEN, describeRefusals } from "../support/slack-api.js";
import { SIGNING_SECRET } from "../support/slack-requests.js";
import { createFaultDatabase, type FaultDatabase } from "./support/databases.js";
import { startFaultSink, type FaultSink } from "./support/fault-sink.js";
import { countAtSink, reportCase } from "./support/figures.js";
import type { LogLine } from "./support/sendgate-process.js";
import { startStoppableStandin, type StoppableStandin } from "./support/stoppable-standin.js";
import { recordedRecipients, until, untilStatus } from "./support/waits.js";

const OPERATOR_TOKEN = "oncall-faults-token-0123456789abcdef0123456789";
const CONCURRENCY = 4;
const RATE = 250;
/**
 * sendgate's clock runs this many times faster than the wall clock, so that the outbox's retry
 * intervals (1 s, 2 s, 4 s… up to a minute, not configurable) pass in a fraction of the time. Leases
 * are set long enough that the fast clock never expires one.
 */
const CLOCK_SPEED = 10;

/**
 * Slack unreachable (connection refused: the stand-in's port closed) for several of the outbox's
 * retry intervals, during approvals and deliveries. Meanwhile approvals clicked in Slack are recorded,
 * deliveries go out at the rate they go with Slack up, and pauses, resumes and cancels made through the
 * operator API take effect. When Slack is back, every sending's thread tells its story in order and
 * the cards show where each stands.
 */
describe("Slack unreachable during approvals and delivery", () => {
  let db: FaultDatabase;
  let sink: FaultSink;
  let slack: StoppableStandin;
  let app: Sendgate;
  const log: LogLine[] = [];

  beforeAll(async () => {
    db = await createFaultDatabase("sqlite");
    sink = await startFaultSink();
    slack = await startStoppableStandin();
    const config = loadConfig({
      DATABASE_URL: db.url,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.apiUrl,
      SLACK_APPROVALS_CHANNEL: APPROVALS_CHANNEL,
      APPROVERS: "UAPPROVER1,UAPPROVER2",
      API_TOKENS: "faults:faults-api-token-0123456789abcdef0123456789",
      OPERATOR_TOKENS: `oncall:${OPERATOR_TOKEN}`,
      PORT: "0",
      SMTP_URL: sink.url,
      SEND_RATE: String(RATE),
      SEND_CONCURRENCY: String(CONCURRENCY),
      SENDER_CRON: "* * * * * *",
      SENDER_LEASE_SECONDS: "36000",
    });
    const startedAt = Date.now();
    const clock = { now: () => new Date(startedAt + (Date.now() - startedAt) * CLOCK_SPEED) };
    const logger = pino({ level: "info" }, { write: (text: string) => void log.push(JSON.parse(text) as LogLine) });
    app = await startSendgate(config, { log: logger, clock, host: "127.0.0.1", progressIntervalMs: 500 });
    slack.standin.connect(httpTransport(`${app.baseUrl}/slack/events`, SIGNING_SECRET));
  });
  afterAll(async () => {
    await slack?.up();
    await app?.stop();
    await slack?.close();
    await sink?.close();
    await db?.destroy();
  });

  /** A sending waiting for approval, its card posted (Slack is up when it arrives). */
  async function pendingSending(name: string, recipients: number) {
    const id = newSendingId();
    const content = { subject: "Hello {{firstName}}", fromName: "Acme", fromEmail: "news@acme.test", replyTo: null, html: "<p>Hi {{firstName}}</p>", text: null };
    const hash = contentHash(content, EMPTY_RECIPIENTS_DIGEST);
    await db.prisma.sending.create({
      data: {
        id,
        name,
        ...content,
        launchAt: new Date(app.deps.clock.now().getTime() + 24 * 3600_000),
        requestedBy: "UREQUESTER",
        contentHash: hash,
        recipientsDigest: EMPTY_RECIPIENTS_DIGEST,
        recipientCount: recipients,
        events: { create: { actor: "UREQUESTER", action: "created" } },
      },
    });
    const rows = Array.from({ length: recipients }, (_, i) => ({ sendingId: id, email: `${name.toLowerCase()}-r${i}@example.test`, vars: JSON.stringify({ firstName: `R${i}` }) }));
    for (let start = 0; start < rows.length; start += 500) await db.prisma.recipient.createMany({ data: rows.slice(start, start + 500) });
    await app.notifier.sendingChanged(id, { kind: "created" });
    await until(`the card of ${name} is posted`, async () => Boolean((await sendingRow(id)).slackTs), 30_000);
    return id;
  }

  const sendingRow = (id: string) => db.prisma.sending.findUniqueOrThrow({ where: { id } });
  const copiesOf = (id: string) => sink.copies.filter((copy) => copy.messageId.startsWith(`<${id}.`));

  async function approve(id: string) {
    const { slackChannel, slackTs } = await sendingRow(id);
    await slack.standin.click("UAPPROVER1", { channel: slackChannel!, ts: slackTs! }, ActionId.approve);
    await untilStatus(db, id, ["SCHEDULED"], 30_000);
  }

  /** Its launch date comes: brought forward to now, as if the day had come. */
  async function launch(id: string) {
    await db.prisma.sending.update({ where: { id }, data: { launchAt: app.deps.clock.now() } });
  }

  async function operator(path: string, body?: object) {
    const response = await fetch(`${app.baseUrl}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${OPERATOR_TOKEN}`, "content-type": "application/json" },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  /** Delivers a sending to the end and says how fast, on the wall clock and in this process's CPU. */
  async function deliverMeasured(id: string, recipients: number) {
    const cpu = process.cpuUsage();
    await launch(id);
    await untilStatus(db, id, ["COMPLETED"], 120_000);
    const used = process.cpuUsage(cpu);
    const times = copiesOf(id).filter((copy) => copy.outcome === "accepted").map((copy) => copy.at);
    const seconds = (Math.max(...times) - Math.min(...times)) / 1000;
    return { rate: (recipients - 1) / seconds, cpuMicrosPerMessage: (used.user + used.system) / recipients };
  }

  const undelivered = () => db.prisma.outboxMessage.count({ where: { deliveredAt: null } });

  /** The thread's lines in order, without the live progress report (one message, edited in place). */
  async function threadOf(id: string) {
    const { slackChannel, slackTs, progressTs } = await sendingRow(id);
    return slack.standin.workspace
      .replies(slackChannel!, slackTs!)
      .filter((message) => message.ts !== progressTs)
      .map((message) => message.text);
  }

  /** The lines the outbox owed the thread, in the order the changes were made. */
  async function owedLines(id: string) {
    const rows = await db.prisma.outboxMessage.findMany({ where: { sendingId: id }, orderBy: { id: "asc" } });
    return rows.map((row) => describeEvent(parseOutboxEvent(row.event))).filter((line): line is string => line !== null);
  }

  it("approvals, deliveries and operator controls go on while Slack is refused; the threads tell it all in order once it is back; delivery never slows", async () => {
    const started = Date.now();
    // With Slack up: a first delivery warms the process up (JIT, pools, connections), the second is the baseline.
    const warmUp = await pendingSending("Warmup", 300);
    await approve(warmUp);
    await deliverMeasured(warmUp, 300);
    const baseline = await pendingSending("Baseline", 1_000);
    await approve(baseline);
    const up = await deliverMeasured(baseline, 1_000);
    const during = await pendingSending("During", 1_000);
    const steered = await pendingSending("Steered", 600);
    await until("Slack has been told everything", async () => (await undelivered()) === 0, 30_000);

    // Slack goes away: its port refuses connections.
    await slack.down();
    const downAt = Date.now();
    const callsBefore = slack.standin.calls.length;
    await approve(during);
    await approve(steered);
    const down = await deliverMeasured(during, 1_000);

    // An operator steers the other delivery through the API meanwhile.
    const bound = CONCURRENCY * HANDOFFS_PER_CONNECTION;
    const steeredAccepted = () => copiesOf(steered).filter((copy) => copy.outcome === "accepted").length;
    await launch(steered);
    await until("the steered sending is under way", () => steeredAccepted() >= 150, 60_000, 10);
    const paused = await operator(`/api/sendings/${steered}/pause`, { reason: "the link in the footer is wrong" });
    expect(paused).toMatchObject({ status: 200, body: { status: "PAUSED" } });
    const atPause = steeredAccepted();
    await until("the engine let the paused sending go", () => !app.engine.delivering().includes(steered), 30_000);
    const afterPause = steeredAccepted();
    expect(afterPause - atPause).toBeLessThanOrEqual(bound);
    expect((await sendingRow(steered)).status).toBe("PAUSED");

    const resumed = await operator(`/api/sendings/${steered}/resume`);
    expect(resumed).toMatchObject({ status: 200, body: { status: "SENDING" } });
    await until("delivery went on after the resume", () => steeredAccepted() >= afterPause + 100, 60_000, 10);
    const cancelled = await operator(`/api/sendings/${steered}/cancel`, { reason: "wrong audience", prepared: "drop" });
    expect(cancelled).toMatchObject({ status: 200, body: { status: "CANCELLED" } });
    const atCancel = steeredAccepted();
    await until("the engine let the cancelled sending go", () => !app.engine.delivering().includes(steered), 30_000);
    expect(steeredAccepted() - atCancel).toBeLessThanOrEqual(bound);
    const steeredRows = await recordedRecipients(db, steered);
    expect(steeredRows.filter((row) => row.status === "SENT")).toHaveLength(steeredAccepted());
    expect(steeredRows.filter((row) => row.status !== "SENT" && row.status !== "CANCELLED")).toEqual([]);

    // The outage lasts several of the outbox's retry intervals.
    await until("Slack was retried several times", async () => {
      const waiting = await db.prisma.outboxMessage.findMany({ where: { deliveredAt: null }, select: { attempts: true } });
      return waiting.some((row) => row.attempts >= 4);
    }, 120_000, 200);
    const retries = Math.max(...(await db.prisma.outboxMessage.findMany({ select: { attempts: true } })).map((row) => row.attempts));
    // Nothing reached Slack: every call was refused at the door.
    expect(slack.standin.calls.length).toBe(callsBefore);
    const outageWarnings = log.filter((line) => String(line.msg).startsWith("Slack is")).length;

    // Slack is back: the outbox tells each sending's story, in order.
    await slack.up();
    const upAt = Date.now();
    await until("the outbox is told", async () => (await undelivered()) === 0, 120_000, 100);
    const toldAt = Date.now();
    for (const id of [baseline, during, steered]) {
      expect(await threadOf(id), id).toEqual(await owedLines(id));
    }
    expect((await threadOf(steered)).filter((text) => text?.includes("operator _oncall_"))).toEqual([
      ":double_vertical_bar: operator _oncall_ paused delivery: the link in the footer is wrong",
      ":arrow_forward: operator _oncall_ resumed delivery.",
      expect.stringMatching(/^:x: operator _oncall_ cancelled it: wrong audience\./),
    ]);
    // None given up: every message was told, none dropped after refusals.
    expect(await db.prisma.outboxMessage.count({ where: { lastError: { not: null } } })).toBe(0);
    const card = async (id: string) => {
      const { slackChannel, slackTs } = await sendingRow(id);
      return slack.standin.workspace.message(slackChannel!, slackTs!);
    };
    expect((await card(during))?.text).toMatch(/^Delivered: During/);
    expect((await card(steered))?.text).toMatch(/^Cancelled: Steered/);
    expect(JSON.stringify((await card(steered))?.blocks)).toContain("Cancelled by operator _oncall_");
    expect(slack.standin.refusals, describeRefusals(slack.standin.refusals)).toEqual([]);

    // What the mail server got, for the two sendings delivered during the outage.
    const duringRows = await recordedRecipients(db, during);
    const duringFigures = countAtSink(during, duringRows, copiesOf(during));
    const steeredFigures = countAtSink(steered, steeredRows, copiesOf(steered));
    for (const figures of [duringFigures, steeredFigures]) {
      expect(figures.lost).toBe(0);
      expect(figures.receivedTwice).toEqual([]);
      expect(figures.messageIdsKept).toBe(true);
      expect(figures.wrongOutcomes).toEqual([]);
    }
    expect(duringFigures.delivered).toBe(1_000);

    reportCase({
      case: "Slack unreachable (connection refused) during approvals and delivery",
      runs: retries,
      recipients: duringFigures.recipients + steeredFigures.recipients,
      delivered: duringFigures.delivered + steeredFigures.delivered,
      lost: duringFigures.lost + steeredFigures.lost,
      duplicates: duringFigures.receivedTwice.length + steeredFigures.receivedTwice.length,
      messageIdsKept: duringFigures.messageIdsKept && steeredFigures.messageIdsKept,
      recoveryMs: [toldAt - upAt],
      notes:
        `Slack refused for ${((upAt - downAt) / 1000).toFixed(1)} s (the outbox tried each message up to ${retries} times, clock ×${CLOCK_SPEED}; ${outageWarnings} outage warnings logged); ` +
        `2 approvals clicked meanwhile; delivery ${up.rate.toFixed(0)} msg/s with Slack up, ${down.rate.toFixed(0)} msg/s with Slack refused (SEND_RATE ${RATE}), ` +
        `${up.cpuMicrosPerMessage.toFixed(0)} vs ${down.cpuMicrosPerMessage.toFixed(0)} µs of CPU a message; operator pause, resume and cancel took effect within the messages in hand ` +
        `(${afterPause - atPause} after the pause); ${steeredFigures.delivered} of "Steered" delivered before the cancel, the rest cancelled; recovery: from Slack's return until every thread was told (the outbox's backoff, at most 60 s between tries in real time, ÷${CLOCK_SPEED} here)`,
      durationMs: Date.now() - started,
    });
  });
});
