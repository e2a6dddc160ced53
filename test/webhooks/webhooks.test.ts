import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Webhook } from "standardwebhooks";
import { loadConfig, ConfigError } from "../../src/config.js";
import { approveSending } from "../../src/sendings/approve-sending.js";
import { cancelSending } from "../../src/sendings/cancel-sending.js";
import { pauseSending } from "../../src/sendings/pause-sending.js";
import { rejectSending } from "../../src/sendings/reject-sending.js";
import { rescheduleSending } from "../../src/sendings/reschedule-sending.js";
import { resumeSending } from "../../src/sendings/resume-sending.js";
import { updateSending } from "../../src/sendings/update-sending.js";
import { silentNotifier } from "../../src/sendings/support/ports.js";
import { describeEachDatabase } from "../support/databases.js";
import { givenPendingSending, NOW, startSlackHarness, type SlackHarness } from "../support/slack-harness.js";
import { webhookDocumentation } from "../support/webhook-documentation.js";
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from "../support/webhook-receiver.js";

const SECRET_OLD = `whsec_${Buffer.alloc(32, 7).toString("base64")}`;
const SECRET_NEW = `whsec_${Buffer.alloc(32, 9).toString("base64")}`;
const HOUR = 3_600_000;

/** Verified as a receiver would, with the Standard Webhooks library, at the time the request was signed. */
function verify(secret: string, request: ReceivedWebhook): { type: string; data: Record<string, unknown> } {
  vi.useFakeTimers({ toFake: ["Date"], now: Number(request.headers["webhook-timestamp"]) * 1000 });
  try {
    return new Webhook(secret).verify(request.body, request.headers as Record<string, string>) as { type: string; data: Record<string, unknown> };
  } finally {
    vi.useRealTimers();
  }
}

async function until(h: SlackHarness, condition: () => boolean | Promise<boolean>, what: string) {
  for (let i = 0; i < 200; i += 1) {
    await h.app.webhooks?.wake();
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`never happened: ${what}`);
}

const typesOf = (receiver: WebhookReceiver) => receiver.accepted().map((event) => event.type);
const later = (ms: number) => new Date(NOW.getTime() + ms);

const documented = webhookDocumentation();

describeEachDatabase("webhook events", (provider) => {
  let receiver: WebhookReceiver;
  let h: SlackHarness;
  const start = async (env: Record<string, string> = {}) => {
    h = await startSlackHarness(provider, { WEBHOOK_URLS: receiver.url, WEBHOOK_SECRET: `${SECRET_OLD} ${SECRET_NEW}`, ...env });
  };
  beforeEach(async () => {
    receiver = await startWebhookReceiver();
  });
  afterEach(async () => {
    await h?.close();
    await receiver.close();
    // Every body a test's receiver got is what the OpenAPI document says that event's body is.
    for (const request of receiver.received) {
      const payload = JSON.parse(request.body) as { type: string };
      expect(documented.problemsOf(payload), `${payload.type}: ${request.body}`).toBeUndefined();
    }
  });

  it("each change of a sending reaches the endpoint in order, signed with every configured secret", async () => {
    await start({ REQUIRED_APPROVALS: "2" });
    const s = await givenPendingSending(h);
    await rescheduleSending(h.deps, { sendingId: s.id, userId: "UAPPROVER1", launchAt: later(2 * HOUR) });
    await approveSending(h.deps, { sendingId: s.id, userId: "UAPPROVER1", contentHash: s.contentHash });
    await approveSending(h.deps, { sendingId: s.id, userId: "UAPPROVER2", contentHash: s.contentHash });
    h.clock.set(later(2 * HOUR + 60_000));
    await h.app.engine.tick();
    await h.app.engine.idle();
    await until(h, () => receiver.accepted().length === 6, "six events delivered");

    expect(typesOf(receiver)).toEqual([
      "sending.created",
      "sending.rescheduled",
      "sending.approval_added",
      "sending.approved",
      "sending.started",
      "sending.completed",
    ]);
    // A receiver that knows only the old secret, or only the new one, accepts every request.
    for (const request of receiver.received) {
      expect(verify(SECRET_OLD, request)).toEqual(JSON.parse(request.body));
      expect(verify(SECRET_NEW, request).type).toBe(JSON.parse(request.body).type);
      expect(request.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=* v1,[A-Za-z0-9+/]+=*$/);
    }
    const tampered = { ...receiver.received[0]!, body: receiver.received[0]!.body.replace("sending.created", "sending.approved") };
    expect(() => verify(SECRET_OLD, tampered)).toThrow(/signature/i);
    expect(() => verify(`whsec_${Buffer.alloc(32, 1).toString("base64")}`, receiver.received[0]!)).toThrow(/signature/i);

    const [created, rescheduled, added, approved, started, completed] = receiver.accepted();
    expect(created!.data).toEqual({ sendingId: s.id });
    expect(rescheduled!.data).toMatchObject({ sendingId: s.id, by: "UAPPROVER1", to: later(2 * HOUR).toISOString() });
    expect(added!.data).toEqual({ sendingId: s.id, by: "UAPPROVER1", approvals: 1, required: 2 });
    expect(approved!.data).toEqual({ sendingId: s.id, by: "UAPPROVER2", approvals: 2, required: 2 });
    expect(started!.data).toMatchObject({ sendingId: s.id, total: 3 });
    expect(completed!.data).toEqual({ sendingId: s.id, total: 3, sent: 3, failed: 0, cancelled: 0 });
    // One id an event, so a receiver can drop what it already has.
    expect(new Set(receiver.received.map((r) => r.headers["webhook-id"])).size).toBe(6);
  });

  it("rejections, content changes, pauses, resumes and cancellations reach the endpoint with who, why and what became of the prepared messages", async () => {
    await start();
    const rejected = await givenPendingSending(h);
    await rejectSending(h.deps, { sendingId: rejected.id, userId: "UAPPROVER1", reason: "Wrong list" });
    const changed = await givenPendingSending(h);
    await approveSending(h.deps, { sendingId: changed.id, userId: "UAPPROVER1", contentHash: changed.contentHash });
    await updateSending(h.deps, { sendingId: changed.id, change: { subject: "Hello again {{firstName}}" }, tokenName: "crm" });
    const steered = await givenPendingSending(h);
    // Delivering, as the engine leaves a sending it has started: pause and resume act on deliveries only.
    await h.deps.db.prisma.sending.update({ where: { id: steered.id }, data: { status: "SENDING" } });
    await pauseSending(h.deps, { sendingId: steered.id, actor: "operator:oncall", reason: "Slack is down, checking the list" });
    await resumeSending(h.deps, { sendingId: steered.id, actor: "UAPPROVER2" });
    await cancelSending(h.deps, { sendingId: steered.id, actor: "UAPPROVER2", reason: "Sent by mistake", prepared: "drop" });
    await until(h, () => receiver.accepted().length === 9, "nine events delivered");

    const of = (id: string) => receiver.accepted().filter((event) => event.data.sendingId === id);
    expect(of(rejected.id).map((event) => [event.type, event.data])).toEqual([
      ["sending.created", { sendingId: rejected.id }],
      ["sending.rejected", { sendingId: rejected.id, by: "UAPPROVER1", reason: "Wrong list" }],
    ]);
    expect(of(changed.id).map((event) => [event.type, event.data])).toEqual([
      ["sending.created", { sendingId: changed.id }],
      ["sending.approved", { sendingId: changed.id, by: "UAPPROVER1", approvals: 1, required: 1 }],
      ["sending.content_changed", { sendingId: changed.id, by: "api:crm", changed: ["subject"], approvalsWithdrawn: 1 }],
    ]);
    expect(of(steered.id).map((event) => [event.type, event.data])).toEqual([
      ["sending.created", { sendingId: steered.id }],
      ["sending.paused", { sendingId: steered.id, by: "operator:oncall", automatic: false, reason: "Slack is down, checking the list" }],
      ["sending.resumed", { sendingId: steered.id, by: "UAPPROVER2" }],
      ["sending.cancelled", { sendingId: steered.id, by: "UAPPROVER2", reason: "Sent by mistake", prepared: "none", preparedCount: 0 }],
    ]);
    // Between them, this test and the first one see every event type the document describes.
    expect(documented.types).toHaveLength(11);
  });

  it("a failing endpoint is retried with backoff under the same id, and later events wait for it", async () => {
    await start();
    receiver.answer = ({ index }) => (index < 2 ? 500 : 200);
    const s = await givenPendingSending(h);
    await rescheduleSending(h.deps, { sendingId: s.id, userId: "UAPPROVER1", launchAt: later(2 * HOUR) });
    await until(h, () => receiver.received.length === 1, "first attempt");
    // Nothing more before the retry is due: the reschedule waits behind the created event.
    await h.app.webhooks!.wake();
    expect(receiver.received.map((r) => r.status)).toEqual([500]);

    h.clock.set(later(10_000));
    await until(h, () => receiver.received.length === 2, "second attempt");
    h.clock.set(later(60_000));
    await until(h, () => receiver.accepted().length === 2, "both delivered");

    expect(receiver.received.map((r) => [JSON.parse(r.body).type, r.status])).toEqual([
      ["sending.created", 500],
      ["sending.created", 500],
      ["sending.created", 200],
      ["sending.rescheduled", 200],
    ]);
    const ids = receiver.received.slice(0, 3).map((r) => r.headers["webhook-id"]);
    expect(new Set(ids).size).toBe(1);
    const rows = await h.db.prisma.webhookDelivery.findMany({ where: { sendingId: s.id }, orderBy: { id: "asc" } });
    expect(rows.map((r) => [r.attempts, r.deliveredAt !== null])).toEqual([
      [3, true],
      [1, true],
    ]);
  });

  it("an event the endpoint never takes is marked failed after 24 hours, logged and counted; the next one goes", async () => {
    await start();
    receiver.answer = ({ body }) => (JSON.parse(body).type === "sending.created" ? 503 : 200);
    const s = await givenPendingSending(h);
    await rescheduleSending(h.deps, { sendingId: s.id, userId: "UAPPROVER1", launchAt: later(48 * HOUR) });
    await until(h, () => receiver.received.length === 1, "first attempt");
    // Time moves to each retry as it falls due.
    for (let i = 0; i < 100 && receiver.accepted().length === 0; i += 1) {
      const waiting = await h.db.prisma.webhookDelivery.findFirst({ where: { sendingId: s.id, deliveredAt: null, failedAt: null }, orderBy: { id: "asc" } });
      if (waiting?.nextAttemptAt) h.clock.set(waiting.nextAttemptAt);
      await h.app.webhooks!.wake();
    }
    expect(typesOf(receiver)).toEqual(["sending.rescheduled"]);
    const [created] = await h.db.prisma.webhookDelivery.findMany({ where: { sendingId: s.id }, orderBy: { id: "asc" } });
    expect(created!.failedAt).not.toBeNull();
    expect(created!.lastError).toBe("HTTP 503");
    // Backoff: attempts thin out to one an hour, and stop once the waits add up to a day.
    expect(created!.attempts).toBeGreaterThan(20);
    expect(created!.attempts).toBeLessThan(40);
    expect(created!.failedAt!.getTime() - NOW.getTime()).toBeLessThanOrEqual(24 * HOUR);
    expect(created!.failedAt!.getTime() - NOW.getTime()).toBeGreaterThan(22 * HOUR);
    const metrics = await (await fetch(`${h.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/sendgate_webhook_attempts_total\{outcome="failed"\} 1\b/);
    expect(metrics).toMatch(/sendgate_webhook_attempts_total\{outcome="delivered"\} 1\b/);
  });

  it("a 410 disables the endpoint, across restarts, until the configured list changes", async () => {
    const other = await startWebhookReceiver("/other");
    try {
      await start({ WEBHOOK_URLS: `${receiver.url},${other.url}` });
      receiver.answer = () => 410;
      const s = await givenPendingSending(h);
      await until(h, () => receiver.received.length === 1 && other.accepted().length === 1, "created told to both");
      const endpoint = await h.db.prisma.webhookEndpoint.findUniqueOrThrow({ where: { url: receiver.url } });
      expect(endpoint.disabledAt).not.toBeNull();
      expect(endpoint.disabledReason).toMatch(/410/);

      await h.restart();
      await rescheduleSending(h.deps, { sendingId: s.id, userId: "UAPPROVER1", launchAt: later(3 * HOUR) });
      await until(h, () => other.accepted().length === 2, "rescheduled told to the other endpoint");
      expect(receiver.received).toHaveLength(1);

      // The operator fixed the receiver and changed the list: it is owed events again (new ones only).
      receiver.answer = () => 200;
      const third = await startWebhookReceiver("/third");
      try {
        await h.restart({ WEBHOOK_URLS: `${receiver.url},${other.url},${third.url}` });
        await rescheduleSending(h.deps, { sendingId: s.id, userId: "UAPPROVER1", launchAt: later(4 * HOUR) });
        await until(h, () => typesOf(receiver).length === 1 && typesOf(third).length === 1, "re-enabled endpoint told");
        expect(typesOf(receiver)).toEqual(["sending.rescheduled"]);
        expect(typesOf(third)).toEqual(["sending.rescheduled"]);
      } finally {
        await third.close();
      }
    } finally {
      await other.close();
    }
  });

  it("an event committed by a process that died before telling it is delivered by the next one, once", async () => {
    await start();
    const s = await givenPendingSending(h);
    await until(h, () => receiver.accepted().length === 1, "created delivered");
    // The change commits, and the process dies before anything after the commit runs.
    await rescheduleSending({ ...h.deps, notifier: silentNotifier }, { sendingId: s.id, userId: "UAPPROVER1", launchAt: later(5 * HOUR) });
    await h.restart();
    await until(h, () => receiver.accepted().length === 2, "rescheduled delivered after the restart");
    await h.app.webhooks!.wake();
    expect(typesOf(receiver)).toEqual(["sending.created", "sending.rescheduled"]);
  });

  it("endpoints do not wait for one another", async () => {
    const other = await startWebhookReceiver("/other");
    try {
      await start({ WEBHOOK_URLS: `${receiver.url},${other.url}` });
      receiver.answer = () => 503;
      const s = await givenPendingSending(h);
      await rescheduleSending(h.deps, { sendingId: s.id, userId: "UAPPROVER1", launchAt: later(3 * HOUR) });
      await until(h, () => other.accepted().length === 2, "the healthy endpoint got both");
      expect(receiver.accepted()).toHaveLength(0);
    } finally {
      await other.close();
    }
  });
});

describe("webhook settings", () => {
  const base = { SLACK_BOT_TOKEN: "xoxb-1", SLACK_SIGNING_SECRET: "s".repeat(32), SLACK_APPROVALS_CHANNEL: "C0123ABCD", APPROVERS: "U0123ABCD" };
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig({ ...base, ...env });
      return [];
    } catch (error) {
      return (error as ConfigError).problems;
    }
  };

  it("refuses URLs without a secret, secrets that are not whsec_ keys, and URLs that are not http(s)", () => {
    expect(problems({ WEBHOOK_URLS: "https://crm.acme.test/hooks" }).join("\n")).toMatch(/WEBHOOK_SECRET is required with WEBHOOK_URLS/);
    expect(problems({ WEBHOOK_URLS: "https://crm.acme.test/hooks", WEBHOOK_SECRET: "hunter2" }).join("\n")).toMatch(/WEBHOOK_SECRET entry 1 must be whsec_/);
    expect(problems({ WEBHOOK_URLS: "https://crm.acme.test/hooks", WEBHOOK_SECRET: `${SECRET_OLD} whsec_c2hvcnQ=` }).join("\n")).toMatch(
      /WEBHOOK_SECRET entry 2 holds a 5-byte key/,
    );
    expect(problems({ WEBHOOK_URLS: "ftp://crm.acme.test/hooks", WEBHOOK_SECRET: SECRET_OLD }).join("\n")).toMatch(/WEBHOOK_URLS.*http:\/\/ or https:\/\//);
  });

  it("takes several URLs and secrets", () => {
    const config = loadConfig({ ...base, WEBHOOK_URLS: "https://a.test/h, https://b.test/h", WEBHOOK_SECRET: `${SECRET_OLD} ${SECRET_NEW}` });
    expect(config.webhooks.urls).toEqual(["https://a.test/h", "https://b.test/h"]);
    expect(config.webhooks.secrets).toHaveLength(2);
  });
});
