// Appending 1,000,000 recipients as NDJSON over HTTP to a real server, on SQLite and PostgreSQL,
// beside the raw driver's bulk insert of the same rows into the same table, in the same run.
// Targets (issue 2): under 60 s each, peak server memory under 300 MB.
import { fork, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { migrate } from "../src/db/migrate.js";
import { openSqliteConnection } from "../src/db/sqlite-connection.js";

const BENCH_TOKEN = `bench-${randomBytes(16).toString("hex")}`;
const ROWS = Number(process.env.BENCH_RECIPIENTS ?? 1_000_000);
const TARGET_SECONDS = 60;
const TARGET_RSS_MB = 300;
const pgBase = process.env.BENCH_POSTGRES_URL || process.env.TEST_POSTGRES_URL || "postgresql://postgres@127.0.0.1:5432/test";

const email = (i: number) => `reader${i}@example.com`;
const vars = (i: number) =>
  JSON.stringify({ firstName: `Reader${i}`, city: i % 3 ? "Portland" : "Salem", unsubscribeUrl: `https://acme.test/u/${i.toString(36)}` });

/** The upload, generated as it is sent: the client holds a thousand lines at a time. */
function ndjsonStream(rows: number): Readable {
  let next = 0;
  return new Readable({
    read() {
      if (next >= rows) return void this.push(null);
      const end = Math.min(next + 1000, rows);
      let chunk = "";
      for (; next < end; next++) chunk += `{"email":"${email(next)}","vars":${vars(next)}}\n`;
      this.push(chunk);
    },
  });
}

interface Figures {
  seconds: number;
  rows: number;
  startRssMb?: number;
  peakRssMb?: number;
  maxLoopDelayMs?: number;
}

const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);

/** The kernel's high-water mark of the process's resident memory: exact, whatever its event loop was doing. */
function peakRssOf(pid: number): number | undefined {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

function startServer(databaseUrl: string): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(fileURLToPath(new URL("./support-server.ts", import.meta.url)), {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, DATABASE_URL: databaseUrl, BENCH_API_TOKEN: BENCH_TOKEN },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    child.once("message", (message: { port: number }) => resolve({ child, port: message.port }));
    child.once("exit", (code) => reject(new Error(`the server exited (${code}) before listening`)));
  });
}

function ask<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve) => {
    child.once("message", (message: T) => resolve(message));
    child.send({ type });
  });
}

async function api(port: number, method: string, path: string, body: Readable | string, contentType: string) {
  return new Promise<{ status: number; json: unknown }>((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, method, path, headers: { authorization: `Bearer ${BENCH_TOKEN}`, "content-type": contentType } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text || "null") }));
      },
    );
    req.on("error", reject);
    if (typeof body === "string") req.end(body);
    else body.pipe(req);
  });
}

/** sendgate's path: a real server in its own process, the list streamed to it over HTTP. */
async function throughSendgate(databaseUrl: string): Promise<Figures> {
  const { child, port } = await startServer(databaseUrl);
  try {
    const sending = {
      name: "Benchmark",
      subject: "Hello {{firstName}}",
      from: { email: "news@acme.test" },
      html: "<p>Hello {{firstName}}</p><p><a href=\"{{unsubscribeUrl}}\">Unsubscribe</a></p>",
      launchAt: "2031-01-01T09:00:00+01:00",
      requestedBy: "U0BENCH",
      recipients: [],
    };
    const created = await api(port, "POST", "/api/sendings", JSON.stringify(sending), "application/json");
    if (created.status !== 201) throw new Error(`create failed: ${JSON.stringify(created.json)}`);
    const { id } = created.json as { id: string };
    child.send({ type: "reset" });
    const started = performance.now();
    const appended = await api(port, "POST", `/api/sendings/${id}/recipients`, ndjsonStream(ROWS), "application/x-ndjson");
    const seconds = (performance.now() - started) / 1000;
    const result = appended.json as { appended?: number };
    if (appended.status !== 200 || result.appended !== ROWS) throw new Error(`append failed: ${JSON.stringify(appended.json)}`);
    const stats = await ask<{ startRss: number; peakRss: number; peakHeap: number; peakExternal: number; maxLoopDelayMs: number }>(child, "stats");
    if (process.env.BENCH_VERBOSE) console.log(`  server peaks: V8 heap ${mb(stats.peakHeap)} MB, external ${mb(stats.peakExternal)} MB`);
    return {
      seconds,
      rows: ROWS,
      startRssMb: mb(stats.startRss),
      peakRssMb: mb(peakRssOf(child.pid!) ?? stats.peakRss),
      maxLoopDelayMs: Math.round(stats.maxLoopDelayMs),
    };
  } finally {
    child.send({ type: "stop" });
    await new Promise((resolve) => child.once("exit", resolve));
  }
}

/** The floor: a plain prepared INSERT of the same rows in one better-sqlite3 transaction. */
function rawSqlite(file: string): Figures {
  const db = openSqliteConnection(file);
  const now = new Date().toISOString();
  db.prepare(
    `INSERT INTO "Sending" ("id","name","subject","fromEmail","html","launchAt","requestedBy","contentHash","recipientsDigest","updatedAt")
     VALUES ('snd_rawbench00','Raw','s','a@b.test','<p>x</p>',?,'U0BENCH','h','d',?)`,
  ).run(now, now);
  const insert = db.prepare('INSERT INTO "Recipient" ("sendingId","email","vars") VALUES (?,?,?)');
  const started = performance.now();
  db.transaction(() => {
    for (let i = 0; i < ROWS; i++) insert.run("snd_rawbench00", email(i), vars(i));
  })();
  const seconds = (performance.now() - started) / 1000;
  db.close();
  return { seconds, rows: ROWS };
}

/** The floor on PostgreSQL: plain multi-row `INSERT … SELECT FROM unnest(…)` in batches, one transaction. */
async function rawPostgres(url: string): Promise<Figures> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(
      `INSERT INTO "Sending" ("id","name","subject","fromEmail","html","launchAt","requestedBy","contentHash","recipientsDigest","updatedAt")
       VALUES ('snd_rawbench00','Raw','s','a@b.test','<p>x</p>',now(),'U0BENCH','h','d',now())`,
    );
    const started = performance.now();
    await client.query("BEGIN");
    for (let start = 0; start < ROWS; start += 10_000) {
      const emails: string[] = [];
      const varsList: string[] = [];
      for (let i = start; i < Math.min(start + 10_000, ROWS); i++) {
        emails.push(email(i));
        varsList.push(vars(i));
      }
      await client.query(
        `INSERT INTO "Recipient" ("sendingId","email","vars") SELECT 'snd_rawbench00', e, v FROM unnest($1::text[], $2::text[]) AS t(e, v)`,
        [emails, varsList],
      );
    }
    await client.query("COMMIT");
    return { seconds: (performance.now() - started) / 1000, rows: ROWS };
  } finally {
    await client.end();
  }
}

async function withSqliteDatabase<T>(work: (url: string, file: string) => Promise<T> | T): Promise<T> {
  const file = join(tmpdir(), `sendgate-bench-${randomBytes(4).toString("hex")}.db`);
  try {
    await migrate(`file:${file}`);
    return await work(`file:${file}`, file);
  } finally {
    for (const suffix of ["", "-wal", "-shm"]) rmSync(file + suffix, { force: true });
  }
}

async function withPostgresDatabase<T>(work: (url: string) => Promise<T>): Promise<T> {
  const name = `sendgate_bench_${randomBytes(4).toString("hex")}`;
  const admin = new URL(pgBase);
  admin.pathname = "/postgres";
  const url = new URL(pgBase);
  url.pathname = `/${name}`;
  const adminQuery = async (sql: string) => {
    const client = new pg.Client({ connectionString: admin.toString() });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await adminQuery(`CREATE DATABASE "${name}"`);
  try {
    await migrate(url.toString());
    return await work(url.toString());
  } finally {
    await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  }
}

function report(label: string, figures: Figures, baseline?: Figures) {
  const rate = Math.round(figures.rows / figures.seconds).toLocaleString("en-US");
  const parts = [`${label.padEnd(40)} ${figures.seconds.toFixed(1).padStart(6)} s  ${rate.padStart(9)} rows/s`];
  if (figures.peakRssMb !== undefined) {
    parts.push(`peak server RSS ${figures.peakRssMb} MB (${figures.startRssMb} MB idle)`);
    parts.push(`longest event-loop stall ${figures.maxLoopDelayMs} ms`);
  }
  if (baseline) parts.push(`(${(figures.seconds / baseline.seconds).toFixed(1)}x the raw driver)`);
  const within = figures.seconds < TARGET_SECONDS && (figures.peakRssMb ?? 0) < TARGET_RSS_MB;
  if (figures.peakRssMb !== undefined) parts.push(within ? "within targets" : "MISSES A TARGET");
  console.log(parts.join("  "));
  return within;
}

console.log(`Appending ${ROWS.toLocaleString("en-US")} recipients (targets: under ${TARGET_SECONDS} s, peak server memory under ${TARGET_RSS_MB} MB)`);
let allWithin = true;

const only = process.env.BENCH_ONLY; // "sqlite" or "postgresql" while working on one of them
if (only !== "postgresql") {
const sqliteRaw = await withSqliteDatabase((_url, file) => rawSqlite(file));
report("SQLite, raw better-sqlite3 INSERT", sqliteRaw);
const sqliteApi = await withSqliteDatabase((url) => throughSendgate(url));
allWithin = report("SQLite, sendgate NDJSON over HTTP", sqliteApi, sqliteRaw) && allWithin;
}

let postgresReachable = true;
try {
  const probe = new pg.Client({ connectionString: pgBase });
  await probe.connect();
  await probe.end();
} catch (error) {
  postgresReachable = false;
  console.log(`PostgreSQL at ${pgBase} is not reachable (${(error as Error).message}): PostgreSQL figures SKIPPED.`);
}
if (postgresReachable && only !== "sqlite") {
  const postgresRaw = await withPostgresDatabase((url) => rawPostgres(url));
  report("PostgreSQL, raw pg unnest INSERT", postgresRaw);
  const postgresApi = await withPostgresDatabase((url) => throughSendgate(url));
  allWithin = report("PostgreSQL, sendgate NDJSON over HTTP", postgresApi, postgresRaw) && allWithin;
}
if (!allWithin) process.exitCode = 1;
