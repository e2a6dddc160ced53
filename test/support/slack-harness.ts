import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { loadConfig, type Config } from "../../src/config.js";
import { contentHash, EMPTY_RECIPIENTS_DIGEST } from "../../src/domain/content-hash.js";
import type { Provider } from "../../src/db/provider.js";
import { newSendingId } from "../../src/sendings/sending-id.js";
import { createApproverDirectory } from "../../src/slack/approver-directory.js";
import { createSlackApp, registerListeners } from "../../src/slack/app.js";
import type { SlackDeps } from "../../src/slack/deps.js";
import { createSlackNotifier, type SlackNotifier } from "../../src/slack/slack-notifier.js";
import { createTestDatabase, type TestDatabase } from "./databases.js";
import { FakeSlackApi, SLACK_API_URL } from "./slack-api.js";
import { APPROVALS_CHANNEL, SIGNING_SECRET } from "./slack-requests.js";

export interface SlackHarness {
  db: TestDatabase;
  config: Config;
  slack: FakeSlackApi;
  notifier: SlackNotifier;
  deps: SlackDeps;
  baseUrl: string;
  clock: { now(): Date; set(date: Date): void };
  close(): Promise<void>;
}

export const NOW = new Date("2026-11-27T10:00:00Z");

/** The real Bolt HTTP receiver on a real port, a real database, and Slack's API faked with nock. */
export async function startSlackHarness(provider: Provider, env: Record<string, string> = {}): Promise<SlackHarness> {
  const db = await createTestDatabase(provider);
  const slack = new FakeSlackApi();
  const config = loadConfig({
    DATABASE_URL: db.url,
    SLACK_BOT_TOKEN: "xoxb-test-token",
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL,
    SLACK_APPROVALS_CHANNEL: APPROVALS_CHANNEL,
    APPROVERS: "UAPPROVER1,UAPPROVER2,SAPPROVERS",
    API_TOKENS: "test-api-token-0123456789",
    ...env,
  });
  let current = NOW;
  const clock = { now: () => current, set: (date: Date) => void (current = date) };
  const log = pino({ level: "silent" });
  const slackApp = createSlackApp(config, log);
  const notifier = createSlackNotifier({
    client: slackApp.client,
    db,
    log,
    approvalsChannel: config.slack.approvalsChannel,
    requiredApprovals: config.approval.requiredApprovals,
    progressIntervalMs: 50,
  });
  const deps: SlackDeps = {
    db,
    log,
    clock,
    notifier,
    approvers: createApproverDirectory(slackApp.client, config.approval.approvers, log),
    policy: { requiredApprovals: config.approval.requiredApprovals, allowSelfApproval: config.approval.allowSelfApproval },
  };
  registerListeners(slackApp.app, deps);
  const listener = slackApp.requestListener!;
  const server: Server = createServer((req, res) => listener(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    db,
    config,
    slack,
    notifier,
    deps,
    baseUrl: `http://127.0.0.1:${port}`,
    clock,
    async close() {
      await notifier.flush();
      notifier.close();
      await new Promise((resolve) => server.close(resolve));
      slack.close();
      await db.destroy();
    },
  };
}

export interface SendingFixture {
  id: string;
  requestedBy: string;
  contentHash: string;
}

/** A pending sending with recipients, as intake leaves it, and its approval message posted. */
export async function givenPendingSending(
  h: SlackHarness,
  overrides: Partial<{ name: string; requestedBy: string; launchAt: Date; recipients: { email: string; vars?: object }[] }> = {},
): Promise<SendingFixture> {
  const id = newSendingId();
  const content = {
    subject: "Hello {{firstName}}",
    fromName: "Acme",
    fromEmail: "news@acme.test",
    replyTo: null,
    html: "<p>Hi {{firstName}}, our spring collection is here.</p>",
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
