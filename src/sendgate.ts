import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import cron from "node-cron";
import type { Logger } from "pino";
import type { Config } from "./config.js";
import { openDatabase, type Database } from "./db/database.js";
import { createPostgresPool } from "./db/pools.js";
import { createOutboxStore } from "./db/outbox.js";
import { createRecipientBulk } from "./db/recipient-bulk.js";
import { createPrismaSenderStore } from "./db/sender-store/prisma-sender-store.js";
import { configureServer, createHttpHandler } from "./http/server.js";
import { previewLinkKey, previewLinkUrl } from "./http/preview-links.js";
import { previewRoutes } from "./http/preview-routes.js";
import { createMailer, measuredMailer, type Mailer } from "./mail/transport.js";
import { createMetrics } from "./metrics.js";
import { countPreparedMessages, countSendingsByStatus } from "./sendings/count-sendings.js";
import { createSendingAnalyzer } from "./sendings/support/current-analysis.js";
import { remindApprovers } from "./sendings/remind-approvers.js";
import { createSendingViews } from "./sendings/support/sending-view.js";
import { createSenderEngine, newEngineOwner, type SenderEngine } from "./sender/engine.js";
import { startSenderLoop } from "./sender/scheduler.js";
import { senderSettingsFrom } from "./sender/settings.js";
import { systemClock, type Clock } from "./sendings/support/ports.js";
import { createApproverDirectory } from "./slack/approver-directory.js";
import { createSlackApp, registerListeners, type SlackApp } from "./slack/app.js";
import type { SlackDeps } from "./slack/deps.js";
import { refuseReplays } from "./slack/replay-guard.js";
import { guardAgainstSlowClients, SLOW_CLIENT_LIMITS, type SlowClientLimits } from "./http/slow-clients.js";
import { createSlackNotifier, type SlackNotifier } from "./slack/slack-notifier.js";
import { createHomeTabs } from "./slack/home-tabs.js";
import { createOutageReporter } from "./slack/outage-reporter.js";
import { createPlayground, type Playground } from "./playground/playground.js";
import { createWebhookStore, syncWebhookEndpoints } from "./db/webhook-store.js";
import { createWebhookDispatcher, type WebhookDispatcherOptions, type WebhookDispatcher } from "./webhooks/webhook-dispatcher.js";

export interface Sendgate {
  config: Config;
  db: Database;
  deps: SlackDeps;
  notifier: SlackNotifier;
  slack: SlackApp;
  server: Server;
  mailer: Mailer;
  engine: SenderEngine;
  /** Delivers webhook events; undefined when WEBHOOK_URLS is unset. */
  webhooks?: WebhookDispatcher;
  /** Playground mode: the in-process Slack stand-in and its page. */
  playground?: Playground;
  /** Where the HTTP server listens, e.g. http://127.0.0.1:3000. */
  baseUrl: string;
  stop(): Promise<void>;
}

export interface StartOptions {
  log: Logger;
  clock?: Clock;
  /** An already open database (tests); otherwise config.databaseUrl is opened. */
  db?: Database;
  host?: string;
  /** Least time between two progress updates of one sending in Slack. */
  progressIntervalMs?: number;
  /** false: build the engine but do not run the cron loop (tests drive tick() themselves). */
  runSenderLoop?: boolean;
  /** Limits on clients that send slowly (tests scale them down). */
  slowClients?: Partial<SlowClientLimits>;
  /** Webhook retry timing and transport (tests scale the 24-hour retry period down). */
  webhooks?: Pick<WebhookDispatcherOptions, "retry" | "intervalMs" | "post">;
}

/** The composition root: builds every adapter, wires the ports, and starts serving. */
export async function startSendgate(configured: Config, options: StartOptions): Promise<Sendgate> {
  const { log } = options;
  const clock = options.clock ?? systemClock;
  // The playground is for one person on this machine: never reachable from the network.
  const host = configured.playground ? "127.0.0.1" : (options.host ?? "0.0.0.0");

  // Listening comes first: in playground mode Slack is served on this very port, and the Slack app
  // asks it who the bot is while it is built. Until everything is wired, requests get a 503.
  const listeners: { serve?: RequestListener; early?: RequestListener } = {};
  const server = configureServer(
    createServer((req, res) => {
      if (listeners.serve) return listeners.serve(req, res);
      if (listeners.early && req.url?.startsWith("/playground/")) return listeners.early(req, res);
      res.writeHead(503, { "content-type": "application/json", "retry-after": "1" });
      res.end(JSON.stringify({ error: "starting", message: "sendgate is starting; try again in a moment." }));
    }),
  );
  guardAgainstSlowClients(server, log, { ...SLOW_CLIENT_LIMITS, ...options.slowClients });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(configured.http.port, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`;

  let config = configured;
  let playground: Playground | undefined;
  if (configured.playground) {
    playground = createPlayground({ botToken: configured.slack.botToken, baseUrl, log });
    listeners.early = playground.slackListener;
    config = { ...configured, slack: { ...configured.slack, apiUrl: `${baseUrl}/playground/api/` } };
  }

  const db = options.db ?? (await openDatabase(config.databaseUrl));
  // PostgreSQL: beside Prisma's own pool, the two paths that bypass Prisma each get a small pool,
  // so that a million-row upload never takes the connections delivery needs, nor the reverse.
  const pools =
    db.provider === "postgresql" ? { delivery: createPostgresPool(db.url, 6), uploads: createPostgresPool(db.url, 4) } : undefined;
  const recipients = createRecipientBulk(db, { pool: pools?.uploads });
  const metrics = createMetrics({
    sendingsByStatus: () => countSendingsByStatus({ db }),
    preparedMessages: () => countPreparedMessages({ db }),
  });
  const slack = await createSlackApp(config, log, metrics);
  const analyzer = createSendingAnalyzer(db, { unsubscribeUrl: config.mail.unsubscribeUrl, dkimDomain: config.mail.dkim?.domainName });
  const views = createSendingViews(db, config.approval.requiredApprovals);
  // One name for this process: it claims delivery leases and outbox queues under it.
  const owner = newEngineOwner();
  // Before anything can change a sending: each change owes its event to the endpoints configured now.
  await syncWebhookEndpoints(db, config.webhooks.urls, clock.now());
  const webhooks =
    config.webhooks.urls.length > 0
      ? createWebhookDispatcher({
          store: createWebhookStore(db),
          owner,
          clock,
          log,
          secrets: config.webhooks.secrets,
          observe: (outcome) => metrics.countWebhook(outcome),
          ...options.webhooks,
        })
      : undefined;
  const approvers = createApproverDirectory(slack.client, config.approval.approvers, log);
  const policy = { requiredApprovals: config.approval.requiredApprovals, allowSelfApproval: config.approval.allowSelfApproval };
  // One outage report for every Slack call sendgate makes on its own (cards, threads, Home tabs).
  const outage = createOutageReporter(log);
  // Home tabs refresh on the progress interval's rhythm: a few seconds after a change, ten times that for figures.
  const homeInterval = options.progressIntervalMs ?? 3000;
  const home = createHomeTabs({
    client: slack.client,
    deps: { db, approvers, policy },
    log,
    clock,
    outage,
    changeDelayMs: homeInterval,
    progressDelayMs: homeInterval * 10,
    retryDelayMs: homeInterval * 10,
  });
  const slackNotifier = createSlackNotifier({
    home,
    outage,
    outbox: createOutboxStore(db),
    owner,
    analyzer,
    approvers: config.approval.approvers,
    client: slack.client,
    views,
    log,
    approvalsChannel: config.slack.approvalsChannel,
    progressIntervalMs: options.progressIntervalMs,
    clock,
  });
  // Webhook events are written with the change (the outbox); after the commit, both channels are woken.
  const notifier: SlackNotifier = {
    ...slackNotifier,
    async sendingChanged(sendingId, event, changeOptions) {
      await slackNotifier.sendingChanged(sendingId, event, changeOptions);
      void webhooks?.wake();
    },
  };
  const mailer = measuredMailer(createMailer(config.mail, log), (outcome, seconds) => metrics.observeSend(outcome, seconds));
  const previewKey = previewLinkKey(config);
  const previewTtlMs = config.preview.linkTtlMinutes * 60_000;
  // The playground's page and its previews are on this machine: links open sendgate itself.
  const publicUrl = config.http.publicUrl ?? (config.playground ? baseUrl : undefined);
  const deps: SlackDeps = {
    db,
    log,
    clock,
    notifier,
    mailer,
    analyzer,
    views,
    unsubscribeUrl: config.mail.unsubscribeUrl,
    approvers,
    policy,
    home,
    previewLinks: publicUrl
      ? {
          url: (sendingId, recipientId) =>
            previewLinkUrl(publicUrl, { sendingId, recipientId, expiresAt: new Date(clock.now().getTime() + previewTtlMs) }, previewKey),
        }
      : undefined,
  };
  registerListeners(slack, deps);

  listeners.serve = createHttpHandler({
    metrics,
    ...deps,
    recipients,
    recipientVarsLimits: config.recipientVars,
    config,
    slackListener: slack.requestListener && refuseReplays(slack.requestListener, log),
    extraRoutes: [
      ...previewRoutes({ db, clock, log, key: previewKey, unsubscribeUrl: config.mail.unsubscribeUrl }),
      ...(playground?.routes ?? []),
    ],
  });
  playground?.connect(`${baseUrl}/slack/events`, config.slack.signingSecret ?? "");
  await slack.start();

  const store = createPrismaSenderStore(db, { pool: pools?.delivery });
  const engine = createSenderEngine({ store, mailer, notifier, clock, log, settings: senderSettingsFrom(config), owner });
  notifier.start();
  webhooks?.start();
  if (webhooks) log.info({ endpoints: config.webhooks.urls.length, secrets: config.webhooks.secrets.length }, "webhook events are delivered");
  const stopSenderLoop = options.runSenderLoop === false ? () => engine.stop() : startSenderLoop(engine, config.sender.cron, log);

  // Approval messages that could not be posted (Slack down at intake) are posted once Slack answers again.
  // Approvers are pinged once in the thread of a sending still pending shortly before its launch.
  const housekeeping = cron.schedule(
    "*/30 * * * * *",
    async () => {
      await notifier.postMissing().catch((error) => log.error({ err: error }, "posting missing approval messages failed"));
      await remindApprovers(deps, { before: config.reminders.beforeMinutes }).catch((error) =>
        log.error({ err: error }, "approval reminders failed"),
      );
    },
    { noOverlap: true },
  );

  log.info(
    {
      port,
      database: db.provider,
      slack: config.playground ? "playground" : config.slack.appToken ? "socket mode" : "http /slack/events",
      mail: config.mail.smtpUrl ? "smtp" : `outbox ${config.mail.outboxDir}`,
    },
    "sendgate started",
  );

  return {
    config,
    db,
    deps,
    notifier,
    slack,
    server,
    mailer,
    engine,
    webhooks,
    playground,
    baseUrl,
    async stop() {
      await housekeeping.stop();
      // The message in hand finishes and leases are released before anything else closes.
      await stopSenderLoop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await slack.stop();
      await mailer.close();
      await store.close();
      await notifier.flush();
      await notifier.close();
      await webhooks?.stop();
      await recipients.close();
      await Promise.all([pools?.delivery.end(), pools?.uploads.end()]);
      if (!options.db) await db.close();
    },
  };
}
