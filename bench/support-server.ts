// A sendgate HTTP server in a process of its own, so the benchmark measures the server's memory and
// nothing of the client that feeds it. Reports its port, then its peak RSS and event-loop stalls on request.
// Started by bench/recipients.ts with DATABASE_URL and BENCH_API_TOKEN set.
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

let peakRss = process.memoryUsage().rss;
let startRss = peakRss;
let peakHeap = 0;
let peakExternal = 0;
const sampler = setInterval(() => {
  const memory = process.memoryUsage();
  peakRss = Math.max(peakRss, memory.rss);
  peakHeap = Math.max(peakHeap, memory.heapTotal);
  peakExternal = Math.max(peakExternal, memory.external);
}, 20);
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

server.listen(0, "127.0.0.1", () => {
  startRss = process.memoryUsage().rss;
  process.send?.({ port: (server.address() as AddressInfo).port });
});
process.on("message", (message: { type: string }) => {
  if (message.type === "reset") {
    peakRss = process.memoryUsage().rss;
    loopDelay.reset();
  }
  if (message.type === "stats") {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    process.send?.({ startRss, peakRss, peakHeap, peakExternal, maxLoopDelayMs: loopDelay.max / 1e6 });
  }
  if (message.type === "stop") {
    clearInterval(sampler);
    server.close();
    void recipients.close().then(() => db.close()).then(() => process.exit(0));
  }
});
