import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { APPROVALS_CHANNEL, BOT_TOKEN } from "../../support/slack-api.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));

/** One line of sendgate's JSON log. */
export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A sendgate process as `npm start` runs it (src/main.ts), configured through its environment only. */
export interface SendgateProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  /** Its log, parsed line by line; lines that are not JSON are kept as `{ msg: line }`. */
  readonly log: LogLine[];
  /** Resolves with the first log line that matches, waiting for it when needed. */
  waitForLog(match: (line: LogLine) => boolean, what: string, timeoutMs?: number): Promise<LogLine>;
  /** Resolves once the process has exited, with its code or signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL, and wait for the process to be gone. */
  kill(): Promise<void>;
  /** SIGTERM: the drain main.ts does on an orchestrator's stop. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  isRunning(): boolean;
}

/**
 * The environment every case's sendgate gets: Slack in HTTP mode against the stand-in at
 * `slackApiUrl`, JSON logs, the sender loop every second. Each case adds its own settings.
 */
export function sendgateEnv(input: { databaseUrl: string; smtpUrl: string; slackApiUrl: string }, overrides: Record<string, string> = {}) {
  return {
    DATABASE_URL: input.databaseUrl,
    SMTP_URL: input.smtpUrl,
    SLACK_API_URL: input.slackApiUrl,
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: "faults-signing-secret-0123456789abcdef",
    SLACK_APPROVALS_CHANNEL: APPROVALS_CHANNEL,
    APPROVERS: "UAPPROVER1",
    API_TOKENS: "faults:faults-api-token-0123456789abcdef0123456789",
    PORT: "0",
    LOG_FORMAT: "json",
    LOG_LEVEL: "info",
    SENDER_CRON: "* * * * * *",
    // The suite migrates its templates once; each process starts on a migrated database.
    MIGRATE_ON_START: "false",
    ...overrides,
  };
}

export function startSendgateProcess(env: Record<string, string>): SendgateProcess {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: root,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", CHECKPOINT_DISABLE: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const log: LogLine[] = [];
  const watchers: { match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];
  const take = (text: string) => {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      line = { level: 0, msg: text };
    }
    log.push(line);
    for (const watcher of watchers.filter((w) => w.match(line))) {
      watchers.splice(watchers.indexOf(watcher), 1);
      watcher.resolve(line);
    }
  };
  for (const stream of [child.stdout!, child.stderr!]) {
    let rest = "";
    stream.on("data", (chunk: Buffer) => {
      const lines = (rest + chunk.toString()).split("\n");
      rest = lines.pop() ?? "";
      for (const text of lines) if (text.trim()) take(text);
    });
  }
  let running = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => {
      running = false;
      resolve({ code, signal });
    }),
  );
  return {
    pid: child.pid ?? 0,
    child,
    log,
    exited,
    isRunning: () => running,
    waitForLog(match, what, timeoutMs = 60_000) {
      const found = log.find(match);
      if (found) return Promise.resolve(found);
      return new Promise<LogLine>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`sendgate (pid ${child.pid}) did not log ${what} within ${timeoutMs} ms; its log:\n${tail(log)}`));
        }, timeoutMs);
        const gone = () => {
          clearTimeout(timer);
          reject(new Error(`sendgate (pid ${child.pid}) exited before it logged ${what}; its log:\n${tail(log)}`));
        };
        void exited.then(() => setTimeout(gone, 100));
        watchers.push({
          match,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
      });
    },
    async kill() {
      if (running) child.kill("SIGKILL");
      await exited;
    },
    async stop() {
      if (running) child.kill("SIGTERM");
      return exited;
    },
  };
}

/** Starts a process and waits until it serves. */
export async function startedSendgate(env: Record<string, string>): Promise<SendgateProcess> {
  const process = startSendgateProcess(env);
  await process.waitForLog((line) => line.msg === "sendgate started", '"sendgate started"');
  return process;
}

/** The last lines of a log, for a failure message. */
export function tail(log: readonly LogLine[], lines = 30): string {
  return log
    .slice(-lines)
    .map((line) => JSON.stringify(line))
    .join("\n");
}

/** Log lines at error level or above (pino: 50 error, 60 fatal). */
export const errorsIn = (log: readonly LogLine[]) => log.filter((line) => line.level >= 50);
