// Delivering 10,000 personalized messages to a local SMTP sink: sendgate's engine (leases, prepared
// window, a status read before every handoff, outcomes written per recipient) against a bare
// nodemailer pool sending the same messages rendered beforehand, in the same run, on SQLite and
// PostgreSQL. Target (issue 3): the engine at 0.9 of the bare pool's rate or better.
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import { Worker } from "node:worker_threads";
import nodemailer from "nodemailer";
import pg from "pg";
import pino from "pino";
import { openDatabase, type Database } from "../src/db/database.js";
import { migrate } from "../src/db/migrate.js";
import { compileSending } from "../src/mail/templates.js";
import { createMailer, poolOptions, type OutgoingMessage } from "../src/mail/transport.js";
import { createSenderEngine } from "../src/sender/engine.js";
import { buildMessage, parseVars, unsubscribeUrlFor } from "../src/mail/message.js";
import { createTestSenderStore } from "../test/support/db-paths.js";
import type { SenderSettings } from "../src/sender/settings.js";
import { silentNotifier, systemClock } from "../src/sendings/support/ports.js";

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 10_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const TARGET_RATIO = 0.9;
const pgBase = process.env.BENCH_POSTGRES_URL || process.env.TEST_POSTGRES_URL || "postgresql://postgres@127.0.0.1:5432/test";
const log = pino({ level: "silent" });

v8.setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

const content = {
  subject: "{{firstName}}, the spring collection is here",
  fromName: "Acme",
  fromEmail: "news@acme.test",
  replyTo: "help@acme.test",
  html:
    `<html><body><h1>Spring newsletter</h1><p>Hi {{firstName}},</p>` +
    `<p>Our spring collection arrived in {{city}}. Read about it and more, with <a href="https://acme.test/s?u={{code}}">this link</a>.</p>`.repeat(6) +
    `<p>See you soon,<br>The Acme team</p></body></html>`,
  // BENCH_TEXT=1: with a text part of its own, so none is derived from the HTML per recipient.
  text: process.env.BENCH_TEXT === "1" ? "Hi {{firstName}},\n\nOur spring collection arrived in {{city}}: https://acme.test/s?u={{code}}\n\nThe Acme team\n" : null,
};
const vars = (i: number) => JSON.stringify({ firstName: `Reader${i}`, city: i % 3 ? "Portland" : "Salem", code: i.toString(36), unsubscribeUrl: `https://acme.test/u/${i.toString(36)}` });

/** The sink runs on a thread of its own, so it does not share the event loop it is measuring. */
const sinkSource = `
const { SMTPServer } = require("smtp-server");
const { parentPort } = require("node:worker_threads");
let count = 0;
const server = new SMTPServer({ authOptional: true, disabledCommands: ["STARTTLS", "AUTH"], logger: false,
  onData(stream, _session, callback) {
    stream.on("data", () => {});
    stream.on("end", () => { count++; callback(null, "2.0.0 Ok: queued as " + count); });
  } });
server.listen(0, "127.0.0.1", () => parentPort.postMessage({ port: server.server.address().port }));
parentPort.on("message", () => parentPort.postMessage({ count }));
`;

async function startSink() {
  const worker = new Worker(sinkSource, { eval: true });
  const { port } = await new Promise<{ port: number }>((resolve) => worker.once("message", resolve));
  const count = () => new Promise<number>((resolve) => {
    worker.once("message", (message: { count: number }) => resolve(message.count));
    worker.postMessage("count");
  });
  return { url: `smtp://127.0.0.1:${port}`, count, close: () => worker.terminate() };
}

async function createDatabase(provider: "sqlite" | "postgresql"): Promise<{ db: Database; drop(): Promise<void> }> {
  const name = `sendgate_bench_${process.pid}_${randomBytes(3).toString("hex")}`;
  if (provider === "sqlite") {
    const file = join(tmpdir(), `${name}.db`);
    await migrate(`file:${file}`);
    const db = await openDatabase(`file:${file}`);
    return { db, drop: async () => { await db.close(); for (const s of ["", "-wal", "-shm"]) rmSync(file + s, { force: true }); } };
  }
  const admin = async (sql: string) => {
    const url = new URL(pgBase);
    url.pathname = "/postgres";
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    try { await client.query(sql); } finally { await client.end(); }
  };
  await admin(`CREATE DATABASE "${name}"`);
  const url = new URL(pgBase);
  url.pathname = `/${name}`;
  await migrate(url.toString());
  const db = await openDatabase(url.toString());
  return { db, drop: async () => { await db.close(); await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`); } };
}

async function givenSending(db: Database, id: string, count: number) {
  await db.prisma.sending.create({
    data: { id, name: "Bench", ...content, launchAt: new Date(Date.now() - 60_000), requestedBy: "UBENCH", status: "SCHEDULED", contentHash: "h", recipientsDigest: "d", recipientCount: count },
  });
  for (let start = 0; start < count; start += 5_000) {
    const rows = [];
    for (let i = start; i < Math.min(count, start + 5_000); i++) rows.push({ sendingId: id, email: `reader${i}@example.com`, vars: vars(i) });
    await db.prisma.recipient.createMany({ data: rows });
  }
}

/** The same messages the engine sends, rendered before the clock starts. */
async function renderAll(db: Database, sendingId: string): Promise<OutgoingMessage[]> {
  const compiled = compileSending(content);
  const rows = await db.prisma.recipient.findMany({ where: { sendingId }, orderBy: { id: "asc" } });
  return rows.map((row) => {
    const v = parseVars(row.vars);
    const rendered = compiled.render({ email: row.email, ...v });
    return buildMessage({ sendingId, content, recipient: row, rendered, unsubscribeUrl: unsubscribeUrlFor(v, undefined, { sendingId, recipientId: row.id, email: row.email }) });
  });
}

interface Measure {
  rate: number;
  /** CPU time the main thread spent per message: unlike the rate, barely moved by other load on the machine. */
  cpuMicros: number;
}

/** The main thread's CPU time in ms (Linux: its utime + stime, in clock ticks of 10 ms); the event loop's busy time elsewhere. */
function mainThreadCpuMs(): number {
  try {
    const stat = readFileSync(`/proc/${process.pid}/task/${process.pid}/stat`, "utf8");
    const [utime, stime] = stat.slice(stat.lastIndexOf(")") + 2).split(" ").slice(11, 13).map(Number);
    return ((utime ?? 0) + (stime ?? 0)) * 10;
  } catch {
    return performance.eventLoopUtilization().active;
  }
}

function measure(count: number) {
  const started = performance.now();
  const cpu = mainThreadCpuMs();
  return (): Measure => {
    const ms = performance.now() - started;
    return { rate: count / (ms / 1000), cpuMicros: ((mainThreadCpuMs() - cpu) * 1000) / count };
  };
}

async function bare(sinkUrl: string, messages: OutgoingMessage[]): Promise<Measure> {
  const transport = nodemailer.createTransport({ url: sinkUrl, ...poolOptions({ concurrency: CONCURRENCY }) });
  const done = measure(messages.length);
  await Promise.all(
    messages.map((m) =>
      transport.sendMail({ from: { name: m.from.name ?? "", address: m.from.address }, to: m.to, replyTo: m.replyTo ?? undefined, subject: m.subject, html: m.html, text: m.text, messageId: m.messageId, headers: m.headers }),
    ),
  );
  const result = done();
  transport.close();
  return result;
}

async function engine(db: Database, sinkUrl: string, sendingId: string, count: number): Promise<Measure> {
  const store = createTestSenderStore(db);
  // Production defaults, but no rate limit: the bench measures how fast the engine can go.
  const settings: SenderSettings = {
    rate: 1_000_000,
    concurrency: CONCURRENCY,
    leaseSeconds: 60,
    prepareWindow: 200,
    maxAttempts: 5,
    retrySeconds: 60,
    lateLaunchLimitMinutes: 30,
    errorBudget: { consecutive: 20, ratio: 0.2, window: 200 },
    maxSendings: 4,
    progressIntervalMs: 2_000,
  };
  const mailer = createMailer({ smtpUrl: sinkUrl, outboxDir: "unused", rate: settings.rate, concurrency: CONCURRENCY }, log);
  const sender = createSenderEngine({ store, mailer, notifier: silentNotifier, clock: systemClock, log, settings });
  const done = measure(count);
  await sender.tick();
  await sender.idle();
  const result = done();
  await mailer.close();
  await store.close();
  const { status } = await db.prisma.sending.findUniqueOrThrow({ where: { id: sendingId } });
  const sent = await db.prisma.recipient.count({ where: { sendingId, status: "SENT" } });
  if (status !== "COMPLETED" || sent !== count) throw new Error(`the engine left the sending ${status} with ${sent} of ${count} sent`);
  return result;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

async function run(provider: "sqlite" | "postgresql") {
  const { db, drop } = await createDatabase(provider);
  const sink = await startSink();
  try {
    // A small round of each first, so neither pays for warming up the process.
    await givenSending(db, "snd_benchwarm0", 500);
    await bare(sink.url, await renderAll(db, "snd_benchwarm0"));
    await db.prisma.recipient.updateMany({ where: { sendingId: "snd_benchwarm0" }, data: { status: "QUEUED" } });
    await engine(db, sink.url, "snd_benchwarm0", 500);

    // Rounds taken in turn, so that a load peak on the machine strikes both alike; medians are kept.
    const bareRuns: Measure[] = [];
    const engineRuns: Measure[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const sendingId = `snd_benchmain${round}`;
      await givenSending(db, sendingId, MESSAGES);
      const before = await sink.count();
      // Each side starts on a clean heap (no garbage of the other to collect), and they take turns going first.
      const runBare = async () => {
        const messages = await renderAll(db, sendingId);
        collectGarbage();
        bareRuns.push(await bare(sink.url, messages));
      };
      const runEngine = async () => {
        collectGarbage();
        engineRuns.push(await engine(db, sink.url, sendingId, MESSAGES));
      };
      if (round % 2 === 0) {
        await runBare();
        await runEngine();
      } else {
        await runEngine();
        await runBare();
      }
      const delivered = (await sink.count()) - before;
      if (delivered !== 2 * MESSAGES) throw new Error(`the sink received ${delivered} messages, expected ${2 * MESSAGES}`);
    }
    const bareRate = median(bareRuns.map((r) => r.rate));
    const engineRate = median(engineRuns.map((r) => r.rate));
    return {
      provider,
      bareRate,
      engineRate,
      ratio: engineRate / bareRate,
      bareCpu: median(bareRuns.map((r) => r.cpuMicros)),
      engineCpu: median(engineRuns.map((r) => r.cpuMicros)),
      rounds: engineRuns.map((r, i) => (r.rate / (bareRuns[i] as Measure).rate).toFixed(2)).join(" "),
    };
  } finally {
    await sink.close();
    await drop();
  }
}

const results = [];
for (const provider of ["sqlite", "postgresql"] as const) results.push(await run(provider));
console.log(
  `delivery of ${MESSAGES} personalized messages (text part ${content.text ? "given" : "derived from the HTML"}), ${CONCURRENCY} SMTP connections, sink on its own thread, median of ${ROUNDS} rounds`,
);
for (const r of results) {
  const verdict = r.ratio >= TARGET_RATIO ? "ok" : `below the ${TARGET_RATIO} target`;
  console.log(
    `${r.provider.padEnd(10)} bare nodemailer pool ${r.bareRate.toFixed(0).padStart(5)} msg/s   sendgate engine ${r.engineRate.toFixed(0).padStart(5)} msg/s   ratio ${r.ratio.toFixed(2)} (${verdict}; rounds ${r.rounds})`,
  );
  console.log(
    `${"".padEnd(10)} main thread CPU per message: bare ${r.bareCpu.toFixed(0)} µs, engine ${r.engineCpu.toFixed(0)} µs (ratio ${(r.bareCpu / r.engineCpu).toFixed(2)}, what the rates come to when the main thread is the bottleneck)`,
  );
}
