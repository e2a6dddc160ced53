import { randomBytes } from "node:crypto";
import { PrismaPg } from "@prisma/adapter-pg";
import type pg from "pg";
import type { Database, Prisma, Tx } from "./database.js";
import { createBatchDigest } from "../sendings/support/recipient-batch.js";
import { PrismaClient as PostgresClient } from "./generated/postgresql/client.js";
import { sqliteFile } from "./provider.js";
import type { NamedPublishStep } from "./publish-step.js";
import { SqliteUploadThread } from "./sqlite-upload-thread.js";

export { definePublishStep, type AppendCounts, type NamedPublishStep, type PublishStep } from "./publish-step.js";

/**
 * Bulk recipient writes, bypassing Prisma's createMany (about 8,000 rows/s, far too slow for a
 * million recipients), all or nothing: a list is either wholly appended or not at all.
 *
 * SQLite: one writer at a time, and a million rows take seconds to write: on the main thread that
 * would stop the event loop that acknowledges Slack within its 3 seconds (better-sqlite3 is
 * synchronous). So a list longer than one batch is written by the upload thread
 * (sqlite-upload-worker.ts): its rows are staged in a file of the upload's own while they arrive
 * (other writers never wait for a slow client), then published into Recipient by one statement in the
 * transaction that also runs the upload's step (see PublishStep), all on the thread's own connection.
 * A list of one batch or less is written on the main thread in one short transaction.
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
  /** Writes one batch, in the order given; of rows with the same address, the first is kept. */
  write(rows: readonly RecipientRow[]): Promise<void>;
}

export interface AtomicAppend<B, A, T> {
  sendingId: string;
  step: NamedPublishStep<B, A, T>;
  /** The data of the step's `before`. */
  before?: B;
  /** Writes the rows, in batches of at most BULK_BATCH_SIZE rows and BULK_BATCH_CHARACTERS. */
  fill(sink: RecipientSink): Promise<void>;
  /** The data of the step's `after`, asked for once fill() is done: it may depend on the rows (how many were read). */
  after(): A;
}

/** Rows a caller collects before calling write(): the memory an upload holds does not grow beyond it. */
export const BULK_BATCH_SIZE = 5_000;

/**
 * Characters of row text (addresses and variables) a batch holds at most, whatever its number of
 * rows: 5,000 rows of 16 KB variables would be 80 MB of strings, held twice over while one batch is
 * written and the next read, and once more in the upload thread. Ordinary rows (a few hundred
 * characters) fill BULK_BATCH_SIZE first.
 */
export const BULK_BATCH_CHARACTERS = 8 * 1024 * 1024;

/** What a row weighs against BULK_BATCH_CHARACTERS. */
export const rowCharacters = (row: RecipientRow) => row.email.length + row.vars.length;

/** An upload over a slow link may take long; the request timeout of the HTTP server bounds it too. */
const UPLOAD_TRANSACTION = { timeout: 30 * 60_000, maxWait: 60_000 };

/** Appends recipient lists atomically; one per process, created by the composition root. */
export interface RecipientBulk {
  append<B, A, T>(work: AtomicAppend<B, A, T>, now?: Date): Promise<T>;
  close(): Promise<void>;
}

/** On PostgreSQL, `pool` is the uploads' own pool (the composition root creates it). */
export function createRecipientBulk(db: Database, options: { pool?: pg.Pool } = {}): RecipientBulk {
  if (db.provider === "sqlite") {
    if (sqliteFile(db.url) === ":memory:") throw new Error("Bulk uploads on SQLite need a database file, not an in-memory database.");
    const thread = new SqliteUploadThread(db.url);
    return {
      append: (work, now = new Date()) => appendOnSqlite(db, thread, work, now),
      close: () => thread.close(),
    };
  }
  if (!options.pool) throw new Error("Bulk uploads on PostgreSQL need a pool of their own.");
  const bulk = createPostgresBulk(options.pool);
  return {
    append: (work) => appendInOneTransaction(bulk, work),
    close: () => bulk.close(),
  };
}

// --- SQLite ---------------------------------------------------------------------------------

/**
 * An upload that fits in one batch (a sending created with its recipients, a short list) is written
 * right here, in one short transaction: a few milliseconds of the main thread. A longer one goes to
 * the upload thread as soon as it outgrows the batch, its first rows with it.
 */
async function appendOnSqlite<B, A, T>(db: Database, thread: SqliteUploadThread, work: AtomicAppend<B, A, T>, now: Date): Promise<T> {
  let held: RecipientRow[] = [];
  let heldCharacters = 0;
  let uploadId: string | undefined;
  try {
    await work.fill({
      async write(rows) {
        if (rows.length === 0) return;
        if (uploadId === undefined) {
          let characters = heldCharacters;
          for (const row of rows) characters += rowCharacters(row);
          if (held.length + rows.length <= BULK_BATCH_SIZE && characters <= BULK_BATCH_CHARACTERS) {
            held.push(...rows);
            heldCharacters = characters;
            return;
          }
          uploadId = `upl_${now.getTime().toString(36)}_${randomBytes(6).toString("hex")}`;
          await thread.open(uploadId);
          if (held.length) await thread.stage(uploadId, held);
          held = [];
        }
        await thread.stage(uploadId, rows);
      },
    });
    if (uploadId === undefined) return await appendInProcess(db, work, held);
    const publish = () => thread.publish<T>(uploadId!, work.sendingId, { module: work.step.module, name: work.step.name }, work.before, work.after());
    // The thread holds SQLite's write lock while it publishes: the main thread's writes wait at the gate meanwhile, as promises.
    return await (db.writeGate ? db.writeGate.hold(publish) : publish());
  } finally {
    if (uploadId !== undefined) await thread.discard(uploadId);
  }
}

/** Rows a statement inserts (three parameters each, within SQLite's limit of 32,766). */
const IN_PROCESS_STATEMENT_ROWS = 1_000;

async function appendInProcess<B, A, T>(db: Database, work: AtomicAppend<B, A, T>, rows: readonly RecipientRow[]): Promise<T> {
  return db.prisma.$transaction(async (tx) => {
    if (work.step.before) await work.step.before(tx, work.before as B);
    let appended = 0;
    for (let start = 0; start < rows.length; start += IN_PROCESS_STATEMENT_ROWS) {
      const slice = rows.slice(start, start + IN_PROCESS_STATEMENT_ROWS);
      // In upload order, so that the first occurrence of an address within the upload is the one kept.
      appended += await tx.$executeRawUnsafe(
        `INSERT INTO "Recipient" ("sendingId", "email", "vars") VALUES ${slice.map(() => "(?, ?, ?)").join(", ")}
         ON CONFLICT ("sendingId", "email") DO NOTHING`,
        ...slice.flatMap((row) => [work.sendingId, row.email, row.vars]),
      );
    }
    const fresh = new Set(rows.map((row) => row.email)).size;
    const digest = createBatchDigest();
    for (const row of rows) digest.add(row);
    return work.step.after(tx, work.after(), { fresh, appended, digest: digest.digest() });
  });
}

// --- PostgreSQL ---------------------------------------------------------------------------

async function appendInOneTransaction<B, A, T>(bulk: PostgresBulk, work: AtomicAppend<B, A, T>): Promise<T> {
  return bulk.prisma.$transaction(async (tx) => {
    // The rows travel over the transaction's own connection as plain pg queries: through Prisma's
    // raw queries the same INSERTs take about twice as long.
    const connection = await bulk.connectionOf(tx);
    if (work.step.before) await work.step.before(tx, work.before as B);
    const [{ xid }] = (await connection.query<{ xid: string }>("SELECT pg_current_xact_id()::text AS xid")).rows as [{ xid: string }];
    let fresh = 0;
    let appended = 0;
    const digest = createBatchDigest();
    await work.fill({
      async write(rows) {
        if (rows.length === 0) return;
        for (const row of rows) digest.add(row);
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
      },
    });
    return work.step.after(tx, work.after(), { fresh, appended, digest: digest.digest() });
  }, UPLOAD_TRANSACTION);
}

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
