import { existsSync } from "node:fs";
import pino from "pino";
import { ConfigError, loadConfig } from "./config.js";
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

const log = pino({ level: config.logLevel, base: { service: "sendgate" } });
const sendgate = await startSendgate(config, { log });

let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    sendgate.stop().then(
      () => process.exit(0),
      (error) => {
        log.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  });
}
