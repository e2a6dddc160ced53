import { existsSync } from "node:fs";
import pino from "pino";
import pinoPretty from "pino-pretty";
import { ConfigError, loadConfig } from "./config.js";
import { migrate } from "./db/migrate.js";
import { providerOf } from "./db/provider.js";
import { startSendgate } from "./sendgate.js";

// A .env file in the working directory is read first; real environment variables win over it.
if (existsSync(".env")) process.loadEnvFile(".env");

let config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`${error.message}\nSee .env.example and the README's "Configuration" section.`);
  process.exit(1);
}

// JSON lines for log collectors; readable lines for a person at a terminal (or LOG_FORMAT=pretty).
const pretty = (config.logFormat ?? (process.stdout.isTTY ? "pretty" : "json")) === "pretty";
const log = pino(
  { level: config.logLevel, base: { service: "sendgate" } },
  pretty ? pinoPretty({ colorize: process.stdout.isTTY, ignore: "pid,hostname,service", translateTime: "SYS:HH:MM:ss" }) : undefined,
);

for (const warning of config.warnings) log.warn(warning);
if (config.http.apiTokens.length === 0) log.warn("API_TOKENS is not set: the intake API is disabled (its routes answer 503) until it is");

// The configuration is checked before anything is migrated or created.
if (config.migrateOnStart) {
  try {
    const output = await migrate(config.databaseUrl);
    // Prisma lists each migration it applied as a folder: `└─ 20261101000000_init/`.
    const applied = [...output.matchAll(/└─ (\S+)\/\s*$/gm)].map((match) => match[1]);
    log.info({ database: providerOf(config.databaseUrl), applied }, "database schema is up to date");
  } catch (error) {
    log.fatal({ err: error }, "applying database migrations failed");
    process.exit(1);
  }
}

const sendgate = await startSendgate(config, { log });

if (config.playground) {
  const page = `${sendgate.baseUrl}/playground`;
  const token = config.http.apiTokens[0]!.token;
  const ignored = process.env.SMTP_URL ? "\n  SMTP_URL is ignored here: the playground never sends real mail." : "";
  log.info({ page, apiToken: token }, "playground mode: no Slack settings, the local Slack stand-in runs in this process");
  process.stdout.write(
    [
      "",
      "  sendgate playground (no Slack settings: a local Slack runs inside sendgate, on 127.0.0.1 only)",
      "",
      `  Open       ${page}`,
      "  Then, in another terminal, hand it the example sending, launching in two minutes:",
      `    SENDGATE_URL=${sendgate.baseUrl} SENDGATE_API_TOKEN=${token} \\`,
      "      npm run sendgate -- create examples/spring-newsletter.json --launch-at +2m",
      `  Mail goes to ${config.mail.outboxDir} as .eml files.${ignored}`,
      "  To connect a real workspace, see the README's \"Slack set-up\".",
      "",
      "",
    ].join("\n"),
  );
}

let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, timeoutMs: config.shutdownTimeoutMs }, "shutting down: finishing the messages in hand");
    // A drain that hangs (an SMTP server that never answers) must not outlive the orchestrator's patience.
    setTimeout(() => {
      log.error({ timeoutMs: config.shutdownTimeoutMs }, "shutdown took too long; exiting with leases left to expire");
      process.exit(1);
    }, config.shutdownTimeoutMs).unref();
    sendgate.stop().then(
      () => process.exit(0),
      (error) => {
        log.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  });
}
