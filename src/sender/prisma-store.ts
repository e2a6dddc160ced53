import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import type { Database, Prisma } from "../db/database.js";
import { sqliteFile } from "../db/provider.js";
import { openSqliteConnection, type SqliteConnection, type SqliteStatement } from "../db/recipient-bulk.js";
import { sourcesOf, targetOf, type SendingStatus, type Transition } from "../domain/sending-status.js";
import { recordAudit } from "../sendings/transition.js";
import type {
  ClaimedSending,
  DeliveryGate,
  PendingRecipient,
  RecipientCounts,
  RecipientOutcome,
  SenderStore,
} from "./store.js";

/** The engine's own changes are audited under this actor. */
export const ENGINE_ACTOR = "system";

/**
 * The delivery engine's store. Lifecycle changes go through Prisma in one transaction with their
 * audit row. The per-message path (the status read before each handoff, paging, marking prepared,
 * recording outcomes) is plain SQL on the driver: through Prisma each statement cost 0.3–0.8 ms of
 * CPU here, about what handing a message to SMTP costs.
 */
export function createPrismaSenderStore(db: Database): SenderStore & { close(): Promise<void> } {
  const prisma = db.prisma;
  const fast: FastPath = db.provider === "postgresql" ? new PostgresFastPath(db.url) : new SqliteFastPath(sqliteFile(db.url));

  /** A transition of the lifecycle table, made by the engine: only while it holds the lease. */
  async function transition(
    sendingId: string,
    owner: string,
    name: Transition,
    action: string,
    data: Record<string, unknown>,
    reason?: string,
  ): Promise<boolean> {
    return prisma.$transaction(async (tx) => {
      const current = await tx.sending.findUnique({ where: { id: sendingId }, select: { status: true } });
      if (!current) return false;
      const { count } = await tx.sending.updateMany({
        where: { id: sendingId, leaseOwner: owner, status: { in: [...sourcesOf(name)] } },
        data: { ...data, status: targetOf(name) },
      });
      if (count === 0) return false;
      await recordAudit(tx, sendingId, { actor: ENGINE_ACTOR, action, reason }, { from: current.status, to: targetOf(name) });
      return true;
    });
  }

  const released = { leaseOwner: null, leaseExpiresAt: null };

  return {
    async claim({ owner, now, leaseUntil, limit, skip }) {
      const leaseFree = { OR: [{ leaseExpiresAt: null }, { leaseExpiresAt: { lte: now } }] };
      const candidates = await prisma.sending.findMany({
        where: {
          id: { notIn: [...skip] },
          AND: [
            {
              OR: [
                { status: "SCHEDULED", launchAt: { lte: now } },
                { status: "SENDING" },
                { status: "CANCELLED", cancelPrepared: "deliver", finishedAt: null },
              ],
            },
            leaseFree,
          ],
        },
        orderBy: { launchAt: "asc" },
        take: limit,
        select: {
          id: true, status: true, launchAt: true, startedAt: true, cancelPrepared: true,
          subject: true, html: true, text: true, fromName: true, fromEmail: true, replyTo: true,
        },
      });
      const claimed: ClaimedSending[] = [];
      for (const candidate of candidates) {
        // Compare-and-set: of several engines reading the same candidate, one update matches.
        const { count } = await prisma.sending.updateMany({
          where: { id: candidate.id, status: candidate.status, ...leaseFree },
          data: { leaseOwner: owner, leaseExpiresAt: leaseUntil },
        });
        if (count === 0) continue;
        const { id, status, launchAt, startedAt, cancelPrepared, ...content } = candidate;
        claimed.push({ id, status, launchAt, startedAt, cancelPrepared, content });
      }
      return claimed;
    },

    async renewLease(sendingId, owner, leaseUntil) {
      const { count } = await prisma.sending.updateMany({
        where: { id: sendingId, leaseOwner: owner },
        data: { leaseExpiresAt: leaseUntil },
      });
      return count > 0;
    },

    async releaseLease(sendingId, owner, notBefore) {
      await prisma.sending.updateMany({
        where: { id: sendingId, leaseOwner: owner },
        data: { leaseOwner: null, leaseExpiresAt: notBefore ?? null },
      });
    },

    start: (sendingId, owner, now) => transition(sendingId, owner, "start", "delivery started", { startedAt: now, statusNote: null }),

    async markStarted(sendingId, now) {
      const { count } = await prisma.sending.updateMany({ where: { id: sendingId, startedAt: null }, data: { startedAt: now } });
      return count > 0;
    },

    autoPause: (sendingId, owner, note) =>
      transition(sendingId, owner, "autoPause", "paused automatically", { statusNote: note, ...released }, note),

    complete: (sendingId, owner, now) =>
      transition(sendingId, owner, "complete", "delivery completed", { finishedAt: now, statusNote: null, ...released }),

    async finishCancelled(sendingId, owner, now) {
      return prisma.$transaction(async (tx) => {
        const { count } = await tx.sending.updateMany({
          where: { id: sendingId, leaseOwner: owner, status: "CANCELLED", finishedAt: null },
          data: { finishedAt: now, ...released },
        });
        if (count > 0) await recordAudit(tx, sendingId, { actor: ENGINE_ACTOR, action: "prepared messages delivered" });
        return count > 0;
      });
    },

    readGate: (sendingId, owner, now) => fast.readGate(sendingId, owner, now),
    // Measured with bench/delivery.ts: on PostgreSQL one read per few handoffs saves round trips; on
    // SQLite the read is local and cheaper than the timer that would gather for it.
    statusReadGatherMs: db.provider === "postgresql" ? 5 : 0,
    preparedRecipients: (sendingId, afterId, limit) => fast.preparedRecipients(sendingId, afterId, limit),
    dueRecipients: (sendingId, afterId, now, limit) => fast.dueRecipients(sendingId, afterId, now, limit),
    markPrepared: (sendingId, ids) => (ids.length === 0 ? Promise.resolve([]) : fast.markPrepared(sendingId, ids)),
    record: (outcomes) => (outcomes.length === 0 ? Promise.resolve() : fast.record(outcomes)),

    counts: (sendingId) => countRecipients(prisma, sendingId),

    async nextRetryAt(sendingId) {
      const never = await prisma.recipient.findFirst({
        where: { sendingId, status: "QUEUED", nextAttemptAt: null },
        select: { id: true },
      });
      if (never) return new Date(0);
      const next = await prisma.recipient.findFirst({
        where: { sendingId, status: "QUEUED" },
        orderBy: { nextAttemptAt: "asc" },
        select: { nextAttemptAt: true },
      });
      return next?.nextAttemptAt ?? null;
    },

    async failureReasons(sendingId, limit) {
      const groups = await prisma.recipient.groupBy({
        by: ["lastError"],
        where: { sendingId, status: "FAILED" },
        _count: { _all: true },
        orderBy: { _count: { lastError: "desc" } },
        take: limit,
      });
      return groups.map((group) => ({ reason: group.lastError ?? "unknown", count: group._count._all }));
    },

    close: () => fast.close(),
  };
}

/** How many recipients of a sending are in each state. */
export async function countRecipients(prisma: Prisma, sendingId: string): Promise<RecipientCounts> {
  const groups = await prisma.recipient.groupBy({ by: ["status"], where: { sendingId }, _count: { _all: true } });
  const counts: RecipientCounts = { total: 0, queued: 0, prepared: 0, sent: 0, failed: 0, cancelled: 0 };
  for (const group of groups) {
    const key = group.status.toLowerCase() as Exclude<keyof RecipientCounts, "total">;
    counts[key] = group._count._all;
    counts.total += group._count._all;
  }
  return counts;
}

// --- The per-message path -------------------------------------------------------------------

interface FastPath {
  readGate(sendingId: string, owner: string, now: Date): Promise<DeliveryGate>;
  preparedRecipients(sendingId: string, afterId: number, limit: number): Promise<PendingRecipient[]>;
  dueRecipients(sendingId: string, afterId: number, now: Date, limit: number): Promise<PendingRecipient[]>;
  markPrepared(sendingId: string, ids: readonly number[]): Promise<number[]>;
  record(outcomes: readonly RecipientOutcome[]): Promise<void>;
  close(): Promise<void>;
}

type GateRow = { status: SendingStatus; cancelPrepared: string | null; holdsLease: unknown } | undefined;

const toGate = (row: GateRow): DeliveryGate =>
  row
    ? { status: row.status, cancelPrepared: row.cancelPrepared, holdsLease: Boolean(row.holdsLease) }
    : { status: "CANCELLED", cancelPrepared: null, holdsLease: false };

const RECIPIENT_COLUMNS = `"id", "email", "vars", "attempts"`;

function split(outcomes: readonly RecipientOutcome[]) {
  const sent: Extract<RecipientOutcome, { kind: "sent" }>[] = [];
  const failed: Extract<RecipientOutcome, { kind: "failed" }>[] = [];
  const retry: Extract<RecipientOutcome, { kind: "retry" }>[] = [];
  for (const outcome of outcomes) {
    if (outcome.kind === "sent") sent.push(outcome);
    else if (outcome.kind === "failed") failed.push(outcome);
    else retry.push(outcome);
  }
  return { sent, failed, retry };
}

type Statement = SqliteStatement & { all(...params: unknown[]): unknown[] };

const BUSY_GIVE_UP_MS = 30_000;

/**
 * SQLite: a connection of our own, beside Prisma's. Each write is one synchronous transaction, so
 * it never holds the lock across an await; when another writer holds it (a Prisma transaction of
 * this process between two of its statements, another process), we wait asynchronously and try
 * again rather than let better-sqlite3 wait synchronously, which would block the event loop that
 * the other writer needs to finish.
 */
class SqliteFastPath implements FastPath {
  readonly #file: string;
  #connection: SqliteConnection | undefined;
  readonly #statements = new Map<string, Statement>();

  constructor(file: string) {
    if (file === ":memory:") throw new Error("The delivery engine needs a database file, not an in-memory SQLite database.");
    this.#file = file;
  }

  /** Stored as Prisma stores DateTime in SQLite, so text comparison orders correctly. */
  static date(date: Date): string {
    return date.toISOString().replace("Z", "+00:00");
  }

  #open(): SqliteConnection {
    if (!this.#connection) {
      const connection = openSqliteConnection(this.#file, { timeout: 0 });
      connection.pragma("journal_mode = WAL");
      // Durable across a crash of the process (what the engine must survive); after a power cut the
      // last outcomes may be lost, and those recipients get their message again, with the same Message-ID.
      connection.pragma("synchronous = NORMAL");
      this.#connection = connection;
    }
    return this.#connection;
  }

  #statement(sql: string): Statement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#open().prepare(sql) as Statement;
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  async #retryWhileBusy<R>(work: () => R): Promise<R> {
    const giveUpAt = Date.now() + BUSY_GIVE_UP_MS;
    for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
      try {
        return work();
      } catch (error) {
        if (!/^SQLITE_(BUSY|LOCKED)/.test((error as { code?: string }).code ?? "") || Date.now() > giveUpAt) throw error;
        await sleep(wait);
      }
    }
  }

  #all<T>(sql: string, params: unknown[]): Promise<T[]> {
    return this.#retryWhileBusy(() => this.#statement(sql).all(...params) as T[]);
  }

  /** Runs the statements in one transaction, synchronously. */
  #write(steps: () => void): Promise<void> {
    return this.#retryWhileBusy(() => this.#open().transaction(steps).immediate());
  }

  async readGate(sendingId: string, owner: string, now: Date) {
    const rows = await this.#all<NonNullable<GateRow>>(
      `SELECT "status", "cancelPrepared", ("leaseOwner" = ? AND "leaseExpiresAt" > ?) AS "holdsLease" FROM "Sending" WHERE "id" = ?`,
      [owner, SqliteFastPath.date(now), sendingId],
    );
    return toGate(rows[0]);
  }

  preparedRecipients(sendingId: string, afterId: number, limit: number) {
    return this.#all<PendingRecipient>(
      `SELECT ${RECIPIENT_COLUMNS} FROM "Recipient" WHERE "sendingId" = ? AND "status" = 'PREPARED' AND "id" > ? ORDER BY "id" LIMIT ?`,
      [sendingId, afterId, limit],
    );
  }

  dueRecipients(sendingId: string, afterId: number, now: Date, limit: number) {
    return this.#all<PendingRecipient>(
      `SELECT ${RECIPIENT_COLUMNS} FROM "Recipient"
       WHERE "sendingId" = ? AND "status" = 'QUEUED' AND "id" > ? AND ("nextAttemptAt" IS NULL OR "nextAttemptAt" <= ?)
       ORDER BY "id" LIMIT ?`,
      [sendingId, afterId, SqliteFastPath.date(now), limit],
    );
  }

  async markPrepared(sendingId: string, ids: readonly number[]) {
    let rows: { id: number }[] = [];
    // One statement for the page, whatever its size: the ids travel as a JSON array.
    await this.#write(() => {
      rows = this.#statement(
        `UPDATE "Recipient" SET "status" = 'PREPARED'
         WHERE "sendingId" = ? AND "status" = 'QUEUED' AND "id" IN (SELECT value FROM json_each(?)) RETURNING "id"`,
      ).all(sendingId, JSON.stringify(ids)) as { id: number }[];
    });
    return rows.map((row) => row.id);
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
        ).run(json(sent.map((o) => [o.recipientId, SqliteFastPath.date(o.at), o.response])));
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
        ).run(json(retry.map((o) => [o.recipientId, o.reason, o.response, SqliteFastPath.date(o.retryAt)])));
      }
    });
  }

  async close() {
    this.#statements.clear();
    this.#connection?.close();
    this.#connection = undefined;
  }
}

/** PostgreSQL: everything on a small pool of its own; dates travel as UTC text (the columns are `timestamp(3)` in UTC). */
class PostgresFastPath implements FastPath {
  readonly #pool: pg.Pool;

  constructor(url: string) {
    this.#pool = new pg.Pool({ connectionString: url, max: 6, idleTimeoutMillis: 10_000, allowExitOnIdle: true });
    // An idle connection the server drops (restart, failover) must not crash the process; the next query reconnects.
    this.#pool.on("error", () => {});
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

  #ended: Promise<void> | undefined;

  close() {
    return (this.#ended ??= this.#pool.end());
  }
}
