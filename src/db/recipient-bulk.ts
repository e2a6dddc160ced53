import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { setTimeout as sleep } from "node:timers/promises";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import type { Database, Prisma, Tx } from "./database.js";
import { PrismaClient as PostgresClient } from "./generated/postgresql/client.js";
import { sqliteFile } from "./provider.js";

/**
 * Bulk recipient writes, bypassing Prisma's createMany (about 8,000 rows/s, far too slow for a
 * million recipients), all or nothing: a list is either wholly appended or not at all.
 *
 * SQLite: one writer at a time, so the upload is staged in short transactions of its own on a
 * connection beside Prisma's (other writers wait milliseconds, never the length of an upload), and
 * published into Recipient by one statement inside the transaction that also updates the sending.
 *
 * PostgreSQL: writers do not block each other, so the rows go straight into Recipient with plain
 * multi-row INSERTs inside one transaction that stays invisible until it commits with the sending's
 * update. Staging there would write every row twice; this writes it once. The transaction locks only
 * its own new rows (plus a key-share lock on the sending, which updates of it do not conflict with).
 */

/** One recipient as stored: a lower-cased address and its variables as JSON object text. */
export interface RecipientRow {
  email: string;
  vars: string;
}

export interface RecipientSink {
  /** Writes one batch; returns how many of its rows were not repeats of earlier rows of this upload. */
  write(rows: readonly RecipientRow[]): Promise<number>;
}

export interface AppendCounts {
  /** Rows that were not repeats within the upload. */
  fresh: number;
  /** Rows new to the sending, now its recipients. */
  appended: number;
}

export interface AtomicAppend<T> {
  sendingId: string;
  /** Runs first inside the transaction that makes the rows visible (creating the sending, say). */
  before?(tx: Tx): Promise<void>;
  /** Writes the rows, in batches of at most BULK_BATCH_SIZE. */
  fill(sink: RecipientSink): Promise<void>;
  /** Runs last inside that transaction, knowing what was appended; its result is returned. */
  after(tx: Tx, counts: AppendCounts): Promise<T>;
}

/** Rows a caller collects before calling write(): the memory an upload holds does not grow beyond it. */
export const BULK_BATCH_SIZE = 5_000;

/** An upload over a slow link may take long; the request timeout of the HTTP server bounds it too. */
const UPLOAD_TRANSACTION = { timeout: 30 * 60_000, maxWait: 60_000 };
/** SQLite: publishing a million staged rows takes seconds; Prisma's default is 5. */
const PUBLISH_TRANSACTION = { timeout: 10 * 60_000, maxWait: 60_000 };

/** Uploads older than this are abandoned (the process died mid-upload) and are removed by the next upload. */
const ABANDONED_AFTER_MS = 24 * 60 * 60 * 1000;

export async function appendRecipientsAtomically<T>(db: Database, work: AtomicAppend<T>, now = new Date()): Promise<T> {
  return db.provider === "sqlite" ? appendThroughStaging(db, work, now) : appendInOneTransaction(db, work);
}

async function appendThroughStaging<T>(db: Database, work: AtomicAppend<T>, now: Date): Promise<T> {
  const stager = sqliteStagerFor(db);
  const uploadId = `upl_${now.getTime().toString(36)}_${randomBytes(6).toString("hex")}`;
  await stager.begin(uploadId, work.sendingId, new Date(now.getTime() - ABANDONED_AFTER_MS));
  let fresh = 0;
  try {
    await work.fill({
      async write(rows) {
        const added = rows.length ? await stager.stage(uploadId, rows) : 0;
        fresh += added;
        return added;
      },
    });
    return await db.prisma.$transaction(async (tx) => {
      await work.before?.(tx);
      const appended = await publishStaged(tx, uploadId, work.sendingId);
      return work.after(tx, { fresh, appended });
    }, PUBLISH_TRANSACTION);
  } finally {
    await stager.discard(uploadId);
  }
}

/**
 * One statement, in upload order. The scan runs along the primary key over the upload's id range:
 * selecting by the (uploadId, email) index instead would sort a million rows first.
 */
async function publishStaged(tx: Tx, uploadId: string, sendingId: string): Promise<number> {
  const [range] = await tx.$queryRaw<{ lo: number | bigint | null; hi: number | bigint | null }[]>`
    SELECT min("id") AS lo, max("id") AS hi FROM "StagedRecipient" WHERE "uploadId" = ${uploadId}`;
  if (range?.lo == null || range.hi == null) return 0;
  return tx.$executeRaw`
    INSERT INTO "Recipient" ("sendingId", "email", "vars")
    SELECT ${sendingId}, "email", "vars" FROM "StagedRecipient" NOT INDEXED
    WHERE "id" BETWEEN ${Number(range.lo)} AND ${Number(range.hi)} AND "uploadId" = ${uploadId} ORDER BY "id"
    ON CONFLICT ("sendingId", "email") DO NOTHING`;
}

async function appendInOneTransaction<T>(db: Database, work: AtomicAppend<T>): Promise<T> {
  const bulk = postgresBulkFor(db);
  return bulk.prisma.$transaction(async (tx) => {
    // The rows travel over the transaction's own connection as plain pg queries: through Prisma's
    // raw queries the same INSERTs take about twice as long.
    const connection = await bulk.connectionOf(tx);
    await work.before?.(tx);
    const [{ xid }] = (await connection.query<{ xid: string }>("SELECT pg_current_xact_id()::text AS xid")).rows as [{ xid: string }];
    let fresh = 0;
    let appended = 0;
    await work.fill({
      async write(rows) {
        if (rows.length === 0) return 0;
        const emails = rows.map((row) => row.email).join("\n");
        const vars = rows.map((row) => row.vars).join("\n");
        // Never write outside the transaction (Prisma rolled it back on a timeout and released the connection).
        const current = await connection.query<{ xid: string | null }>("SELECT pg_current_xact_id_if_assigned()::text AS xid");
        if (current.rows[0]?.xid !== xid) throw new Error("the upload's transaction ended before the upload did");
        // Newline-joined text is the cheapest way in: addresses hold no newline and JSON text escapes its own.
        const inserted = await connection.query(
          `INSERT INTO "Recipient" ("sendingId", "email", "vars")
           SELECT $1, t.email, t.vars FROM unnest(string_to_array($2, E'\\n'), string_to_array($3, E'\\n')) AS t(email, vars)
           ON CONFLICT ("sendingId", "email") DO NOTHING`,
          [work.sendingId, emails, vars],
        );
        const added = inserted.rowCount ?? 0;
        let existing = 0;
        if (added < rows.length) {
          // Tell addresses the sending already had from repeats within this upload (rows this transaction wrote).
          const result = await connection.query<{ count: string }>(
            `SELECT count(DISTINCT r."email") AS count FROM "Recipient" r
             WHERE r."sendingId" = $1 AND r."email" = ANY(string_to_array($2, E'\\n')) AND r.xmin <> xid(pg_current_xact_id())`,
            [work.sendingId, emails],
          );
          existing = Number(result.rows[0]?.count ?? 0);
        }
        fresh += added + existing;
        appended += added;
        return added + existing;
      },
    });
    return work.after(tx, { fresh, appended });
  }, UPLOAD_TRANSACTION);
}

/** Closes the bulk connections opened for this database (the composition root calls it on shutdown). */
export async function closeRecipientBulk(db: Database): Promise<void> {
  const sqlite = sqliteStagers.get(db);
  sqliteStagers.delete(db);
  sqlite?.close();
  const postgres = postgresBulks.get(db);
  postgresBulks.delete(db);
  await postgres?.close();
}

// --- SQLite ---------------------------------------------------------------------------------

/** The slice of better-sqlite3 used here (it ships without types; it comes with Prisma's adapter). */
export interface SqliteStatement {
  run(...params: unknown[]): { changes: number };
  get(...params: unknown[]): unknown;
}
export interface SqliteConnection {
  prepare(sql: string): SqliteStatement;
  pragma(source: string): unknown;
  exec(sql: string): void;
  transaction<A extends unknown[], R>(fn: (...args: A) => R): ((...args: A) => R) & { immediate(...args: A): R };
  close(): void;
}

const requireFromAdapter = createRequire(createRequire(import.meta.url).resolve("@prisma/adapter-better-sqlite3"));

/** Opens a better-sqlite3 connection of our own beside Prisma's. */
export function openSqliteConnection(file: string, options: { timeout?: number } = {}): SqliteConnection {
  const BetterSqlite3 = requireFromAdapter("better-sqlite3") as new (file: string, options: { timeout: number }) => SqliteConnection;
  return new BetterSqlite3(file, { timeout: options.timeout ?? 0 });
}

const isBusy = (error: unknown) => /^SQLITE_BUSY|^SQLITE_LOCKED/.test((error as { code?: string }).code ?? "");
const BUSY_GIVE_UP_MS = 30_000;
const DISCARD_SLICE = 20_000;

const sqliteStagers = new WeakMap<Database, SqliteStager>();

function sqliteStagerFor(db: Database): SqliteStager {
  let stager = sqliteStagers.get(db);
  if (!stager) {
    stager = new SqliteStager(sqliteFile(db.url));
    sqliteStagers.set(db, stager);
  }
  return stager;
}

class SqliteStager {
  #connection: SqliteConnection | undefined;
  #statements: ReturnType<SqliteStager["prepare"]> | undefined;

  constructor(private readonly file: string) {}

  private prepare(connection: SqliteConnection) {
    const insert = connection.prepare(
      'INSERT OR IGNORE INTO "StagedRecipient" ("uploadId", "email", "vars") VALUES (?, ?, ?)',
    );
    const range = connection.prepare('SELECT min("id") AS lo, max("id") AS hi FROM "StagedRecipient" WHERE "uploadId" = ?');
    const deleteRange = connection.prepare(
      'DELETE FROM "StagedRecipient" NOT INDEXED WHERE "id" >= ? AND "id" < ? AND "uploadId" = ?',
    );
    return {
      stage: connection.transaction((uploadId: string, rows: readonly RecipientRow[]) => {
        let added = 0;
        for (const row of rows) added += insert.run(uploadId, row.email, row.vars).changes;
        return added;
      }),
      begin: connection.transaction((uploadId: string, sendingId: string, abandonedBefore: string) => {
        connection
          .prepare(
            'DELETE FROM "StagedRecipient" WHERE "uploadId" IN (SELECT "id" FROM "RecipientUpload" WHERE "createdAt" < ?)',
          )
          .run(abandonedBefore);
        connection.prepare('DELETE FROM "RecipientUpload" WHERE "createdAt" < ?').run(abandonedBefore);
        connection
          .prepare('INSERT INTO "RecipientUpload" ("id", "sendingId", "createdAt") VALUES (?, ?, ?)')
          .run(uploadId, sendingId, new Date().toISOString());
      }),
      range: (uploadId: string) => range.get(uploadId) as { lo: number | null; hi: number | null },
      deleteRange: (uploadId: string, from: number, to: number) => deleteRange.run(from, to, uploadId).changes,
      deleteUpload: (uploadId: string) =>
        connection.prepare('DELETE FROM "RecipientUpload" WHERE "id" = ?').run(uploadId).changes,
    };
  }

  private get statements() {
    if (!this.#statements) {
      // No busy timeout: it would block the event loop while the lock holder, often a Prisma
      // transaction in this very process, waits for that loop to finish. We retry asynchronously instead.
      const connection = openSqliteConnection(this.file, { timeout: 0 });
      connection.pragma("journal_mode = WAL");
      connection.pragma("foreign_keys = ON");
      this.#connection = connection;
      this.#statements = this.prepare(connection);
    }
    return this.#statements;
  }

  /** Runs a short synchronous write, waiting asynchronously while another connection holds the write lock. */
  private async write<R>(work: () => R): Promise<R> {
    const giveUpAt = Date.now() + BUSY_GIVE_UP_MS;
    for (let wait = 2; ; wait = Math.min(wait * 2, 100)) {
      try {
        return work();
      } catch (error) {
        if (!isBusy(error) || Date.now() > giveUpAt) throw error;
        await sleep(wait);
      }
    }
  }

  async begin(uploadId: string, sendingId: string, abandonedBefore: Date) {
    const { begin } = this.statements;
    await this.write(() => begin.immediate(uploadId, sendingId, abandonedBefore.toISOString()));
  }

  async stage(uploadId: string, rows: readonly RecipientRow[]) {
    const { stage } = this.statements;
    return this.write(() => stage.immediate(uploadId, rows));
  }

  async discard(uploadId: string) {
    const { range, deleteRange, deleteUpload } = this.statements;
    const { lo, hi } = range(uploadId);
    // In slices along the primary key, yielding between them: one DELETE of a million rows would hold
    // the write lock and the event loop for seconds.
    if (lo !== null && hi !== null) {
      for (let from = lo; from <= hi; from += DISCARD_SLICE) {
        await this.write(() => deleteRange(uploadId, from, from + DISCARD_SLICE));
        await sleep(0);
      }
    }
    await this.write(() => deleteUpload(uploadId));
  }

  close() {
    this.#connection?.close();
    this.#connection = undefined;
    this.#statements = undefined;
  }
}

// --- PostgreSQL ---------------------------------------------------------------------------

interface PostgresBulk {
  prisma: Prisma;
  /** The pg connection a Prisma interactive transaction runs on. */
  connectionOf(tx: Tx): Promise<pg.PoolClient>;
  close(): Promise<void>;
}

const postgresBulks = new WeakMap<Database, PostgresBulk>();

/**
 * A Prisma client of its own on a pg pool we hold, so that a transaction's connection can be found
 * (by its backend process id) and the bulk INSERTs sent on it directly, inside that transaction.
 */
function postgresBulkFor(db: Database): PostgresBulk {
  const existing = postgresBulks.get(db);
  if (existing) return existing;
  const pool = new pg.Pool({ connectionString: db.url, max: 4, idleTimeoutMillis: 10_000, allowExitOnIdle: true });
  // An idle connection that the server closes (restart, failover) must not crash the process; the next query reconnects.
  pool.on("error", () => {});
  const connections = new Set<pg.PoolClient>();
  pool.on("connect", (client) => connections.add(client as pg.PoolClient));
  pool.on("remove", (client) => connections.delete(client as pg.PoolClient));
  const prisma = new PostgresClient({ adapter: new PrismaPg(pool) }) as unknown as Prisma;
  const bulk: PostgresBulk = {
    prisma,
    async connectionOf(tx) {
      const [row] = await tx.$queryRaw<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
      const connection = [...connections].find((client) => (client as unknown as { processID: number }).processID === row?.pid);
      if (!connection || connection.getTransactionStatus() !== "T") {
        throw new Error("cannot find the connection of the upload's transaction");
      }
      return connection;
    },
    close: () => prisma.$disconnect(),
  };
  postgresBulks.set(db, bulk);
  return bulk;
}
