import { ActionId } from "../../src/slack/ids.js";
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { loadConfig, type Config } from "../../src/config.js";
import { contentHash, EMPTY_RECIPIENTS_DIGEST } from "../../src/domain/content-hash.js";
import type { Provider } from "../../src/db/provider.js";
import { newSendingId } from "../../src/sendings/support/sending-id.js";
import { startSendgate, type Sendgate, type StartOptions } from "../../src/sendgate.js";
import type { SlackDeps } from "../../src/slack/deps.js";
import type { SlackNotifier } from "../../src/slack/slack-notifier.js";
import { createTestDatabase, type TestDatabase } from "./databases.js";
import { httpTransport, type Ack } from "../../src/slack-standin/app-transport.js";
import type { SlackStandin, Surface } from "../../src/slack-standin/standin.js";
import type { OpenView } from "../../src/slack-standin/workspace.js";
import { APPROVALS_CHANNEL, BOT_TOKEN, describeRefusals, startStandin, type RunningStandin } from "./slack-api.js";
import { SIGNING_SECRET } from "./slack-requests.js";
import { startSocketModeServer, type SocketModeServer } from "./socket-mode.js";

export interface SlackHarness {
  db: TestDatabase;
  config: Config;
  /** The strict Slack stand-in: sendgate's Web API calls and the people clicking. */
  slack: SlackStandin;
  /** The last acknowledgement the app gave Slack (slash commands, submissions). */
  lastAck?: Ack;
  notifier: SlackNotifier;
  deps: SlackDeps;
  baseUrl: string;
  clock: { now(): Date; set(date: Date): void };
  /** Where the outbox mailer writes .eml files (no SMTP_URL in tests unless given). */
  outboxDir: string;
  /** The composed service: its engine, mailer and server, as main.ts builds them. */
  app: Sendgate;
  /** A person clicks a button where they see it; resolves once sendgate has acknowledged. */
  click(user: string, surface: Surface, actionId: string): Promise<void>;
  /** Where a sending's approval message is. */
  approvalMessage(sendingId: string): Promise<{ channel: string; ts: string }>;
  /** The modal on top of the person's screen; fails when none is open. */
  modal(user: string): OpenView;
  /** Stops sendgate and starts it again on the same database and Slack, with these settings changed. */
  restart(env?: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

export const NOW = new Date("2026-11-27T10:00:00Z");
export { APPROVALS_CHANNEL };
export const API_TOKEN = "test-api-token-0123456789abcdef0123456789";
const APP_TOKEN = "xapp-test-token";

/**
 * sendgate as main.ts starts it (real Bolt receiver, HTTP or Socket Mode; real database), with Slack played by the
 * strict stand-in: every Web API call and every acknowledgement is checked as Slack checks it.
 */
export async function startSlackHarness(
  provider: Provider,
  env: Record<string, string> = {},
  options: { socketMode?: boolean; webhooks?: StartOptions["webhooks"]; slowClients?: StartOptions["slowClients"] } = {},
): Promise<SlackHarness> {
  const db = await createTestDatabase(provider);
  let socket: SocketModeServer | undefined;
  const running: RunningStandin = await startStandin(options.socketMode ? { appToken: APP_TOKEN, socketModeUrl: () => socket!.issueUrl() } : {});
  const slack = running.standin;
  if (options.socketMode) socket = await startSocketModeServer({ appId: slack.workspace.appId });
  const outboxDir = join(tmpdir(), `sendgate-outbox-${process.pid}-${randomBytes(4).toString("hex")}`);
  const configFor = (changed: Record<string, string>) => loadConfig({
    DATABASE_URL: db.url,
    SLACK_BOT_TOKEN: BOT_TOKEN,
    ...(socket ? { SLACK_APP_TOKEN: APP_TOKEN } : { SLACK_SIGNING_SECRET: SIGNING_SECRET }),
    SLACK_API_URL: running.apiUrl,
    SLACK_APPROVALS_CHANNEL: APPROVALS_CHANNEL,
    APPROVERS: "UAPPROVER1,UAPPROVER2,SAPPROVERS",
    API_TOKENS: API_TOKEN,
    PORT: "0",
    OUTBOX_DIR: outboxDir,
    ...env,
    ...changed,
  });
  const config = configFor({});
  let current = NOW;
  const clock = { now: () => current, set: (date: Date) => void (current = date) };
  const start = (settings: Config) =>
    startSendgate(settings, { log: pino({ level: "silent" }), clock, db, host: "127.0.0.1", progressIntervalMs: 50, runSenderLoop: false, webhooks: options.webhooks, slowClients: options.slowClients });
  const app = await start(config);
  slack.connect(socket ? socket.transport : httpTransport(`${app.baseUrl}/slack/events`, SIGNING_SECRET));
  // Bolt's start() resolved on hello; this says the stand-in's socket holds that connection too.
  await socket?.connected();
  const h: SlackHarness = {
    db,
    config,
    slack,
    notifier: app.notifier,
    deps: app.deps,
    baseUrl: app.baseUrl,
    clock,
    app,
    outboxDir,
    async click(user, surface, actionId) {
      // The card keeps its rarer actions in its "more" menu: a person opens it and picks the option.
      const option = "ts" in surface ? moreMenuOption(slack.workspace.message(surface.channel, surface.ts)?.blocks ?? [], actionId) : undefined;
      if (option) await slack.pick(user, surface, ActionId.more, option);
      else await slack.click(user, surface, actionId);
    },
    async approvalMessage(sendingId) {
      const stored = await db.prisma.sending.findUniqueOrThrow({ where: { id: sendingId } });
      if (!stored.slackChannel || !stored.slackTs) throw new Error(`${sendingId} has no approval message yet`);
      return { channel: stored.slackChannel, ts: stored.slackTs };
    },
    modal(user) {
      const open = slack.modalOf(user);
      if (!open) throw new Error(`${user} has no modal open`);
      return open;
    },
    async restart(changed = {}) {
      await h.app.stop();
      h.config = configFor(changed);
      h.app = await start(h.config);
      h.notifier = h.app.notifier;
      h.deps = h.app.deps;
      h.baseUrl = h.app.baseUrl;
      if (!socket) slack.connect(httpTransport(`${h.app.baseUrl}/slack/events`, SIGNING_SECRET));
    },
    async close() {
      await h.app.stop();
      await socket?.close();
      await running.close();
      await db.destroy();
      rmSync(outboxDir, { recursive: true, force: true });
      if (slack.refusals.length > 0) throw new Error(`Slack refused what sendgate sent:\n${describeRefusals(slack.refusals)}`);
      // Slack only warns about these, but screen readers and notifications show nothing without the fallback.
      if (slack.warnings.length > 0) throw new Error(`Slack warned: ${slack.warnings.map((w) => `${w.method}: ${w.warning}`).join("; ")}`);
    },
  };
  return h;
}

export interface SendingFixture {
  id: string;
  requestedBy: string;
  contentHash: string;
}

/** A pending sending with recipients, as intake leaves it, and its approval message posted. */
export async function givenPendingSending(
  h: SlackHarness,
  overrides: Partial<{
    name: string;
    requestedBy: string;
    launchAt: Date;
    html: string;
    recipients: { email: string; vars?: object }[];
  }> = {},
): Promise<SendingFixture> {
  const id = newSendingId();
  const content = {
    subject: "Hello {{firstName}}",
    fromName: "Acme",
    fromEmail: "news@acme.test",
    replyTo: null,
    html: overrides.html ?? "<p>Hi {{firstName}}, our spring collection is here.</p>",
    text: null,
  };
  const recipients = overrides.recipients ?? [
    { email: "ann@example.com", vars: { firstName: "Ann" } },
    { email: "bob@example.com", vars: { firstName: "Bob" } },
    { email: "cy@example.com", vars: {} },
  ];
  const hash = contentHash(content, EMPTY_RECIPIENTS_DIGEST);
  await h.db.prisma.sending.create({
    data: {
      id,
      name: overrides.name ?? "Spring newsletter",
      ...content,
      launchAt: overrides.launchAt ?? new Date(NOW.getTime() + 24 * 3600_000),
      requestedBy: overrides.requestedBy ?? "UREQUESTER",
      contentHash: hash,
      recipientsDigest: EMPTY_RECIPIENTS_DIGEST,
      recipientCount: recipients.length,
      recipients: { create: recipients.map((r) => ({ email: r.email, vars: JSON.stringify(r.vars ?? {}) })) },
      events: { create: { actor: overrides.requestedBy ?? "UREQUESTER", action: "created" } },
    },
  });
  await h.notifier.sendingChanged(id, { kind: "created" });
  // Telling Slack happens beside the change, never in its way: wait until the card is posted.
  await h.notifier.flush();
  return { id, requestedBy: overrides.requestedBy ?? "UREQUESTER", contentHash: hash };
}

/** Waits until the listener's work after ack (Slack calls, DB writes) has finished. */
export async function settle(h: SlackHarness, until: () => boolean | Promise<boolean>, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    await h.notifier.flush();
    if (await until()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error("condition not reached in time");
}

/** The option of the card's "more" menu that stands for an action, when no button of that action is shown. */
export function moreMenuOption(blocks: unknown[], actionId: string): { text: unknown; value: string } | undefined {
  const elements = (blocks as { type: string; elements?: { type: string; action_id?: string; options?: { text: unknown; value: string }[] }[] }[])
    .filter((block) => block.type === "actions")
    .flatMap((block) => block.elements ?? []);
  if (elements.some((element) => element.type === "button" && element.action_id === actionId)) return undefined;
  const menu = elements.find((element) => element.type === "overflow" && element.action_id === ActionId.more);
  return menu?.options?.find((option) => (JSON.parse(option.value) as { do?: string }).do === actionId);
}

/** The actions a card offers, in order: its buttons, and the options of its "more" menu by the action each stands for. */
export function cardActionIds(blocks: unknown[]): string[] {
  return (blocks as { elements?: { type?: string; action_id?: string; options?: { value: string }[] }[] }[]).flatMap((block) =>
    (block.elements ?? []).flatMap((element) =>
      element.type === "overflow" && element.action_id === ActionId.more
        ? (element.options ?? []).map((option) => (JSON.parse(option.value) as { do: string }).do)
        : element.action_id
          ? [element.action_id]
          : [],
    ),
  );
}
