// A 1,000,000-recipient delivery at full speed (no rate limit) to a local SMTP sink, on SQLite and
// PostgreSQL: the engine's memory as the list goes by, and its longest event-loop stall.
// Goals (issue 12): peak RSS under 300 MB and flat from 100,000 to 1,000,000 messages (goal 5); the
// longest event-loop stall during the delivery under 100 ms (goal 3).
//
// Three processes, so that each figure belongs to the engine alone: this one seeds the database and
// checks the result; the SMTP sink runs in a child process of its own (it discards what it receives
// and counts); sendgate's engine (the real store, the real mailer, production settings without a
// rate limit) runs in another, fresh for each database, with Node's default flags; it loads while the
// list is written and starts delivering once it is all there. The same
// file plays the three parts, chosen by BENCH_DELIVERY_MEMORY_ROLE.
import { execFileSync, fork, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { constants as perfConstants, monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import pg from "pg";
import pino from "pino";
import type { SMTPServer as SmtpServerType } from "smtp-server";
import { openDatabase, type Database } from "../src/db/database.js";
import { migrate } from "../src/db/migrate.js";
import { sqliteFile } from "../src/db/provider.js";
import { openSqliteConnection } from "../src/db/sqlite-connection.js";
import { createMailer } from "../src/mail/transport.js";
import { createSenderEngine } from "../src/sender/engine.js";
import type { SenderSettings } from "../src/sender/settings.js";
import type { RecipientOutcome, SenderStore, SentOutcome } from "../src/sender/store.js";
import { silentNotifier, systemClock } from "../src/sendings/support/ports.js";
import { createTestSenderStore } from "../test/support/db-paths.js";
import { startCpuProfile } from "./support-cpu-profile.js";

const QUICK = process.env.BENCH_QUICK === "1";
const RECIPIENTS = Number(process.env.BENCH_RECIPIENTS ?? (QUICK ? 10_000 : 1_000_000));
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
/** Where memory is noted, as fractions of the list: 100k, 250k, 500k, 750k and 1M of a million. */
const CHECKPOINTS = [0.1, 0.25, 0.5, 0.75, 1].map((fraction) => Math.round(RECIPIENTS * fraction));
/**
 * RSS at one instant moves by tens of MB with the garbage collector's cycle, so each checkpoint is
 * the highest RSS sampled over the last 5% of the list before it (50,000 messages of a million,
 * about 40 samples): the first one starts well after the delivery's start-up.
 */
const WINDOW = Math.max(1, Math.round(RECIPIENTS * 0.05));
const SAMPLE_MS = QUICK ? 250 : 1_000;
const STALL_TIMER_MS = 10;

const TARGET_PEAK_RSS_MB = 300;
/** Flat: the highest RSS near 1,000,000 at most this much above the highest near 100,000. */
const FLAT_WITHIN_MB = 20;
const TARGET_STALL_MS = 100;

const pgBase = process.env.BENCH_POSTGRES_URL || process.env.TEST_POSTGRES_URL || "postgresql://postgres@127.0.0.1:5432/test";
const ROLE = process.env.BENCH_DELIVERY_MEMORY_ROLE;
const SELF = fileURLToPath(import.meta.url);

/** The personalized newsletter of bench/delivery.ts: about 6 KB a message. */
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
const email = (i: number) => `reader${i}@example.com`;
const vars = (i: number) =>
  JSON.stringify({ firstName: `Reader${i}`, city: i % 3 ? "Portland" : "Salem", code: i.toString(36), unsubscribeUrl: `https://acme.test/u/${i.toString(36)}` });

const mb = (bytes: number) => bytes / 1024 / 1024;
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const signed = (n: number) => `${n >= 0 ? "+" : ""}${n.toFixed(1)}`;

/** One point of the engine's memory as the delivery goes by. */
interface Sample {
  /** Outcomes written to the database so far. */
  delivered: number;
  ms: number;
  rss: number;
  heapUsed: number;
  /** CPU of the whole engine process (every thread), µs. */
  cpuMicros: number;
}

interface Checkpoint extends Sample {
  /** The highest RSS sampled over the WINDOW messages up to this checkpoint. */
  windowRss: number;
  /** Heap used right after the last full (mark-compact) collection in that window: what is alive; null if none ran in it. */
  liveHeap: number | null;
  /** The kernel's high-water mark of RSS so far. */
  peakRss: number;
}

interface EngineReport {
  idleRss: number;
  idleHeapUsed: number;
  checkpoints: Checkpoint[];
  peakRss: number;
  seconds: number;
  cpuMicros: number;
  stalls: StallReport;
  delivered: number;
}

/** The kernel's high-water mark of this process's resident memory: exact, whatever the event loop was doing. */
function peakRss(): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  return match ? Number(match[1]) * 1024 : process.memoryUsage.rss();
}

function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

// ---------------------------------------------------------------------------------------------
// The SMTP sink: discards every message and counts it.

async function serveSink() {
  const { SMTPServer } = (await import("smtp-server")) as { SMTPServer: typeof SmtpServerType };
  let count = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    size: 0,
    onData(stream, _session, callback) {
      stream.on("data", () => {});
      stream.on("end", () => {
        count++;
        callback(null, `2.0.0 Ok: queued as ${count}`);
      });
    },
  });
  server.listen(0, "127.0.0.1", () => {
    const address = server.server.address();
    process.send?.({ type: "listening", port: typeof address === "object" && address ? address.port : 0 });
  });
  process.on("message", (message: { type: string }) => {
    if (message.type === "count") process.send?.({ type: "count", count });
    if (message.type === "stop") server.close(() => process.exit(0));
  });
}

// ---------------------------------------------------------------------------------------------
// The engine: as the composition root builds it; it delivers the seeded sending once, when told to.

/**
 * The event loop's stalls, seen by a 10 ms timer: how late each firing was, and how much CPU the
 * process had in that time. On a busy machine a process may wait for a core: then the lateness is
 * the machine's, and the CPU figure (an upper bound of the loop's own work) tells the two apart.
 */
class StallWatch {
  /** The longest stall, and the longest after the delivery's first 1% (its start-up). */
  readonly longest = { all: emptyStall(), steady: emptyStall() };
  /** The longest stall counted in CPU: min(lateness, the process's CPU in it). */
  longestCpuMs = 0;
  /** The ten longest, longest first. */
  readonly worst: Stall[] = [];
  readonly #timer: NodeJS.Timeout;
  readonly #histogram = monitorEventLoopDelay({ resolution: 10 });

  constructor(delivered: () => number, steadyFrom: number, started: number) {
    let last = performance.now();
    let lastCpu = cpuMicros();
    this.#timer = setInterval(() => {
      const now = performance.now();
      const cpuNow = cpuMicros();
      const stall: Stall = {
        ms: now - last - STALL_TIMER_MS,
        cpuMs: (cpuNow - lastCpu) / 1000,
        delivered: delivered(),
        second: (now - started) / 1000,
      };
      last = now;
      lastCpu = cpuNow;
      if (stall.ms > this.longest.all.ms) this.longest.all = stall;
      if (stall.delivered >= steadyFrom && stall.ms > this.longest.steady.ms) this.longest.steady = stall;
      this.longestCpuMs = Math.max(this.longestCpuMs, Math.min(stall.ms, stall.cpuMs));
      if (this.worst.length < 10 || stall.ms > (this.worst.at(-1) as Stall).ms) {
        this.worst.push(stall);
        this.worst.sort((a, b) => b.ms - a.ms);
        this.worst.length = Math.min(this.worst.length, 10);
      }
    }, STALL_TIMER_MS);
    this.#histogram.enable();
  }

  stop(): StallReport {
    clearInterval(this.#timer);
    this.#histogram.disable();
    return { ...this.longest, longestCpuMs: this.longestCpuMs, histogramMaxMs: this.#histogram.max / 1e6, worst: this.worst };
  }
}

interface Stall {
  ms: number;
  cpuMs: number;
  delivered: number;
  second: number;
}
const emptyStall = (): Stall => ({ ms: 0, cpuMs: 0, delivered: 0, second: 0 });

interface StallReport {
  all: Stall;
  steady: Stall;
  longestCpuMs: number;
  histogramMaxMs: number;
  worst: Stall[];
}

/**
 * BENCH_CPU_PROF=<dir>: the engine's main thread is profiled from before the go to BENCH_CPU_PROF_SECONDS
 * (3) after it, where the stalls of a start-up show, into a .cpuprofile (DevTools, speedscope).
 */
async function startProfiler(): Promise<{ stop(): Promise<void> } | undefined> {
  const dir = process.env.BENCH_CPU_PROF;
  if (!dir) return undefined;
  const profile = await startCpuProfile();
  let written: Promise<void> | undefined;
  const stop = () =>
    (written ??= (async () => {
      const file = await profile.stop(join(dir, `delivery-memory-${process.pid}.cpuprofile`));
      console.log(`profile of the delivery's start written to ${file}`);
    })());
  setTimeout(() => void stop(), Number(process.env.BENCH_CPU_PROF_SECONDS ?? 3) * 1000).unref();
  return { stop };
}

async function runEngine() {
  const databaseUrl = process.env.DATABASE_URL as string;
  const sinkUrl = process.env.BENCH_SINK_URL as string;
  const total = Number(process.env.BENCH_RECIPIENTS);
  const log = pino({ level: "silent" });

  const db = await openDatabase(databaseUrl);
  const store = createTestSenderStore(db);
  const settings: SenderSettings = {
    // The production defaults (src/config.ts), but no rate limit: the engine goes as fast as it can.
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

  let delivered = 0;
  let started = 0;
  const samples: Sample[] = [];
  const checkpoints: Checkpoint[] = [];
  const sample = (): Sample => {
    const memory = process.memoryUsage();
    return { delivered, ms: performance.now() - started, rss: memory.rss, heapUsed: memory.heapUsed, cpuMicros: cpuMicros() };
  };
  // What is alive, without forcing a collection: heap used as each full collection ends.
  const majorGcs: { delivered: number; heapUsed: number }[] = [];
  const gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const { detail } = entry as unknown as { detail?: { kind?: number } };
      if (detail?.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) {
        majorGcs.push({ delivered, heapUsed: process.memoryUsage().heapUsed });
      }
    }
  });
  gcObserver.observe({ entryTypes: ["gc"] });
  const noteCheckpoint = () => {
    const now = sample();
    samples.push(now);
    const window = samples.filter((s) => s.delivered > now.delivered - WINDOW);
    checkpoints.push({
      ...now,
      windowRss: Math.max(...window.map((s) => s.rss)),
      liveHeap: majorGcs.findLast((gc) => gc.delivered > now.delivered - WINDOW)?.heapUsed ?? null,
      peakRss: peakRss(),
    });
  };

  // Delivered means written: the outcome is in the database, as the engine counts it. On PostgreSQL the
  // status read before a handoff writes the outcomes waiting at that moment along with it.
  const written = (count: number) => {
    delivered += count;
    while (checkpoints.length < CHECKPOINTS.length && delivered >= (CHECKPOINTS[checkpoints.length] as number)) noteCheckpoint();
  };
  const counted: SenderStore = {
    ...store,
    async record(outcomes: readonly RecipientOutcome[]) {
      await store.record(outcomes);
      written(outcomes.length);
    },
    async readGate(sendingId: string, owner: string, now: Date, sent?: readonly SentOutcome[]) {
      const gate = await store.readGate(sendingId, owner, now, sent);
      written(sent?.length ?? 0);
      return gate;
    },
  };
  const engine = createSenderEngine({ store: counted, mailer, notifier: silentNotifier, clock: systemClock, log, settings });

  // A running sendgate has answered requests through Prisma before its first delivery (start-up, the
  // outbox, Slack): the first query of a process also warms Prisma's WASM query compiler, 150–250 ms on
  // the main thread, once. That is the process's start, not the delivery's: it happens before the go.
  await db.prisma.sending.count();
  // Started before the go, so that turning the profiler on is no stall of the delivery's.
  const profiler = await startProfiler();
  // Loaded and connected; the bench seeds the database meanwhile and says when to go.
  const { sendingId } = await new Promise<{ sendingId: string }>((resolve) => {
    process.on("message", (message: { type: string; sendingId: string }) => {
      if (message.type === "go") resolve(message);
    });
    process.send?.({ type: "ready" });
  });

  const idle = process.memoryUsage();
  started = performance.now();
  const sampler = setInterval(() => samples.push(sample()), SAMPLE_MS);
  const stalls = new StallWatch(() => delivered, Math.ceil(total / 100), started);
  const cpuBefore = cpuMicros();
  const report = await engine.tick();
  if (!report.delivering.includes(sendingId)) throw new Error(`the engine did not take the sending up: ${JSON.stringify(report)}`);
  await engine.idle();
  await profiler?.stop();
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuMicros() - cpuBefore;
  const stallReport = stalls.stop();
  gcObserver.disconnect();
  clearInterval(sampler);
  if (delivered !== total) throw new Error(`the engine wrote ${delivered} outcomes, expected ${total}`);

  const result: EngineReport = {
    idleRss: idle.rss,
    idleHeapUsed: idle.heapUsed,
    checkpoints,
    peakRss: peakRss(),
    seconds,
    cpuMicros: cpu,
    stalls: stallReport,
    delivered,
  };
  await mailer.close();
  await store.close();
  await db.close();
  process.send?.({ type: "report", report: result }, () => process.exit(0));
}

// ---------------------------------------------------------------------------------------------
// The bench: seeds each database, runs the sink and the engine, checks and prints.

function child(role: "sink" | "engine", env: Record<string, string> = {}): ChildProcess {
  return fork(SELF, {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, ...env, BENCH_DELIVERY_MEMORY_ROLE: role },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
}

function nextMessage<T extends { type: string }>(from: ChildProcess, type: T["type"]): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: T) => {
      if (message.type !== type) return;
      cleanup();
      resolve(message);
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`a child process exited (${code}) before it said "${type}"`));
    };
    const cleanup = () => {
      from.off("message", onMessage);
      from.off("exit", onExit);
    };
    from.on("message", onMessage);
    from.once("exit", onExit);
  });
}

async function startSink() {
  const sink = child("sink");
  const { port } = await nextMessage<{ type: "listening"; port: number }>(sink, "listening");
  return {
    url: `smtp://127.0.0.1:${port}`,
    async count() {
      const answer = nextMessage<{ type: "count"; count: number }>(sink, "count");
      sink.send({ type: "count" });
      return (await answer).count;
    },
    async stop() {
      if (sink.exitCode !== null) return;
      const exited = new Promise((resolve) => sink.once("exit", resolve));
      sink.send({ type: "stop" });
      await exited;
    },
  };
}

async function withDatabase<T>(provider: "sqlite" | "postgresql", work: (db: Database) => Promise<T>): Promise<T> {
  const name = `sendgate_bench_mem_${process.pid}_${randomBytes(3).toString("hex")}`;
  if (provider === "sqlite") {
    const file = join(tmpdir(), `${name}.db`);
    try {
      await migrate(`file:${file}`);
      const db = await openDatabase(`file:${file}`);
      try {
        return await work(db);
      } finally {
        await db.close();
      }
    } finally {
      for (const suffix of ["", "-wal", "-shm"]) rmSync(file + suffix, { force: true });
    }
  }
  const admin = async (sql: string) => {
    const url = new URL(pgBase);
    url.pathname = "/postgres";
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE "${name}"`);
  try {
    const url = new URL(pgBase);
    url.pathname = `/${name}`;
    await migrate(url.toString());
    const db = await openDatabase(url.toString());
    try {
      return await work(db);
    } finally {
      await db.close();
    }
  } finally {
    await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  }
}

/** A due SCHEDULED sending with its recipients, written by the driver in bulk (Prisma's createMany would take minutes). */
async function seed(db: Database, sendingId: string, count: number) {
  await db.prisma.sending.create({
    data: {
      id: sendingId, name: "Bench", ...content, launchAt: new Date(Date.now() - 60_000), requestedBy: "UBENCH",
      status: "SCHEDULED", contentHash: "h", recipientsDigest: "d", recipientCount: count,
    },
  });
  if (db.provider === "sqlite") {
    const connection = openSqliteConnection(sqliteFile(db.url));
    try {
      const insert = connection.prepare('INSERT INTO "Recipient" ("sendingId","email","vars") VALUES (?,?,?)');
      connection.transaction(() => {
        for (let i = 0; i < count; i++) insert.run(sendingId, email(i), vars(i));
      })();
    } finally {
      connection.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    await client.query("BEGIN");
    for (let start = 0; start < count; start += 10_000) {
      const emails: string[] = [];
      const varsList: string[] = [];
      for (let i = start; i < Math.min(start + 10_000, count); i++) {
        emails.push(email(i));
        varsList.push(vars(i));
      }
      await client.query(
        `INSERT INTO "Recipient" ("sendingId","email","vars") SELECT $1, e, v FROM unnest($2::text[], $3::text[]) AS t(e, v)`,
        [sendingId, emails, varsList],
      );
    }
    await client.query("COMMIT");
    // As autovacuum would soon after a real upload: the planner knows the table's size.
    await client.query(`ANALYZE "Recipient"`);
  } finally {
    await client.end();
  }
}

interface Result {
  provider: "sqlite" | "postgresql";
  seedSeconds: number;
  engine: EngineReport;
  sinkReceived: number;
  sent: number;
  sendingStatus: string;
}

async function run(provider: "sqlite" | "postgresql"): Promise<Result> {
  return withDatabase(provider, async (db) => {
    const sendingId = "snd_benchmemory";
    const sink = await startSink();
    let engine: ChildProcess | undefined;
    try {
      // The engine loads (a few seconds) while the list is written.
      engine = child("engine", { DATABASE_URL: db.url, BENCH_SINK_URL: sink.url, BENCH_RECIPIENTS: String(RECIPIENTS) });
      const ready = nextMessage(engine, "ready");
      ready.catch(() => {}); // awaited below, after the seeding
      const seedStarted = performance.now();
      await seed(db, sendingId, RECIPIENTS);
      const seedSeconds = (performance.now() - seedStarted) / 1000;
      await ready;
      const reported = nextMessage<{ type: "report"; report: EngineReport }>(engine, "report");
      engine.send({ type: "go", sendingId });
      const { report } = await reported;
      const sinkReceived = await sink.count();
      const { status } = await db.prisma.sending.findUniqueOrThrow({ where: { id: sendingId }, select: { status: true } });
      const sent = await db.prisma.recipient.count({ where: { sendingId, status: "SENT" } });
      return { provider, seedSeconds, engine: report, sinkReceived, sent, sendingStatus: status };
    } finally {
      if (engine && engine.exitCode === null) {
        const exited = new Promise((resolve) => engine?.once("exit", resolve));
        if (!engine.killed) engine.kill();
        await exited;
      }
      await sink.stop();
    }
  });
}

function print(result: Result): boolean {
  const { engine } = result;
  const name = result.provider.padEnd(10);
  const pad = "".padEnd(10);
  console.log(
    `${name} seeded in ${result.seedSeconds.toFixed(1)} s; engine idle before delivery: RSS ${mb(engine.idleRss).toFixed(0)} MB, heap used ${mb(engine.idleHeapUsed).toFixed(0)} MB`,
  );
  console.log(`${pad} ${"delivered".padStart(9)}  ${"RSS".padStart(6)}  ${"RSS max*".padStart(8)}  ${"RSS peak".padStart(8)}  ${"heap".padStart(6)}  ${"live heap*".padStart(10)}  ${"msg/s".padStart(6)}  ${"CPU µs/msg".padStart(10)}`);
  let previous: Pick<Sample, "delivered" | "ms" | "cpuMicros"> = { delivered: 0, ms: 0, cpuMicros: 0 };
  for (const c of engine.checkpoints) {
    const messages = c.delivered - previous.delivered;
    const rate = messages / ((c.ms - previous.ms) / 1000);
    const cpu = previous.delivered === 0 ? Number.NaN : (c.cpuMicros - previous.cpuMicros) / messages;
    console.log(
      `${pad} ${fmt(c.delivered).padStart(9)}  ${mb(c.rss).toFixed(0).padStart(3)} MB  ${mb(c.windowRss).toFixed(0).padStart(5)} MB  ${mb(c.peakRss).toFixed(0).padStart(5)} MB  ${mb(c.heapUsed).toFixed(0).padStart(3)} MB  ${(c.liveHeap === null ? "-" : `${mb(c.liveHeap).toFixed(0)} MB`).padStart(10)}  ${fmt(rate).padStart(6)}  ${Number.isNaN(cpu) ? "".padStart(10) : cpu.toFixed(0).padStart(10)}`,
    );
    previous = c;
  }
  const first = engine.checkpoints[0] as Checkpoint;
  const last = engine.checkpoints.at(-1) as Checkpoint;
  const peakMb = mb(engine.peakRss);
  const growthMb = mb(last.windowRss - first.windowRss);
  const liveGrowth =
    first.liveHeap !== null && last.liveHeap !== null ? `${signed(mb(last.liveHeap - first.liveHeap))} MB` : "not seen: no full collection in a window";
  const peakOk = peakMb < TARGET_PEAK_RSS_MB;
  // A quick run is shorter than the collector's cycle: the RSS near its end says where the cycle stands, not whether memory grows.
  const flatOk = QUICK || growthMb <= FLAT_WITHIN_MB;
  const flatVerdict = QUICK ? "not judged in quick mode (shorter than a garbage-collection cycle)" : flatOk ? "ok" : "NOT MET";
  const stallOk = engine.stalls.all.ms < TARGET_STALL_MS;
  const correct = result.sent === RECIPIENTS && result.sinkReceived === RECIPIENTS && result.sendingStatus === "COMPLETED";
  console.log(
    `${pad} overall ${fmt(RECIPIENTS / engine.seconds)} msg/s, ${((engine.cpuMicros / RECIPIENTS)).toFixed(0)} µs of engine CPU a message (every thread of its process)`,
  );
  console.log(`${pad} peak RSS ${peakMb.toFixed(0)} MB (VmHWM): ${peakOk ? "ok" : "NOT MET"} (goal: under ${TARGET_PEAK_RSS_MB} MB)`);
  console.log(
    `${pad} RSS max* from ${fmt(first.delivered)} to ${fmt(last.delivered)}: ${signed(growthMb)} MB (live heap ${liveGrowth}): ${flatVerdict} (goal: flat, RSS within ${FLAT_WITHIN_MB} MB)`,
  );
  const { all, steady } = engine.stalls;
  const where = (stall: Stall) => `at ${fmt(stall.delivered)} delivered, second ${stall.second.toFixed(1)}, the process had ${stall.cpuMs.toFixed(0)} ms of CPU in it`;
  console.log(`${pad} longest event-loop stall ${all.ms.toFixed(0)} ms (${where(all)}): ${stallOk ? "ok" : "NOT MET"} (goal: under ${TARGET_STALL_MS} ms)`);
  console.log(
    `${pad} after the first 1%: ${steady.ms.toFixed(0)} ms (${where(steady)}); counted in CPU (min of lateness and CPU): ${engine.stalls.longestCpuMs.toFixed(0)} ms; monitorEventLoopDelay max ${engine.stalls.histogramMaxMs.toFixed(0)} ms`,
  );
  const worst = engine.stalls.worst.map((s) => `${s.ms.toFixed(0)} ms (${s.cpuMs.toFixed(0)} CPU) at ${fmt(s.delivered)}`);
  console.log(`${pad} the ten longest stalls: ${worst.join(", ")}`);
  console.log(
    `${pad} sending ${result.sendingStatus}, ${fmt(result.sent)} recipients SENT, the sink received ${fmt(result.sinkReceived)}: ${correct ? "ok" : "WRONG"}`,
  );
  if (!correct) throw new Error(`${result.provider}: expected every one of ${RECIPIENTS} recipients SENT and received once`);
  return peakOk && flatOk && stallOk;
}

/** RSS of an empty Node process, with the flags given: the share of the engine's RSS that is not sendgate's. */
function emptyProcessRss(flags: string[]): number {
  const script = "setTimeout(() => console.log(process.memoryUsage.rss()), 300)";
  return Number(execFileSync(process.execPath, [...flags, "-e", script], { encoding: "utf8" }).trim());
}

async function main() {
  console.log(
    `delivery of ${fmt(RECIPIENTS)} personalized messages (about 6 KB each), ${CONCURRENCY} SMTP connections, no rate limit; the engine and the sink in processes of their own`,
  );
  console.log(
    `* over the ${fmt(WINDOW)} messages before each point: RSS max, the highest RSS sampled every ${SAMPLE_MS} ms; live heap, heap used as the last full collection ended. RSS peak: the kernel's high-water mark so far`,
  );
  const bare = emptyProcessRss([]);
  const underTsx = emptyProcessRss(["--import", "tsx"]);
  console.log(
    `the engine runs under tsx like every bench: an empty process takes ${mb(underTsx).toFixed(0)} MB of RSS with its loader, ${mb(bare).toFixed(0)} MB without; \`node dist/main.js\` carries none of those ${mb(underTsx - bare).toFixed(0)} MB`,
  );
  const providers: ("sqlite" | "postgresql")[] = ["sqlite"];
  if (!QUICK && process.env.BENCH_ONLY !== "sqlite") {
    try {
      const probe = new pg.Client({ connectionString: pgBase });
      await probe.connect();
      await probe.end();
      providers.push("postgresql");
    } catch (error) {
      console.log(`PostgreSQL at ${pgBase} is not reachable (${(error as Error).message}): PostgreSQL figures SKIPPED.`);
    }
  }
  if (process.env.BENCH_ONLY === "postgresql") providers.shift();
  let met = true;
  for (const provider of providers) met = print(await run(provider)) && met;
  if (QUICK) console.log("(quick mode: SQLite only, a reduced list; `npm run bench -- delivery-memory` for the full million on both databases)");
  if (!met) process.exitCode = 1;
}

if (ROLE === "sink") await serveSink();
else if (ROLE === "engine") {
  await runEngine().catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else await main();
