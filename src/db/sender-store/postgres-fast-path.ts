import type pg from "pg";
import type { PendingRecipient, RecipientCounts, RecipientOutcome, SentOutcome } from "../../sender/store.js";
import { addCount, byId, emptyCounts, split, toGate, topReasons, type FastPath, type GateRow } from "./fast-path.js";

const RETURNED_COLUMNS = `r."id", r."email", r."vars", r."attempts"`;

/** The delivery gate's columns, of the sending `s` for the engine `$1` at `$2`. */
const GATE_COLUMNS = `s."status", s."cancelPrepared",
    (s."leaseOwner" = $1 AND s."leaseExpiresAt" > $2::timestamp)
      OR EXISTS (SELECT 1 FROM "DeliveryShare" d WHERE d."sendingId" = s."id" AND d."owner" = $1
                   AND d."admittedAt" IS NOT NULL AND d."expiresAt" > $2::timestamp) AS "holdsLease",
    (CASE WHEN s."leaseOwner" IS NOT NULL AND s."leaseExpiresAt" > $2::timestamp THEN 1 ELSE 0 END)
      + (SELECT count(*) FROM "DeliveryShare" d WHERE d."sendingId" = s."id"
           AND d."admittedAt" IS NOT NULL AND d."expiresAt" > $2::timestamp)::int AS "participants"`;

/** The arguments of `sendgate_record_sent`: ids, times and replies, as arrays. */
const sentColumns = (sent: readonly SentOutcome[]) => [
  sent.map((o) => o.recipientId),
  sent.map((o) => o.at.toISOString()),
  sent.map((o) => o.response),
];

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

  /**
   * The statements that run several times a hundred messages (the status read, the outcome writes), named:
   * each connection of the pool prepares them once, then only executes them. Unnamed, the server parsed,
   * analysed and planned every one (measured: about a quarter of the backends' CPU a message). The
   * claims, once a page, stay unnamed: their best plan depends on their parameters.
   */
  async #prepared<T>(name: string, sql: string, params: unknown[]): Promise<T[]> {
    return (await this.#pool.query({ name, text: sql, values: params })).rows as T[];
  }

  /**
   * With outcomes of delivered messages, one statement writes them first (through the schema's
   * `sendgate_record_sent`) and then reads: one round trip where two were made, the read's snapshot
   * still taken after every caller asked.
   */
  async readGate(sendingId: string, owner: string, now: Date, sent: readonly SentOutcome[] = []) {
    const params = [owner, now.toISOString(), sendingId];
    const rows =
      sent.length === 0
        ? await this.#prepared<GateRow>("sendgate_read_gate", `SELECT ${GATE_COLUMNS} FROM "Sending" s WHERE s."id" = $3`, params)
        : // The write is the left side of the join: it runs whether or not the sending is still there.
          await this.#prepared<GateRow>(
            "sendgate_record_sent_read_gate",
            `SELECT ${GATE_COLUMNS}
             FROM (SELECT "sendgate_record_sent"($4::int[], $5::timestamp[], $6::text[])) AS written
             LEFT JOIN "Sending" s ON s."id" = $3`,
            [...params, ...sentColumns(sent)],
          );
    const row = rows[0];
    return toGate(row?.status ? row : undefined);
  }

  // Rows another engine is claiming at this moment are skipped, not waited for (SKIP LOCKED): each
  // engine takes a batch of its own, and a recipient is claimed by one engine only.
  async claimPrepared(sendingId: string, owner: string, now: Date, afterId: number, limit: number) {
    return byId(
      await this.#rows<PendingRecipient>(
        `WITH picked AS MATERIALIZED (
           SELECT r."id" FROM "Recipient" r
           WHERE r."sendingId" = $1 AND r."status" = 'PREPARED' AND r."id" > $3
             AND EXISTS (SELECT 1 FROM "Sending" s WHERE s."id" = $1
                           AND (s."status" = 'SENDING' OR (s."status" = 'CANCELLED' AND s."cancelPrepared" = 'deliver' AND s."finishedAt" IS NULL)))
             AND (r."claimedBy" IS NULL OR NOT (
               EXISTS (SELECT 1 FROM "Sending" s WHERE s."id" = $1 AND s."leaseOwner" = r."claimedBy" AND s."leaseExpiresAt" > $4::timestamp)
               OR EXISTS (SELECT 1 FROM "DeliveryShare" d WHERE d."sendingId" = $1 AND d."owner" = r."claimedBy"
                            AND d."admittedAt" IS NOT NULL AND d."expiresAt" > $4::timestamp)))
           ORDER BY r."id" LIMIT $5
           FOR UPDATE OF r SKIP LOCKED)
         UPDATE "Recipient" AS r SET "claimedBy" = $2 FROM picked WHERE r."id" = picked."id"
         RETURNING ${RETURNED_COLUMNS}`,
        [sendingId, owner, afterId, now.toISOString(), limit],
      ),
    );
  }

  async claimQueued(sendingId: string, owner: string, now: Date, afterId: number, limit: number) {
    return byId(
      await this.#rows<PendingRecipient>(
        `WITH picked AS MATERIALIZED (
           SELECT r."id" FROM "Recipient" r
           WHERE r."sendingId" = $1 AND r."status" = 'QUEUED' AND r."id" > $3
             AND (r."nextAttemptAt" IS NULL OR r."nextAttemptAt" <= $4::timestamp)
           ORDER BY r."id" LIMIT $5
           FOR UPDATE OF r SKIP LOCKED)
         UPDATE "Recipient" AS r SET "status" = 'PREPARED', "claimedBy" = $2 FROM picked WHERE r."id" = picked."id"
         RETURNING ${RETURNED_COLUMNS}`,
        [sendingId, owner, afterId, now.toISOString(), limit],
      ),
    );
  }

  /**
   * Asks to help with SENDING sendings another engine holds a live lease of and that have recipients
   * due (or renews the ask), in one statement; returns each with whether its lease holder admitted this engine.
   */
  async askToHelp(owner: string, now: Date, until: Date, limit: number, skip: readonly string[]) {
    return this.#rows<{ sendingId: string; admitted: boolean }>(
      `WITH candidates AS (
         SELECT s."id" FROM "Sending" s
         WHERE s."status" = 'SENDING' AND s."leaseOwner" IS NOT NULL AND s."leaseOwner" <> $1 AND s."leaseExpiresAt" > $2::timestamp
           AND NOT (s."id" = ANY($5::text[]))
           AND EXISTS (SELECT 1 FROM "Recipient" r WHERE r."sendingId" = s."id" AND r."status" = 'QUEUED'
                         AND (r."nextAttemptAt" IS NULL OR r."nextAttemptAt" <= $2::timestamp))
         ORDER BY s."launchAt" LIMIT $4)
       INSERT INTO "DeliveryShare" ("sendingId", "owner", "expiresAt")
       SELECT "id", $1, $3::timestamp FROM candidates
       ON CONFLICT ("sendingId", "owner") DO UPDATE SET "expiresAt" = EXCLUDED."expiresAt",
         -- A share that ran out is never revived: its engine asks again, as a newcomer.
         "admittedAt" = CASE WHEN "DeliveryShare"."expiresAt" > $2::timestamp THEN "DeliveryShare"."admittedAt" END
       RETURNING "sendingId", "admittedAt" IS NOT NULL AS "admitted"`,
      [owner, now.toISOString(), until.toISOString(), limit, skip],
    );
  }

  async releaseRecipients(sendingId: string, owner: string) {
    await this.#pool.query(
      `UPDATE "Recipient" SET "claimedBy" = NULL WHERE "sendingId" = $1 AND "status" = 'PREPARED' AND "claimedBy" = $2`,
      [sendingId, owner],
    );
  }

  async record(outcomes: readonly RecipientOutcome[]) {
    const { sent, failed, retry } = split(outcomes);
    const statements: Promise<unknown>[] = [];
    if (sent.length > 0) {
      statements.push(
        // A function of the schema (migration record_sent_function): its update is planned once per
        // connection, where the same statement sent here was planned again at every execution.
        this.#prepared("sendgate_record_sent", `SELECT "sendgate_record_sent"($1::int[], $2::timestamp[], $3::text[])`, sentColumns(sent)),
      );
    }
    if (failed.length > 0) {
      statements.push(
        this.#prepared(
          "sendgate_record_failed",
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
        this.#prepared(
          "sendgate_record_retry",
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

  // The long reads are one statement each: the server reads the list, the event loop waits for nothing.
  async counts(sendingId: string): Promise<RecipientCounts> {
    const rows = await this.#rows<{ status: string; n: number }>(
      `SELECT "status", count(*)::int AS "n" FROM "Recipient" WHERE "sendingId" = $1 GROUP BY "status"`,
      [sendingId],
    );
    const counts = emptyCounts();
    for (const row of rows) addCount(counts, row.status, row.n);
    return counts;
  }

  async failureReasons(sendingId: string, limit: number) {
    const rows = await this.#rows<{ reason: string | null; n: number }>(
      `SELECT "lastError" AS "reason", count(*)::int AS "n" FROM "Recipient" WHERE "sendingId" = $1 AND "status" = 'FAILED'
       GROUP BY "lastError" ORDER BY "n" DESC, "lastError" LIMIT $2`,
      [sendingId, limit],
    );
    return topReasons(new Map(rows.map((row) => [row.reason, row.n])), limit);
  }

  async nextRetryAt(sendingId: string) {
    const [row] = await this.#rows<{ dueNow: boolean | null; next: string | null }>(
      `SELECT bool_or("nextAttemptAt" IS NULL) AS "dueNow",
         to_char(min("nextAttemptAt"), 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "next"
       FROM "Recipient" WHERE "sendingId" = $1 AND "status" = 'QUEUED'`,
      [sendingId],
    );
    if (row?.dueNow) return new Date(0);
    return row?.next ? new Date(row.next) : null;
  }

  /** The pool belongs to the composition root, which ends it after the engine has stopped. */
  async close() {}
}
