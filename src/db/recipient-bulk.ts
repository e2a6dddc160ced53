import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { PrismaPg } from "@prisma/adapter-pg";
import type pg from "pg";
import type { Database, Prisma, Tx } from "./database.js";
import { PrismaClient as PostgresClient } from "./generated/postgresql/client.js";
import { sqliteFile } from "./provider.js";
import { openSqliteConnection, retryWhileBusy, type SqliteConnection } from "./sqlite-connection.js";

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

/** Appends recipient lists atomically; one per process, created by the composition root. */
export interface RecipientBulk {
  append<T>(work: AtomicAppend<T>, now?: Date): Promise<T>;
  close(): Promise<void>;
}

/** On PostgreSQL, `pool` is the uploads' own pool (the composition root creates it). */
export function createRecipientBulk(db: Database, options: { pool?: pg.Pool } = {}): RecipientBulk {
  if (db.provider === "sqlite") {
    const stager = new SqliteStager(sqliteFile(db.url));
    return {
      append: (work, now = new Date()) => appendThroughStaging(db, stager, work, now),
      close: async () => stager.close(),
    };
  }
  if (!options.pool) throw new Error("Bulk uploads on PostgreSQL need a pool of their own.");
  const bulk = createPostgresBulk(options.pool);
  return {
    append: (work) => appendInOneTransaction(bulk, work),
    close: () => bulk.close(),
  };
}

async function appendThroughStaging<T>(db: Database, stager: SqliteStager, work: AtomicAppend<T>, now: Date): Promise<T> {
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

async function appendInOneTransaction<T>(bulk: PostgresBulk, work: AtomicAppend<T>): Promise<T> {
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

// --- SQLite ---------------------------------------------------------------------------------

const DISCARD_SLICE = 20_000;

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
      const connection = openSqliteConnection(this.file);
      this.#connection = connection;
      this.#statements = this.prepare(connection);
    }
    return this.#statements;
  }

  async begin(uploadId: string, sendingId: string, abandonedBefore: Date) {
    const { begin } = this.statements;
    await retryWhileBusy(() => begin.immediate(uploadId, sendingId, abandonedBefore.toISOString()));
  }

  async stage(uploadId: string, rows: readonly RecipientRow[]) {
    const { stage } = this.statements;
    return retryWhileBusy(() => stage.immediate(uploadId, rows));
  }

  async discard(uploadId: string) {
    const { range, deleteRange, deleteUpload } = this.statements;
    const { lo, hi } = range(uploadId);
    // In slices along the primary key, yielding between them: one DELETE of a million rows would hold
    // the write lock and the event loop for seconds.
    if (lo !== null && hi !== null) {
      for (let from = lo; from <= hi; from += DISCARD_SLICE) {
        await retryWhileBusy(() => deleteRange(uploadId, from, from + DISCARD_SLICE));
        await sleep(0);
      }
    }
    await retryWhileBusy(() => deleteUpload(uploadId));
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

/**
 * A Prisma client of its own on the uploads' pool, so that a transaction's connection can be found
 * (by its backend process id) and the bulk INSERTs sent on it directly, inside that transaction.
 */
function createPostgresBulk(pool: pg.Pool): PostgresBulk {
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
  return bulk;
}
