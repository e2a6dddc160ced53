import pino from "pino";
import { loadConfig, type Config } from "../../../src/config.js";
import type { Database } from "../../../src/db/database.js";
import { createPostgresPool } from "../../../src/db/pools.js";
import { createPrismaSenderStore } from "../../../src/db/sender-store/prisma-sender-store.js";
import { createMailer } from "../../../src/mail/transport.js";
import { createSenderEngine, type SenderEngine } from "../../../src/sender/engine.js";
import { startSenderLoop } from "../../../src/sender/scheduler.js";
import { senderSettingsFrom } from "../../../src/sender/settings.js";
import { systemClock } from "../../../src/sendings/support/ports.js";
import { RecordingNotifier } from "../../sender/support/fixtures.js";
import { APPROVALS_CHANNEL, BOT_TOKEN } from "../../support/slack-api.js";
import type { LogLine } from "./sendgate-process.js";

export interface RunningEngine {
  config: Config;
  engine: SenderEngine;
  notifier: RecordingNotifier;
  /** The engine's log, parsed. */
  log: LogLine[];
  close(): Promise<void>;
}

/**
 * The delivery engine wired as src/sendgate.ts wires it (settings from the environment through
 * loadConfig, the Prisma store with its pool, the pooled SMTP mailer, the cron loop every second),
 * without Slack: the SMTP cases count what reaches the mail server, not what Slack is told.
 */
export function startConfiguredEngine(db: Database, smtpUrl: string, env: Record<string, string> = {}): RunningEngine {
  const config = loadConfig({
    DATABASE_URL: db.url,
    SMTP_URL: smtpUrl,
    // Slack settings only so that the configuration is not the playground's, which never sends SMTP.
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: "faults-signing-secret-0123456789abcdef",
    SLACK_APPROVALS_CHANNEL: APPROVALS_CHANNEL,
    APPROVERS: "UAPPROVER1",
    SENDER_CRON: "* * * * * *",
    ...env,
  });
  const lines: LogLine[] = [];
  const log = pino({ level: "debug" }, { write: (text: string) => void lines.push(JSON.parse(text) as LogLine) });
  const pool = db.provider === "postgresql" ? createPostgresPool(db.url, 6) : undefined;
  const store = createPrismaSenderStore(db, { pool });
  const mailer = createMailer(config.mail, log);
  const notifier = new RecordingNotifier();
  const engine = createSenderEngine({ store, mailer, notifier, clock: systemClock, log, settings: senderSettingsFrom(config) });
  const stopLoop = startSenderLoop(engine, config.sender.cron, log);
  let closed: Promise<void> | undefined;
  return {
    config,
    engine,
    notifier,
    log: lines,
    close: () =>
      (closed ??= (async () => {
        await stopLoop();
        await mailer.close();
        await store.close();
        await pool?.end();
      })()),
  };
}
