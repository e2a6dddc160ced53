import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../../src/db/database.js";
import { givenSending } from "../sender/support/fixtures.js";
import { startSmtpSink, type SmtpSink } from "../sender/support/smtp-sink.js";
import { APPROVALS_CHANNEL, BOT_TOKEN, startStandin, type RunningStandin } from "../support/slack-api.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const SHUTDOWN_TIMEOUT_SECONDS = 10;

/**
 * The production command as an orchestrator runs it: `npm run build`, then `node dist/main.js` as
 * the process that receives the signal. SIGTERM during a delivery drains it: the message in hand
 * finishes and is recorded, the lease is released, and the process exits 0 in time.
 */
describe("the production build", () => {
  let dir: string;
  let sink: SmtpSink;
  let slack: RunningStandin;
  let child: ChildProcess | undefined;
  let db: Database | undefined;
  const output: string[] = [];

  beforeAll(async () => {
    await promisify(execFile)("npm", ["run", "build", "--silent"], { cwd: root });
    dir = mkdtempSync(join(tmpdir(), "sendgate-production-"));
    // A slow mail server: each message takes 300 ms, so a delivery of 40 is well under way when the signal comes.
    sink = await startSmtpSink({ received: () => sleep(300) });
    slack = await startStandin();
  }, 120_000);

  afterAll(async () => {
    child?.kill("SIGKILL");
    await db?.close();
    await sink?.close();
    await slack?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("migrates on start, and SIGTERM during a delivery drains it and exits 0", async () => {
    const databaseUrl = `file:${join(dir, "sendgate.db")}`;
    child = spawn(process.execPath, ["dist/main.js"], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: "production",
        DATABASE_URL: databaseUrl,
        PORT: "0",
        SLACK_BOT_TOKEN: BOT_TOKEN,
        SLACK_SIGNING_SECRET: "production-test-signing-secret",
        SLACK_API_URL: slack.apiUrl,
        SLACK_APPROVALS_CHANNEL: APPROVALS_CHANNEL,
        APPROVERS: "UAPPROVER1",
        API_TOKENS: "production-test-token-0123456789abcdef0123456789abcdef",
        SMTP_URL: sink.url,
        SEND_CONCURRENCY: "1",
        SENDER_CRON: "* * * * * *",
        SHUTDOWN_TIMEOUT_SECONDS: String(SHUTDOWN_TIMEOUT_SECONDS),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    const exited = new Promise<{ code: number | null; at: number }>((resolve) => child!.once("exit", (code) => resolve({ code, at: Date.now() })));

    await until("sendgate started", () => output.join("").includes('"msg":"sendgate started"'), 60_000);
    expect(output.join("")).toContain('"msg":"database schema is up to date"');
    db = await openDatabase(databaseUrl);
    const id = await givenSending(db, { recipients: 40, launchAt: new Date(Date.now() - 5_000) });
    await until("delivery under way", () => sink.received.length >= 3, 30_000);

    const signalledAt = Date.now();
    child.kill("SIGTERM");
    const { code, at } = await exited;
    expect(code, output.join("")).toBe(0);
    expect(at - signalledAt).toBeLessThan(SHUTDOWN_TIMEOUT_SECONDS * 1000);

    const sending = await db.prisma.sending.findUniqueOrThrow({ where: { id } });
    // It stopped part-way, and gave the sending up for the next process to continue.
    expect(sending.status).toBe("SENDING");
    expect(sending.leaseOwner).toBeNull();
    const sent = await db.prisma.recipient.count({ where: { sendingId: id, status: "SENT" } });
    // Every message the mail server took is recorded as sent: the one in hand finished before the exit.
    expect(sent).toBe(sink.received.length);
    expect(sent).toBeLessThan(40);
    expect(output.join("")).toContain('"msg":"shutting down: finishing the messages in hand"');
  }, 120_000);
});

async function until(what: string, condition: () => boolean, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await sleep(50);
  }
}
