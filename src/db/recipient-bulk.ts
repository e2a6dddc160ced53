import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import type { Database, Tx } from "./database.js";
import { sqliteFile } from "./provider.js";

/**
 * Bulk recipient writes, bypassing Prisma's createMany (about 8,000 rows/s, far too slow for a
 * million recipients). An upload is staged in short transactions of its own, so other writers are
 * never blocked for the length of an upload, and published into Recipient by one statement inside
 * the caller's transaction: a recipient list is either wholly appended or not at all.
 */

/** One recipient as stored: a lower-cased address and its variables as JSON object text. */
export interface RecipientRow {
  email: string;
  vars: string;
}

export interface RecipientUpload {
  readonly id: string;
  /** Stages rows in a transaction of their own; returns how many were new within this upload (the first occurrence wins). */
  stage(rows: readonly RecipientRow[]): Promise<number>;
  /** Moves every staged row into the sending's recipients, in upload order; returns how many were new to the sending. */
  publish(tx: Tx): Promise<number>;
  /** Removes what was staged; call it whatever happened (after commit, or on any error). */
  discard(): Promise<void>;
}

/** Rows a caller collects before calling stage(): the memory an upload holds does not grow beyond it. */
export const STAGE_BATCH_SIZE = 5_000;

/** Uploads older than this are abandoned (the process died mid-upload) and are removed by the next upload. */
const ABANDONED_AFTER_MS = 24 * 60 * 60 * 1000;

interface Stager {
  begin(uploadId: string, sendingId: string, abandonedBefore: Date): Promise<void>;
  stage(uploadId: string, rows: readonly RecipientRow[]): Promise<number>;
  discard(uploadId: string): Promise<void>;
  close(): Promise<void>;
}

const stagers = new WeakMap<Database, Stager>();

function stagerFor(db: Database): Stager {
  let stager = stagers.get(db);
  if (!stager) {
    stager = db.provider === "sqlite" ? new SqliteStager(sqliteFile(db.url)) : new PostgresStager(db.url);
    stagers.set(db, stager);
  }
  return stager;
}

/** Starts an upload of recipients for one sending (or for one about to be created). */
export async function startRecipientUpload(db: Database, sendingId: string, now = new Date()): Promise<RecipientUpload> {
  const stager = stagerFor(db);
  const id = `upl_${now.getTime().toString(36)}_${randomBytes(6).toString("hex")}`;
  await stager.begin(id, sendingId, new Date(now.getTime() - ABANDONED_AFTER_MS));
  return {
    id,
    stage: (rows) => (rows.length === 0 ? Promise.resolve(0) : stager.stage(id, rows)),
    publish: (tx) => tx.$executeRaw`
      INSERT INTO "Recipient" ("sendingId", "email", "vars")
      SELECT ${sendingId}, "email", "vars" FROM "StagedRecipient" WHERE "uploadId" = ${id} ORDER BY "id"
      ON CONFLICT ("sendingId", "email") DO NOTHING`,
    discard: () => stager.discard(id),
  };
}

/** Closes the bulk connections opened for this database (the composition root calls it on shutdown). */
export async function closeRecipientBulk(db: Database): Promise<void> {
  const stager = stagers.get(db);
  stagers.delete(db);
  await stager?.close();
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

class SqliteStager implements Stager {
  #connection: SqliteConnection | undefined;
  #statements: ReturnType<SqliteStager["prepare"]> | undefined;

  constructor(private readonly file: string) {}

  private prepare(connection: SqliteConnection) {
    const insert = connection.prepare(
      'INSERT OR IGNORE INTO "StagedRecipient" ("uploadId", "email", "vars") VALUES (?, ?, ?)',
    );
    const deleteSome = connection.prepare(
      'DELETE FROM "StagedRecipient" WHERE "id" IN (SELECT "id" FROM "StagedRecipient" WHERE "uploadId" = ? LIMIT 20000)',
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
      deleteSome: (uploadId: string) => deleteSome.run(uploadId).changes,
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
    const { deleteSome, deleteUpload } = this.statements;
    // In slices, yielding between them: one DELETE of a million rows would hold the lock and the event loop for seconds.
    while ((await this.write(() => deleteSome(uploadId))) > 0) await sleep(0);
    await this.write(() => deleteUpload(uploadId));
  }

  async close() {
    this.#connection?.close();
    this.#connection = undefined;
    this.#statements = undefined;
  }
}

// --- PostgreSQL -----------------------------------------------------------------------------

class PostgresStager implements Stager {
  readonly #pool: pg.Pool;

  constructor(url: string) {
    this.#pool = new pg.Pool({ connectionString: url, max: 4, idleTimeoutMillis: 10_000, allowExitOnIdle: true });
    // An idle connection that the server closes (restart, failover) must not crash the process; the next query reconnects.
    this.#pool.on("error", () => {});
  }

  async begin(uploadId: string, sendingId: string, abandonedBefore: Date) {
    await this.#pool.query(
      'DELETE FROM "StagedRecipient" WHERE "uploadId" IN (SELECT "id" FROM "RecipientUpload" WHERE "createdAt" < $1)',
      [abandonedBefore],
    );
    await this.#pool.query('DELETE FROM "RecipientUpload" WHERE "createdAt" < $1', [abandonedBefore]);
    await this.#pool.query('INSERT INTO "RecipientUpload" ("id", "sendingId") VALUES ($1, $2)', [uploadId, sendingId]);
  }

  async stage(uploadId: string, rows: readonly RecipientRow[]) {
    const emails = new Array<string>(rows.length);
    const vars = new Array<string>(rows.length);
    rows.forEach((row, index) => {
      emails[index] = row.email;
      vars[index] = row.vars;
    });
    const result = await this.#pool.query(
      `INSERT INTO "StagedRecipient" ("uploadId", "email", "vars")
       SELECT $1, t.email, t.vars FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS t(email, vars, n) ORDER BY t.n
       ON CONFLICT ("uploadId", "email") DO NOTHING`,
      [uploadId, emails, vars],
    );
    return result.rowCount ?? 0;
  }

  async discard(uploadId: string) {
    await this.#pool.query('DELETE FROM "StagedRecipient" WHERE "uploadId" = $1', [uploadId]);
    await this.#pool.query('DELETE FROM "RecipientUpload" WHERE "id" = $1', [uploadId]);
  }

  async close() {
    await this.#pool.end();
  }
}
