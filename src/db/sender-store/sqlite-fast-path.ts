import { setImmediate as nextTurn } from "node:timers/promises";
import { openSqliteConnection, retryWhileBusy, sqliteDate, type SqliteConnection, type SqliteStatement } from "../sqlite-connection.js";
import type { PendingRecipient, RecipientCounts, RecipientOutcome, SentOutcome } from "../../sender/store.js";
import { addCount, byId, emptyCounts, RECIPIENT_COLUMNS, RECIPIENT_STATUSES, split, toGate, topReasons, type FastPath, type GateRow } from "./fast-path.js";

/**
 * Rows one statement of a long read goes through: about 10 ms of the event loop on this machine, where
 * one statement over a million rows held it for 230–930 ms.
 */
export const SQLITE_READ_CHUNK = 50_000;

/**
 * SQLite: a connection of our own, beside Prisma's. Each write is one synchronous transaction, so
 * it never holds the lock across an await; when another writer holds it (a Prisma transaction of
 * this process between two of its statements, another process), we wait asynchronously and try
 * again rather than let better-sqlite3 wait synchronously, which would block the event loop that
 * the other writer needs to finish.
 */
export class SqliteFastPath implements FastPath {
  readonly #file: string;
  readonly #chunk: number;
  #connection: SqliteConnection | undefined;
  readonly #statements = new Map<string, SqliteStatement>();
  /** Long reads go on a connection of their own: their transaction stays open across turns of the event loop. */
  #reader: SqliteConnection | undefined;
  readonly #readerStatements = new Map<string, SqliteStatement>();
  /** One long read at a time on the reader (its transaction is the connection's). */
  #reading: Promise<unknown> = Promise.resolve();

  constructor(file: string, options: { readChunk?: number } = {}) {
    if (file === ":memory:") throw new Error("The delivery engine needs a database file, not an in-memory SQLite database.");
    this.#file = file;
    this.#chunk = Math.max(1, options.readChunk ?? SQLITE_READ_CHUNK);
  }

  #open(): SqliteConnection {
    // Durable across a crash of the process (what the engine must survive); after a power cut the
    // last outcomes may be lost, and those recipients get their message again, with the same Message-ID.
    this.#connection ??= openSqliteConnection(this.#file, { synchronous: "NORMAL" });
    return this.#connection;
  }

  #statement(sql: string): SqliteStatement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#open().prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #all<T>(sql: string, params: unknown[]): Promise<T[]> {
    return retryWhileBusy(() => this.#statement(sql).all(...params) as T[]);
  }

  /** Runs the statements in one transaction, synchronously. */
  #write(steps: () => void): Promise<void> {
    return retryWhileBusy(() => this.#open().transaction(steps).immediate());
  }

  async readGate(sendingId: string, owner: string, now: Date, sent: readonly SentOutcome[] = []) {
    if (sent.length > 0) await this.record(sent);
    // One engine a sending on SQLite: the lease holder is the only one taking part.
    const rows = await this.#all<NonNullable<GateRow>>(
      `SELECT "status", "cancelPrepared", ("leaseOwner" = ? AND "leaseExpiresAt" > ?) AS "holdsLease", 1 AS "participants"
       FROM "Sending" WHERE "id" = ?`,
      [owner, sqliteDate(now), sendingId],
    );
    return toGate(rows[0]);
  }

  async claimPrepared(sendingId: string, owner: string, now: Date, afterId: number, limit: number) {
    return this.#claim(
      `UPDATE "Recipient" SET "claimedBy" = ?
       WHERE "id" IN (
         SELECT r."id" FROM "Recipient" r
         WHERE r."sendingId" = ? AND r."status" = 'PREPARED' AND r."id" > ?
           AND (r."claimedBy" IS NULL OR NOT EXISTS (
             SELECT 1 FROM "Sending" s WHERE s."id" = r."sendingId" AND s."leaseOwner" = r."claimedBy" AND s."leaseExpiresAt" > ?))
         ORDER BY r."id" LIMIT ?)
         AND EXISTS (SELECT 1 FROM "Sending" s WHERE s."id" = ?
                       AND (s."status" = 'SENDING' OR (s."status" = 'CANCELLED' AND s."cancelPrepared" = 'deliver' AND s."finishedAt" IS NULL)))
       RETURNING ${RECIPIENT_COLUMNS}`,
      [owner, sendingId, afterId, sqliteDate(now), limit, sendingId],
    );
  }

  async claimQueued(sendingId: string, owner: string, now: Date, afterId: number, limit: number) {
    return this.#claim(
      `UPDATE "Recipient" SET "status" = 'PREPARED', "claimedBy" = ?
       WHERE "id" IN (
         SELECT "id" FROM "Recipient"
         WHERE "sendingId" = ? AND "status" = 'QUEUED' AND "id" > ? AND ("nextAttemptAt" IS NULL OR "nextAttemptAt" <= ?)
         ORDER BY "id" LIMIT ?)
       RETURNING ${RECIPIENT_COLUMNS}`,
      [owner, sendingId, afterId, sqliteDate(now), limit],
    );
  }

  async #claim(sql: string, params: unknown[]): Promise<PendingRecipient[]> {
    let rows: PendingRecipient[] = [];
    await this.#write(() => {
      rows = this.#statement(sql).all(...params) as PendingRecipient[];
    });
    return byId(rows);
  }

  async releaseRecipients(sendingId: string, owner: string) {
    await this.#write(() => {
      this.#statement(
        `UPDATE "Recipient" SET "claimedBy" = NULL WHERE "sendingId" = ? AND "status" = 'PREPARED' AND "claimedBy" = ?`,
      ).run(sendingId, owner);
    });
  }

  async record(outcomes: readonly RecipientOutcome[]) {
    const { sent, failed, retry } = split(outcomes);
    const json = (rows: unknown[][]) => JSON.stringify(rows);
    await this.#write(() => {
      if (sent.length > 0) {
        // A message accepted after a Cancel dropped it still went out: the record says so.
        this.#statement(
          `UPDATE "Recipient" SET "status" = 'SENT', "attempts" = "attempts" + 1, "sentAt" = v.at, "smtpResponse" = v.response,
             "lastError" = NULL, "nextAttemptAt" = NULL
           FROM (SELECT value ->> 0 AS id, value ->> 1 AS at, value ->> 2 AS response FROM json_each(?)) AS v
           WHERE "Recipient"."id" = v.id AND "Recipient"."status" IN ('PREPARED', 'CANCELLED')`,
        ).run(json(sent.map((o) => [o.recipientId, sqliteDate(o.at), o.response])));
      }
      if (failed.length > 0) {
        this.#statement(
          `UPDATE "Recipient" SET "status" = 'FAILED', "attempts" = "attempts" + 1, "lastError" = v.reason, "smtpResponse" = v.response,
             "nextAttemptAt" = NULL
           FROM (SELECT value ->> 0 AS id, value ->> 1 AS reason, value ->> 2 AS response FROM json_each(?)) AS v
           WHERE "Recipient"."id" = v.id AND "Recipient"."status" = 'PREPARED'`,
        ).run(json(failed.map((o) => [o.recipientId, o.reason, o.response])));
      }
      if (retry.length > 0) {
        // Queued again for a later attempt, unless the sending was cancelled meanwhile: then it failed.
        this.#statement(
          `UPDATE "Recipient" SET
             "status" = CASE WHEN (SELECT s."status" FROM "Sending" s WHERE s."id" = "Recipient"."sendingId") = 'CANCELLED'
                        THEN 'FAILED' ELSE 'QUEUED' END,
             "attempts" = "attempts" + 1, "lastError" = v.reason, "smtpResponse" = v.response, "nextAttemptAt" = v.at
           FROM (SELECT value ->> 0 AS id, value ->> 1 AS reason, value ->> 2 AS response, value ->> 3 AS at FROM json_each(?)) AS v
           WHERE "Recipient"."id" = v.id AND "Recipient"."status" = 'PREPARED'`,
        ).run(json(retry.map((o) => [o.recipientId, o.reason, o.response, sqliteDate(o.retryAt)])));
      }
    });
  }

  /**
   * Runs `read` in one read transaction on the reader connection (WAL: a snapshot, whatever is written
   * meanwhile), its statements each over at most `#chunk` rows, the event loop free between them.
   */
  #longRead<T>(read: (chunk: <R>(sql: string, params: unknown[]) => Promise<R[]>) => Promise<T>): Promise<T> {
    const run = async () => {
      this.#reader ??= openSqliteConnection(this.#file);
      const reader = this.#reader;
      const chunk = async <R>(sql: string, params: unknown[]): Promise<R[]> => {
        let statement = this.#readerStatements.get(sql);
        if (!statement) {
          statement = reader.prepare(sql);
          this.#readerStatements.set(sql, statement);
        }
        const rows = statement.all(...params) as R[];
        await nextTurn();
        return rows;
      };
      reader.exec("BEGIN");
      try {
        return await read(chunk);
      } finally {
        reader.exec("COMMIT");
      }
    };
    const result = this.#reading.then(run, run);
    this.#reading = result.catch(() => {});
    return result;
  }

  counts(sendingId: string): Promise<RecipientCounts> {
    return this.#longRead(async (chunk) => {
      const counts = emptyCounts();
      for (const status of RECIPIENT_STATUSES) {
        for (let after = 0; ; ) {
          const [row] = await chunk<{ n: number; last: number | null }>(
            `SELECT count(*) AS "n", max("id") AS "last" FROM (
               SELECT "id" FROM "Recipient" WHERE "sendingId" = ? AND "status" = ? AND "id" > ? ORDER BY "id" LIMIT ?)`,
            [sendingId, status, after, this.#chunk],
          );
          addCount(counts, status, row?.n ?? 0);
          if (!row || row.n < this.#chunk || row.last === null) break;
          after = row.last;
        }
      }
      return counts;
    });
  }

  failureReasons(sendingId: string, limit: number) {
    return this.#longRead(async (chunk) => {
      const byReason = new Map<string | null, number>();
      for (let after = 0; ; ) {
        const rows = await chunk<{ reason: string | null; n: number; last: number; rows: number }>(
          `SELECT "lastError" AS "reason", count(*) AS "n", max(max("id")) OVER () AS "last", sum(count(*)) OVER () AS "rows" FROM (
             SELECT "id", "lastError" FROM "Recipient" WHERE "sendingId" = ? AND "status" = 'FAILED' AND "id" > ? ORDER BY "id" LIMIT ?)
           GROUP BY "lastError"`,
          [sendingId, after, this.#chunk],
        );
        for (const row of rows) byReason.set(row.reason, (byReason.get(row.reason) ?? 0) + row.n);
        const first = rows[0];
        if (!first || first.rows < this.#chunk) break;
        after = first.last;
      }
      return topReasons(byReason, limit);
    });
  }

  nextRetryAt(sendingId: string) {
    return this.#longRead(async (chunk) => {
      let next: string | null = null;
      for (let after = 0; ; ) {
        const [row] = await chunk<{ n: number; last: number | null; dueNow: number | null; next: string | null }>(
          `SELECT count(*) AS "n", max("id") AS "last", max("nextAttemptAt" IS NULL) AS "dueNow", min("nextAttemptAt") AS "next" FROM (
             SELECT "id", "nextAttemptAt" FROM "Recipient" WHERE "sendingId" = ? AND "status" = 'QUEUED' AND "id" > ? ORDER BY "id" LIMIT ?)`,
          [sendingId, after, this.#chunk],
        );
        if (!row || row.n === 0) break;
        // Never tried yet: due now.
        if (row.dueNow) return new Date(0);
        if (row.next !== null && (next === null || row.next < next)) next = row.next;
        if (row.n < this.#chunk || row.last === null) break;
        after = row.last;
      }
      return next === null ? null : new Date(next);
    });
  }

  async close() {
    await this.#reading;
    this.#statements.clear();
    this.#readerStatements.clear();
    this.#connection?.close();
    this.#connection = undefined;
    this.#reader?.close();
    this.#reader = undefined;
  }
}
