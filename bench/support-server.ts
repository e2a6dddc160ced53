// A sendgate HTTP server in a process of its own, so the benchmark measures the server's memory and
// nothing of the client that feeds it. Reports its port, then on request its peak memory and its
// event loop's stalls since the last reset, during which it makes a small write every 100 ms.
// Started by bench/recipients.ts with DATABASE_URL and BENCH_API_TOKEN set.
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { pino } from "pino";
import { loadConfig } from "../src/config.js";
import { openDatabase } from "../src/db/database.js";
import { createHttpServer } from "../src/http/server.js";
import { createSendingAnalyzer } from "../src/sendings/support/current-analysis.js";
import { silentNotifier, systemClock } from "../src/sendings/support/ports.js";
import { createTestRecipientBulk } from "../test/support/db-paths.js";

const config = loadConfig({
  DATABASE_URL: process.env.DATABASE_URL,
  SLACK_BOT_TOKEN: "xoxb-bench",
  SLACK_APP_TOKEN: "xapp-bench",
  SLACK_APPROVALS_CHANNEL: "C0BENCH",
  APPROVERS: "U0BENCH",
  API_TOKENS: process.env.BENCH_API_TOKEN,
});
const db = await openDatabase(config.databaseUrl);
const recipients = createTestRecipientBulk(db);
const analyzer = createSendingAnalyzer(db, {});
const server = createHttpServer({ db, recipients, analyzer, config, notifier: silentNotifier, clock: systemClock, log: pino({ level: process.env.BENCH_LOG_LEVEL ?? "warn" }) });

/** This thread's time on a core and waiting for one, in ms (the kernel's scheduler statistics, in ns). */
function mainThreadTimes(): { cpuMs: number; waitMs: number } {
  const [cpu = "0", wait = "0"] = readFileSync(`/proc/self/task/${process.pid}/schedstat`, "utf8").split(" ");
  return { cpuMs: Number(cpu) / 1e6, waitMs: Number(wait) / 1e6 };
}

const TICK_MS = 10;

/**
 * The event loop's stalls, seen by a 10 ms timer: how late each firing was, and how long the main
 * thread was on a core and waiting for one meanwhile. On a busy machine a thread may wait for a core:
 * then the lateness is the machine's, and the CPU figure is the loop's own work.
 */
class StallWatch {
  longest = { ms: 0, cpuMs: 0, waitMs: 0 };
  /** The longest stall counted in CPU: min(lateness, the main thread's CPU in it). */
  longestCpuMs = 0;
  /** Stalls over 40 ms, with when they ended (ms after the reset), for BENCH_VERBOSE. */
  readonly over40: { at: number; ms: number; cpuMs: number; waitMs: number }[] = [];
  readonly #histogram = monitorEventLoopDelay({ resolution: TICK_MS });
  readonly #timer: NodeJS.Timeout;
  readonly #startedCpuMs: number;

  constructor() {
    const started = performance.now();
    let last = started;
    let lastTimes = mainThreadTimes();
    this.#startedCpuMs = lastTimes.cpuMs;
    this.#timer = setInterval(() => {
      const now = performance.now();
      const times = mainThreadTimes();
      const stall = { ms: now - last - TICK_MS, cpuMs: times.cpuMs - lastTimes.cpuMs, waitMs: times.waitMs - lastTimes.waitMs };
      last = now;
      lastTimes = times;
      if (stall.ms > this.longest.ms) this.longest = stall;
      this.longestCpuMs = Math.max(this.longestCpuMs, Math.min(stall.ms, stall.cpuMs));
      if (stall.ms > 40 && this.over40.length < 50) this.over40.push({ at: Math.round(now - started), ...stall });
    }, TICK_MS);
    this.#histogram.enable();
  }

  stop() {
    clearInterval(this.#timer);
    this.#histogram.disable();
    return {
      longest: this.longest,
      longestCpuMs: this.longestCpuMs,
      histogramMaxMs: this.#histogram.max / 1e6,
      over40: this.over40,
      mainThreadCpuMs: mainThreadTimes().cpuMs - this.#startedCpuMs,
    };
  }
}

let peakRss = process.memoryUsage().rss;
let startRss = peakRss;
let peakHeap = 0;
let peakExternal = 0;
/** The main thread's memory when the RSS peaked (BENCH_VERBOSE). */
let atPeak = process.memoryUsage();
const sampler = setInterval(() => {
  const memory = process.memoryUsage();
  if (memory.rss > peakRss) atPeak = memory;
  peakRss = Math.max(peakRss, memory.rss);
  peakHeap = Math.max(peakHeap, memory.heapTotal);
  peakExternal = Math.max(peakExternal, memory.external);
}, 20);
let watch = new StallWatch();
let idleMemory = process.memoryUsage();

/**
 * While measuring, a small write every 100 ms, as Slack clicks and the outbox make them: on SQLite
 * one arriving while the upload holds the write lock must wait without stopping the event loop.
 */
const WRITE_EVERY_MS = 100;
let longestWriteMs = 0;
let writer: NodeJS.Timeout | undefined;
function startWriting() {
  longestWriteMs = 0;
  writer = setInterval(() => {
    const started = performance.now();
    void db.prisma.sending.updateMany({ where: { id: "snd_bystander0" }, data: { name: "Bystander" } }).then(() => {
      longestWriteMs = Math.max(longestWriteMs, performance.now() - started);
    });
  }, WRITE_EVERY_MS);
}

server.listen(0, "127.0.0.1", () => {
  startRss = process.memoryUsage().rss;
  process.send?.({ port: (server.address() as AddressInfo).port });
});
process.on("message", (message: { type: string }) => {
  if (message.type === "reset") {
    idleMemory = process.memoryUsage();
    peakRss = idleMemory.rss;
    watch.stop();
    watch = new StallWatch();
    clearInterval(writer);
    startWriting();
    process.send?.({ type: "reset" });
  }
  if (message.type === "stats") {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    clearInterval(writer);
    process.send?.({ startRss, peakRss, peakHeap, peakExternal, atPeak, idle: idleMemory, longestWriteMs, ...watch.stop() });
  }
  if (message.type === "stop") {
    clearInterval(sampler);
    clearInterval(writer);
    watch.stop();
    server.close();
    void recipients.close().then(() => db.close()).then(() => process.exit(0));
  }
});
