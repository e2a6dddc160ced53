// The Preview modal's recipient search (a Slack external select, answered within Slack's 3 seconds)
// over 100,000 recipients of one sending, on SQLite and PostgreSQL: the time per search, the plan
// the database chose, and beside them the time the whole analysis of the same list takes.
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { openDatabase, type Database } from "../src/db/database.js";
import { migrate } from "../src/db/migrate.js";
import { analyzeSending } from "../src/sendings/analyze-sending.js";
import { explainSearch, searchRecipients } from "../src/sendings/search-recipients.js";

/** Searches run as the sending's requester, through the same authority check as a Slack search. */
const REQUESTER = "U0BENCH";
const approvers = { isApprover: async () => false };

const ROWS = Number(process.env.BENCH_SEARCH_RECIPIENTS ?? 100_000);
const SEARCHES = 300;
const SLACK_WINDOW_MS = 3_000;
const pgBase = process.env.BENCH_POSTGRES_URL || process.env.TEST_POSTGRES_URL || "postgresql://postgres@127.0.0.1:5432/test";

const address = (i: number) => `${["ann", "bob", "carla", "dev", "eve"][i % 5]}.reader${i}@${["example.com", "acme.test", "mail.test"][i % 3]}`;

/** The searches an approver types: prefixes of 1 to 12 characters of addresses on the list, and some that match nothing. */
function queries(): string[] {
  const out: string[] = [];
  for (let n = 0; n < SEARCHES; n++) {
    const email = n % 10 === 9 ? `zz${n}nobody@nowhere.test` : address(Math.floor(Math.random() * ROWS));
    out.push(email.slice(0, 1 + (n % 12)));
  }
  return out;
}

async function fill(db: Database): Promise<string> {
  const sendingId = `snd_${randomBytes(5).toString("hex")}`;
  const now = new Date();
  await db.prisma.sending.create({
    data: {
      id: sendingId, name: "Search bench", subject: "Hello {{firstName}}", fromEmail: "news@acme.test",
      html: '<p>Hello {{firstName}}</p><a href="{{unsubscribeUrl}}">Unsubscribe</a>',
      launchAt: new Date(now.getTime() + 86_400_000), requestedBy: "U0BENCH", contentHash: "h", recipientsDigest: "d",
    },
  });
  const chunk = 2_000;
  for (let start = 0; start < ROWS; start += chunk) {
    const rows = Array.from({ length: Math.min(chunk, ROWS - start) }, (_, k) => start + k);
    const params = rows.flatMap((i) => [sendingId, address(i), JSON.stringify({ firstName: `Reader${i}`, unsubscribeUrl: `https://acme.test/u/${i}` })]);
    const values = rows
      .map((_, k) => (db.provider === "sqlite" ? "(?, ?, ?)" : `($${3 * k + 1}, $${3 * k + 2}, $${3 * k + 3})`))
      .join(", ");
    await db.prisma.$executeRawUnsafe(`INSERT INTO "Recipient" ("sendingId", "email", "vars") VALUES ${values}`, ...params);
  }
  return sendingId;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const ms = (n: number) => `${n.toFixed(2)} ms`;

/** Times every search of the list; returns the slowest. */
async function searchAll(label: string, db: Database, sendingId: string, list: string[]): Promise<number> {
  for (const q of list.slice(0, 5)) await searchRecipients({ db, approvers }, { sendingId, userId: REQUESTER, query: q }); // warm the connection and caches
  const times: number[] = [];
  for (const q of list) {
    const started = performance.now();
    await searchRecipients({ db, approvers }, { sendingId, userId: REQUESTER, query: q });
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const plan = await explainSearch(db, sendingId, "carla.reader4");
  console.log(`  ${label}: median ${ms(percentile(times, 50))}, p95 ${ms(percentile(times, 95))}, max ${ms(times.at(-1) ?? NaN)} per search (Slack allows ${SLACK_WINDOW_MS} ms)`);
  console.log(`    plan: ${plan.replace(/\n/g, "\n          ")}`);
  return times.at(-1) ?? Infinity;
}

async function measure(label: string, db: Database): Promise<boolean> {
  const sendingId = await fill(db);
  const list = queries();
  console.log(`${label}: ${ROWS.toLocaleString("en-US")} recipients, ${SEARCHES} searches of 1 to 12 characters`);
  let slowest = await searchAll("right after the upload", db, sendingId, list);
  if (db.provider === "postgresql") {
    // Before autovacuum has gathered statistics the planner guesses a few rows and may sort a bitmap scan.
    await db.prisma.$executeRawUnsafe(`ANALYZE "Recipient"`);
    slowest = Math.max(slowest, await searchAll("with planner statistics (ANALYZE)", db, sendingId, list));
  }
  const analysisStarted = performance.now();
  await analyzeSending(db, sendingId);
  console.log(`  the whole analysis of the list: ${((performance.now() - analysisStarted) / 1000).toFixed(2)} s`);
  return slowest < SLACK_WINDOW_MS;
}

async function onSqlite(): Promise<boolean> {
  const file = join(tmpdir(), `sendgate-search-bench-${process.pid}.db`);
  const url = `file:${file}`;
  await migrate(url);
  const db = await openDatabase(url);
  try {
    return await measure("SQLite", db);
  } finally {
    await db.close();
    for (const suffix of ["", "-wal", "-shm"]) rmSync(file + suffix, { force: true });
  }
}

async function onPostgres(): Promise<boolean> {
  const name = `sendgate_search_bench_${process.pid}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: withDatabase(pgBase, "postgres") });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  try {
    await admin(`CREATE DATABASE "${name}"`);
  } catch (error) {
    console.log(`PostgreSQL: skipped, ${pgBase} does not answer (${(error as Error).message})`);
    return true;
  }
  const url = withDatabase(pgBase, name);
  let db: Database | undefined;
  try {
    await migrate(url);
    db = await openDatabase(url);
    return await measure("PostgreSQL", db);
  } finally {
    await db?.close();
    await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  }
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

const within = [await onSqlite(), await onPostgres()];
if (within.includes(false)) {
  console.error(`A search took longer than Slack's ${SLACK_WINDOW_MS} ms.`);
  process.exitCode = 1;
}
