// Scale-out of one large sending (issue 12, goal 4): one sending of 30,000 personalized recipients on
// PostgreSQL, delivered by one engine process, then by three engine processes against the same
// database, to an SMTP sink in a process of its own that answers each message after 20 ms. Goal: the
// three at least 2.7× as fast as the one, and no message received twice by the sink (counted by
// Message-ID). One more round pauses the three from outside mid-delivery and counts what still
// arrives once the pause has committed: at most the messages each engine had in hand.
//
// Each engine holds SEND_CONCURRENCY = 8 SMTP connections: with the sink taking 20 ms a message, one
// engine can go no faster than 8 / 20 ms = 400 messages a second, far below what its CPU allows, so
// the one-engine round measures the sink's latency (as against a real provider), not this machine's
// two cores; three engines then have up to 1,200 a second to reach, which takes more than a core of
// CPU in all (engines, PostgreSQL, sink): on a machine busy with other work they get less, and the
// speed-up with them. So each round also prints its CPU a message and the cores it kept busy, and the
// run the load average it met (os.loadavg): a speed-up short of the goal with cores to spare is the
// engines' fault, one on a saturated machine is not.
//
// `npm run bench -- scale-out` (BENCH_QUICK=1: 1,500 recipients; BENCH_SCALE_LOG=info: the engines' logs on stderr).
import { fork, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import pg from "pg";
import pino from "pino";
import { openDatabase, type Database } from "../src/db/database.js";
import { migrate } from "../src/db/migrate.js";
import { createMailer } from "../src/mail/transport.js";
import { HANDOFFS_PER_CONNECTION } from "../src/sender/delivery-run.js";
import { createSenderEngine } from "../src/sender/engine.js";
import type { SenderSettings } from "../src/sender/settings.js";
import { pauseSending } from "../src/sendings/pause-sending.js";
import { resumeSending } from "../src/sendings/resume-sending.js";
import { silentNotifier, systemClock } from "../src/sendings/support/ports.js";
import { createTestSenderStore } from "../test/support/db-paths.js";

const QUICK = process.env.BENCH_QUICK === "1";
const RECIPIENTS = Number(process.env.BENCH_SCALE_RECIPIENTS ?? (QUICK ? 1_500 : 30_000));
const CONCURRENCY = Number(process.env.BENCH_SCALE_CONCURRENCY ?? 8);
const SINK_DELAY_MS = 20;
const ENGINES = 3;
const TARGET_SPEEDUP = 2.7;
/**
 * How often each engine process ticks (SENDER_CRON, 5 s by default): an engine asking to help is
 * admitted within a fraction of a second, but starts at its next tick, which a short round should not wait for.
 */
const TICK_MS = 500;
const pgBase = process.env.BENCH_POSTGRES_URL || process.env.TEST_POSTGRES_URL || "postgresql://postgres@127.0.0.1:5432/test";
const ROOT = fileURLToPath(new URL("../", import.meta.url));
const log = process.env.BENCH_SCALE_LOG ? pino({ level: process.env.BENCH_SCALE_LOG }, pino.destination(2)) : pino({ level: "silent" });

const content = {
  subject: "{{firstName}}, the spring collection is here",
  fromName: "Acme",
  fromEmail: "news@acme.test",
  replyTo: "help@acme.test",
  html:
    `<html><body><h1>Spring newsletter</h1><p>Hi {{firstName}},</p>` +
    `<p>Our spring collection arrived in {{city}}. Read about it and more, with <a href="https://acme.test/s?u={{code}}">this link</a>.</p>`.repeat(6) +
    `<p>See you soon,<br>The Acme team</p></body></html>`,
  text: null,
};
const vars = (i: number) => JSON.stringify({ firstName: `Reader${i}`, city: i % 3 ? "Portland" : "Salem", code: i.toString(36) });

/** Production's settings (SEND_RATE aside: the bench measures how fast the engines can go). */
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

// ——— An engine process: what `node dist/main.js` runs for delivery, one engine for the process's
// life (long-lived, as in production: a warm-up round pays for first use). It ticks while a round runs. ———

type ToEngine = { kind: "go" } | { kind: "stop" };
type FromEngine = { kind: "ready" } | { kind: "stopped"; cpuMs: number };

async function runEngineProcess() {
  const send = (message: FromEngine) => process.send?.(message);
  const db = await openDatabase(process.env.DATABASE_URL as string);
  const store = createTestSenderStore(db);
  const mailer = createMailer({ smtpUrl: process.env.SMTP_URL, outboxDir: "unused", rate: settings.rate, concurrency: CONCURRENCY }, log);
  const engine = createSenderEngine({ store, mailer, notifier: silentNotifier, clock: systemClock, log, settings, owner: process.env.ENGINE_OWNER });
  let round: { cpu: NodeJS.CpuUsage; ticking: boolean; loop: Promise<void> } | undefined;
  process.on("message", async (message: ToEngine) => {
    if (message.kind === "go") {
      const current = { cpu: process.cpuUsage(), ticking: true, loop: Promise.resolve() };
      // Ticks never overlap, as with the cron job's noOverlap.
      current.loop = (async () => {
        while (current.ticking) {
          await engine.tick().catch((error) => console.error("tick failed", error));
          await new Promise((resolve) => setTimeout(resolve, TICK_MS));
        }
      })();
      round = current;
      return;
    }
    if (!round) return;
    round.ticking = false;
    await round.loop;
    await engine.idle();
    const used = process.cpuUsage(round.cpu);
    round = undefined;
    send({ kind: "stopped", cpuMs: (used.user + used.system) / 1000 });
  });
  process.on("disconnect", async () => {
    await engine.stop();
    await mailer.close();
    await store.close();
    await db.close();
    process.exit(0);
  });
  send({ kind: "ready" });
}

// ——— The SMTP sink: answers each message after 20 ms, counts messages and repeated Message-IDs. ———

const sinkSource = `
const { SMTPServer } = require("smtp-server");
let count = 0, twice = 0, seen = new Set();
const server = new SMTPServer({ authOptional: true, disabledCommands: ["STARTTLS", "AUTH"], logger: false,
  onData(stream, _session, callback) {
    let head = "";
    stream.on("data", (chunk) => { if (head.length < 4096) head += chunk.toString("latin1"); });
    stream.on("end", () => {
      const id = (/^message-id:\\s*(\\S+)/im.exec(head) || [])[1] || "";
      count++;
      if (seen.has(id)) twice++; else seen.add(id);
      setTimeout(() => callback(null, "2.0.0 Ok: queued as " + count), ${SINK_DELAY_MS});
    });
  } });
server.listen(0, "127.0.0.1", () => process.send({ port: server.server.address().port }));
process.on("message", (m) => {
  if (m === "reset") { count = 0; twice = 0; seen = new Set(); }
  const cpu = process.cpuUsage();
  process.send({ count, twice, cpuMs: (cpu.user + cpu.system) / 1000 });
});
process.on("disconnect", () => process.exit(0));
`;

interface SinkTally {
  count: number;
  twice: number;
  cpuMs: number;
}

async function startSink() {
  const child: ChildProcess = spawn(process.execPath, ["-e", sinkSource], { cwd: ROOT, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const { port } = await new Promise<{ port: number }>((resolve, reject) => {
    child.once("message", (message) => resolve(message as { port: number }));
    child.once("exit", (code) => reject(new Error(`the SMTP sink exited (${code})`)));
  });
  const ask = (message: "tally" | "reset") =>
    new Promise<SinkTally>((resolve) => {
      child.once("message", (answer) => resolve(answer as SinkTally));
      child.send(message);
    });
  return { url: `smtp://127.0.0.1:${port}`, tally: () => ask("tally"), reset: () => ask("reset"), close: () => child.kill() };
}

type Sink = Awaited<ReturnType<typeof startSink>>;

// ——— The database, its backends' CPU, and the sendings. ———

async function admin(sql: string) {
  const url = new URL(pgBase);
  url.pathname = "/postgres";
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function createDatabase() {
  const name = `sendgate_scale_${process.pid}_${randomBytes(3).toString("hex")}`;
  await admin(`CREATE DATABASE "${name}"`);
  const url = new URL(pgBase);
  url.pathname = `/${name}`;
  await migrate(url.toString());
  const db = await openDatabase(url.toString());
  return {
    db,
    name,
    url: url.toString(),
    async drop() {
      await db.close();
      await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

/** CPU (ms) of the PostgreSQL backends serving the bench database, by pid. */
function backendMeter(database: string) {
  const url = new URL(pgBase);
  url.pathname = "/postgres";
  const client = new pg.Client({ connectionString: url.toString() });
  const connected = client.connect();
  return {
    async read(): Promise<Map<number, number>> {
      await connected;
      const { rows } = await client.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = $1", [database]);
      const cpu = new Map<number, number>();
      for (const { pid } of rows) {
        const ms = cpuMsOf(pid);
        if (ms !== undefined) cpu.set(pid, ms);
      }
      return cpu;
    },
    close: () => client.end(),
  };
}

function cpuMsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const [utime, stime] = stat.slice(stat.lastIndexOf(")") + 2).split(" ").slice(11, 13).map(Number);
    return ((utime ?? 0) + (stime ?? 0)) * 10;
  } catch {
    return undefined;
  }
}

const cpuBetween = (before: Map<number, number>, after: Map<number, number>) =>
  [...after].reduce((ms, [pid, now]) => ms + now - (before.get(pid) ?? 0), 0);

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

// ——— Rounds. ———

interface EngineProcess {
  child: ChildProcess;
  go(): void;
  stop(): Promise<number>;
}

/** Started once: every round starts fresh engines in them, so no round pays for starting a process. */
async function startEngineProcesses(count: number, databaseUrl: string, sink: Sink): Promise<EngineProcess[]> {
  const engines = Array.from({ length: count }, (_, i) => {
    const child = fork(fileURLToPath(import.meta.url), ["engine"], {
      execArgv: ["--import", "tsx"],
      env: { ...process.env, DATABASE_URL: databaseUrl, SMTP_URL: sink.url, ENGINE_OWNER: `bench-engine-${i + 1}` },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const ready = new Promise<void>((resolve, reject) => {
      child.once("message", () => resolve());
      child.once("exit", (code) => reject(new Error(`engine process ${i + 1} exited (${code})`)));
    });
    return {
      child,
      ready,
      go: () => child.send({ kind: "go" } satisfies ToEngine),
      stop: () =>
        new Promise<number>((resolve) => {
          const stopped = (message: FromEngine) => {
            if (message.kind !== "stopped") return;
            child.off("message", stopped);
            resolve(message.cpuMs);
          };
          child.on("message", stopped);
          child.send({ kind: "stop" } satisfies ToEngine);
        }),
    };
  });
  await Promise.all(engines.map((e) => e.ready));
  return engines;
}

async function waitFor(check: () => Promise<boolean>, what: string, seconds = 600) {
  const deadline = Date.now() + seconds * 1000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface Round {
  engines: number;
  seconds: number;
  /** CPU of the engines, the PostgreSQL backends and the sink, per second of the round. */
  coresBusy: number;
  rate: number;
  twice: number;
  /** CPU a message: the engine processes, the PostgreSQL backends, the sink. */
  engineMicros: number;
  dbMicros: number;
  sinkMicros: number;
  /** Recipients delivered by each engine process, from the database. */
  shares: number[];
}

interface Env {
  db: Database;
  name: string;
  sink: Sink;
  processes: EngineProcess[];
}

async function deliver(env: Env, engineCount: number, sendingId: string, recipients = RECIPIENTS): Promise<Round> {
  const { db, sink } = env;
  await givenSending(db, sendingId, recipients);
  const engines = env.processes.slice(0, engineCount);
  const meter = backendMeter(env.name);
  try {
    const sinkBefore = await sink.reset();
    const dbBefore = await meter.read();
    const started = performance.now();
    for (const engine of engines) engine.go();
    await waitFor(async () => (await db.prisma.sending.findUniqueOrThrow({ where: { id: sendingId }, select: { status: true } })).status === "COMPLETED", "the sending to complete");
    const seconds = (performance.now() - started) / 1000;
    const dbMs = cpuBetween(dbBefore, await meter.read());
    const engineMs = (await Promise.all(engines.map((e) => e.stop()))).reduce((a, b) => a + b, 0);
    const sinkAfter = await sink.tally();
    if (sinkAfter.count < recipients) throw new Error(`the sink received ${sinkAfter.count} of ${recipients}`);
    const sent = await db.prisma.recipient.count({ where: { sendingId, status: "SENT" } });
    if (sent !== recipients) throw new Error(`${sent} of ${recipients} recorded as sent`);
    const shares = await db.prisma.recipient.groupBy({ by: ["claimedBy"], where: { sendingId }, _count: { _all: true } });
    if (process.env.BENCH_SCALE_LOG) console.error(shares);
    const per = (ms: number) => (ms * 1000) / sinkAfter.count;
    return {
      engines: engineCount,
      seconds,
      coresBusy: (engineMs + dbMs + sinkAfter.cpuMs - sinkBefore.cpuMs) / 1000 / seconds,
      rate: recipients / seconds,
      twice: sinkAfter.twice,
      engineMicros: per(engineMs),
      dbMicros: per(dbMs),
      sinkMicros: per(sinkAfter.cpuMs - sinkBefore.cpuMs),
      shares: shares.map((s) => s._count._all).sort((a, b) => b - a),
    };
  } finally {
    await meter.close();
  }
}

interface PauseRound {
  atPause: number;
  afterPause: number;
  inHand: number;
  recordsMatch: boolean;
  twice: number;
  completed: boolean;
}

/** Three engines; paused from outside once a third is out; what arrives after the commit is counted; resumed to the end. */
async function pauseMidway(env: Env, sendingId: string): Promise<PauseRound> {
  const { db, sink } = env;
  await givenSending(db, sendingId, RECIPIENTS);
  const engines = env.processes.slice(0, ENGINES);
  const deps = { db, notifier: silentNotifier, clock: systemClock, log, approvers: { isApprover: async () => true } };
  await sink.reset();
  for (const engine of engines) engine.go();
  await waitFor(async () => (await sink.tally()).count >= RECIPIENTS / 3, "a third to be delivered");
  await pauseSending(deps, { sendingId, actor: "UBENCH", reason: "bench" });
  const atPause = (await sink.tally()).count;
  // Every engine has stopped once none holds the lease or a share: their messages in hand are answered.
  await waitFor(async () => {
    const sending = await db.prisma.sending.findUniqueOrThrow({ where: { id: sendingId }, select: { leaseOwner: true } });
    const helping = await db.prisma.deliveryShare.count({ where: { sendingId, admittedAt: { not: null } } });
    return sending.leaseOwner === null && helping === 0;
  }, "every engine to stop");
  const received = (await sink.tally()).count;
  const afterPause = received - atPause;
  const sentWhilePaused = await db.prisma.recipient.count({ where: { sendingId, status: "SENT" } });
  if (process.env.BENCH_SCALE_LOG) console.error({ atPause, received, sentWhilePaused, counts: await db.prisma.recipient.groupBy({ by: ["status", "claimedBy"], where: { sendingId }, _count: { _all: true } }) });
  await resumeSending(deps, { sendingId, actor: "UBENCH" });
  await waitFor(async () => (await db.prisma.sending.findUniqueOrThrow({ where: { id: sendingId }, select: { status: true } })).status === "COMPLETED", "the sending to complete after resuming");
  await Promise.all(engines.map((e) => e.stop()));
  const end = await sink.tally();
  return {
    atPause,
    afterPause,
    inHand: ENGINES * CONCURRENCY * HANDOFFS_PER_CONNECTION,
    recordsMatch: sentWhilePaused === received,
    twice: end.twice,
    completed: end.count === RECIPIENTS,
  };
}

async function main() {
  const database = await createDatabase();
  const sink = await startSink();
  const processes = await startEngineProcesses(ENGINES, database.url, sink);
  const env = { ...database, sink, processes };
  const load = [loadavg()[0] as number];
  try {
    // Every engine once through every path (claims, admission, helping, completion) before the clock runs.
    await deliver(env, ENGINES, "snd_scale_warm", Math.min(RECIPIENTS, 1_000));
    const one = await deliver(env, 1, "snd_scale_one");
    const three = await deliver(env, ENGINES, "snd_scale_three");
    load.push(loadavg()[0] as number);
    const paused = await pauseMidway(env, "snd_scale_pause");
    report(one, three, paused, load);
  } finally {
    for (const engine of processes) engine.child.kill();
    sink.close();
    await database.drop();
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

function report(one: Round, three: Round, paused: PauseRound, load: number[]) {
  const speedup = one.seconds / three.seconds;
  console.log(
    `scale-out: one sending of ${fmt(RECIPIENTS)} recipients on PostgreSQL, an SMTP sink in a process of its own answering each message after ${SINK_DELAY_MS} ms, ` +
      `SEND_CONCURRENCY=${CONCURRENCY} per engine process (at most ${fmt((CONCURRENCY * 1000) / SINK_DELAY_MS)} msg/s each), engines ticking every ${TICK_MS} ms; ` +
      `load average ${load.map((l) => l.toFixed(1)).join(" then ")} on ${cpus().length} cores`,
  );
  for (const r of [one, three]) {
    console.log(
      `${String(r.engines).padStart(2)} engine process${r.engines > 1 ? "es" : "  "} ${r.seconds.toFixed(1).padStart(6)} s ${fmt(r.rate).padStart(6)} msg/s   ` +
        `CPU a message: engines ${fmt(r.engineMicros)} µs, PostgreSQL ${fmt(r.dbMicros)} µs, sink ${fmt(r.sinkMicros)} µs (${r.coresBusy.toFixed(2)} cores busy)   ` +
        `received twice: ${r.twice}   delivered per engine: ${r.shares.map(fmt).join(" / ")}`,
    );
  }
  console.log(
    `pause from outside, ${ENGINES} engines: paused at ${fmt(paused.atPause)} received, ${paused.afterPause} arrived after the pause committed ` +
      `(messages in hand: at most ${paused.inHand}); records match the sink while paused: ${paused.recordsMatch ? "yes" : "NO"}; ` +
      `resumed to the end: ${paused.completed ? "every recipient once" : "NOT every recipient"}, received twice: ${paused.twice}`,
  );
  const twice = one.twice + three.twice + paused.twice;
  // A quick run lasts a few seconds, of which the helpers' admission (a tick or two) is a large part: its
  // speed-up says the path works, not what scale-out gives.
  const speedupVerdict = QUICK ? "not judged in quick mode (a few seconds, mostly the helpers' admission)" : speedup >= TARGET_SPEEDUP ? "ok" : "not met";
  console.log(`goal: ${ENGINES} engine processes ≥ ${TARGET_SPEEDUP}× one: ${speedup.toFixed(2)}× ${speedupVerdict}`);
  console.log(`goal: messages received twice by the sink = 0: ${twice} ${twice === 0 ? "ok" : "not met"}`);
  console.log(`goal: Pause honoured by all ${ENGINES} (≤ ${paused.inHand} after it): ${paused.afterPause} ${paused.afterPause <= paused.inHand && paused.recordsMatch ? "ok" : "not met"}`);
}

if (process.argv[2] === "engine") await runEngineProcess();
else await main();
