import type pg from "pg";
import type { PendingRecipient, RecipientOutcome } from "../../sender/store.js";
import { RECIPIENT_COLUMNS, split, toGate, type FastPath, type GateRow } from "./fast-path.js";

/**
 * PostgreSQL: everything on a small pool of its own, given by the composition root; dates travel as
 * UTC text (the columns are `timestamp(3)` in UTC).
 */
export class PostgresFastPath implements FastPath {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async #rows<T>(sql: string, params: unknown[]): Promise<T[]> {
    return (await this.#pool.query(sql, params)).rows as T[];
  }

  async readGate(sendingId: string, owner: string, now: Date) {
    const rows = await this.#rows<NonNullable<GateRow>>(
      `SELECT "status", "cancelPrepared", ("leaseOwner" = $1 AND "leaseExpiresAt" > $2::timestamp) AS "holdsLease"
       FROM "Sending" WHERE "id" = $3`,
      [owner, now.toISOString(), sendingId],
    );
    return toGate(rows[0]);
  }

  preparedRecipients(sendingId: string, afterId: number, limit: number) {
    return this.#rows<PendingRecipient>(
      `SELECT ${RECIPIENT_COLUMNS} FROM "Recipient" WHERE "sendingId" = $1 AND "status" = 'PREPARED' AND "id" > $2 ORDER BY "id" LIMIT $3`,
      [sendingId, afterId, limit],
    );
  }

  dueRecipients(sendingId: string, afterId: number, now: Date, limit: number) {
    return this.#rows<PendingRecipient>(
      `SELECT ${RECIPIENT_COLUMNS} FROM "Recipient"
       WHERE "sendingId" = $1 AND "status" = 'QUEUED' AND "id" > $2 AND ("nextAttemptAt" IS NULL OR "nextAttemptAt" <= $3::timestamp)
       ORDER BY "id" LIMIT $4`,
      [sendingId, afterId, now.toISOString(), limit],
    );
  }

  async markPrepared(sendingId: string, ids: readonly number[]) {
    const rows = await this.#rows<{ id: number }>(
      `UPDATE "Recipient" SET "status" = 'PREPARED'
       WHERE "sendingId" = $1 AND "status" = 'QUEUED' AND "id" = ANY($2::int[]) RETURNING "id"`,
      [sendingId, ids],
    );
    return rows.map((row) => row.id);
  }

  async record(outcomes: readonly RecipientOutcome[]) {
    const { sent, failed, retry } = split(outcomes);
    const statements: Promise<unknown>[] = [];
    if (sent.length > 0) {
      statements.push(
        this.#pool.query(
          `UPDATE "Recipient" AS r SET "status" = 'SENT', "attempts" = r."attempts" + 1, "sentAt" = v.at,
             "smtpResponse" = v.response, "lastError" = NULL, "nextAttemptAt" = NULL
           FROM unnest($1::int[], $2::timestamp[], $3::text[]) AS v(id, at, response)
           WHERE r."id" = v.id AND r."status" IN ('PREPARED', 'CANCELLED')`,
          [sent.map((o) => o.recipientId), sent.map((o) => o.at.toISOString()), sent.map((o) => o.response)],
        ),
      );
    }
    if (failed.length > 0) {
      statements.push(
        this.#pool.query(
          `UPDATE "Recipient" AS r SET "status" = 'FAILED', "attempts" = r."attempts" + 1, "lastError" = v.reason,
             "smtpResponse" = v.response, "nextAttemptAt" = NULL
           FROM unnest($1::int[], $2::text[], $3::text[]) AS v(id, reason, response)
           WHERE r."id" = v.id AND r."status" = 'PREPARED'`,
          [failed.map((o) => o.recipientId), failed.map((o) => o.reason), failed.map((o) => o.response)],
        ),
      );
    }
    if (retry.length > 0) {
      statements.push(
        this.#pool.query(
          `UPDATE "Recipient" AS r SET
             "status" = CASE WHEN s."status" = 'CANCELLED' THEN 'FAILED'::"RecipientStatus" ELSE 'QUEUED'::"RecipientStatus" END,
             "attempts" = r."attempts" + 1, "lastError" = v.reason, "smtpResponse" = v.response, "nextAttemptAt" = v.at
           FROM unnest($1::int[], $2::text[], $3::text[], $4::timestamp[]) AS v(id, reason, response, at), "Sending" AS s
           WHERE r."id" = v.id AND r."status" = 'PREPARED' AND s."id" = r."sendingId"`,
          [
            retry.map((o) => o.recipientId),
            retry.map((o) => o.reason),
            retry.map((o) => o.response),
            retry.map((o) => o.retryAt.toISOString()),
          ],
        ),
      );
    }
    await Promise.all(statements);
  }

  /** The pool belongs to the composition root, which ends it after the engine has stopped. */
  async close() {}
}
