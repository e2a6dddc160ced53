import { setImmediate as nextTurn } from "node:timers/promises";
import type pg from "pg";
import { isAppError } from "../../domain/errors.js";
import type { Transition } from "../../domain/sending-status.js";
import type { SendingEvent } from "../../sendings/support/ports.js";
import type { ClaimedSending, SenderStore } from "../../sender/store.js";
import type { Database, Prisma, Tx } from "../database.js";
import { recordOutboxMessage } from "../outbox.js";
import { sqliteFile } from "../provider.js";
import { applyTransition, recordAudit } from "../transition.js";
import type { FastPath } from "./fast-path.js";
import { PostgresFastPath } from "./postgres-fast-path.js";
import { SqliteFastPath } from "./sqlite-fast-path.js";

/** The engine's own changes are audited under this actor. */
export const ENGINE_ACTOR = "system";

/**
 * The delivery engine's store. Lifecycle changes go through Prisma in one transaction with their
 * audit row; the event loop turns between their statements (`nextTurn`): on SQLite Prisma runs each
 * synchronously, and a statement used for the first time is compiled first (tens of ms on the main
 * thread), so a start's statements run together held the loop for 200–300 ms. The per-message path (the status read before each handoff, claiming recipients in
 * batches, recording outcomes) is plain SQL on the driver: through Prisma each statement cost
 * 0.3–0.8 ms of CPU here, about what handing a message to SMTP costs.
 *
 * On PostgreSQL several processes share a sending (row locks let each claim a batch of its own); on
 * SQLite, one file with one writer at a time, a sending stays with the engine holding its lease.
 */
export function createPrismaSenderStore(
  db: Database,
  /** `readChunk`: rows one statement of a long read goes through on SQLite (tests make it small). */
  options: { pool?: pg.Pool; readChunk?: number } = {},
): SenderStore & { close(): Promise<void> } {
  const prisma = db.prisma;
  let fast: FastPath;
  let postgres: PostgresFastPath | undefined;
  if (db.provider === "postgresql") {
    if (!options.pool) throw new Error("The delivery engine on PostgreSQL needs a pool of its own for its per-message path.");
    fast = postgres = new PostgresFastPath(options.pool);
  } else {
    fast = new SqliteFastPath(sqliteFile(db.url), { readChunk: options.readChunk });
  }

  /**
   * A transition of the lifecycle table, made by the engine: only while it takes part (its lease, or an
   * admitted share). The event it causes is written to the outbox in the same transaction; `before`
   * runs first in it and may call the change off (returns false).
   */
  async function transition(
    sendingId: string,
    owner: string,
    name: Transition,
    audit: { action: string; reason?: string },
    data: Record<string, unknown>,
    eventOf: (tx: Tx) => Promise<SendingEvent | null>,
  ): Promise<SendingEvent | null> {
    try {
      return await prisma.$transaction(async (tx) => {
        await applyTransition(tx, sendingId, name, { actor: ENGINE_ACTOR, ...audit }, data, { participant: owner });
        await nextTurn();
        const event = await eventOf(tx);
        if (event) {
          await nextTurn();
          await recordOutboxMessage(tx, sendingId, event);
        }
        return event;
      });
    } catch (error) {
      // A sending that moved on meanwhile (paused, cancelled, completed by another engine) or in which this
      // engine no longer takes part: nothing to do.
      if (isAppError(error) && (error.code === "INVALID_STATE" || error.code === "NOT_FOUND")) return null;
      if (error instanceof CalledOff) return null;
      throw error;
    }
  }

  /**
   * The "started" event: before the first delivery every recipient is still QUEUED (a sending starts
   * from SCHEDULED, or after a late launch paused it before any delivery), so its count is the list's
   * length, kept on the sending: no count over a long list while the transaction holds the write lock.
   */
  async function startedEvent(tx: Tx, sendingId: string, now: Date): Promise<SendingEvent> {
    const { recipientCount } = await tx.sending.findUniqueOrThrow({ where: { id: sendingId }, select: { recipientCount: true } });
    return {
      kind: "started",
      progress: { total: recipientCount, queued: recipientCount, prepared: 0, sent: 0, failed: 0, cancelled: 0, rate: 0, startedAt: now, failureReasons: [] },
    };
  }

  const released = { leaseOwner: null, leaseExpiresAt: null };
  const hasRecipients = async (client: Prisma | Tx, sendingId: string, statuses: ("QUEUED" | "PREPARED")[]) =>
    (await client.recipient.findFirst({ where: { sendingId, status: { in: statuses } }, select: { id: true } })) !== null;
  const contentColumns = {
    id: true, status: true, launchAt: true, startedAt: true, cancelPrepared: true,
    subject: true, html: true, text: true, fromName: true, fromEmail: true, replyTo: true,
  } as const;
  const toClaimed = ({ id, status, launchAt, startedAt, cancelPrepared, ...content }: ClaimableRow): ClaimedSending => ({
    id, status, launchAt, startedAt, cancelPrepared, content,
  });

  return {
    sharesSendings: postgres !== undefined,

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
        select: contentColumns,
      });
      const claimed: ClaimedSending[] = [];
      for (const candidate of candidates) {
        await nextTurn();
        // Compare-and-set: of several engines reading the same candidate, one update matches.
        const { count } = await prisma.sending.updateMany({
          where: { id: candidate.id, status: candidate.status, ...leaseFree },
          data: { leaseOwner: owner, leaseExpiresAt: leaseUntil },
        });
        if (count === 0) continue;
        // Holding the lease now, this engine no longer asks to help with it; shares that ran out (their
        // engine died) are dropped: the recipients they held are free to take over either way.
        if (postgres) {
          await prisma.deliveryShare.deleteMany({ where: { sendingId: candidate.id, OR: [{ owner }, { expiresAt: { lte: now } }] } });
        }
        claimed.push(toClaimed(candidate));
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

    async joinSendings({ owner, now, until, limit, skip }) {
      // Each tick of every engine asks: one statement, and the sendings' content only for those it may join.
      const asked = (await postgres?.askToHelp(owner, now, until, limit, skip)) ?? [];
      const admitted = asked.filter((share) => share.admitted).map((share) => share.sendingId);
      const waiting = asked.length - admitted.length;
      if (admitted.length === 0) return { admitted: [], waiting };
      const sendings = await prisma.sending.findMany({ where: { id: { in: admitted } }, orderBy: { launchAt: "asc" }, select: contentColumns });
      return { admitted: sendings.map(toClaimed), waiting };
    },

    async admitHelpers(sendingId, owner, now) {
      if (!postgres) return 0;
      const { count } = await prisma.deliveryShare.updateMany({
        where: {
          sendingId,
          admittedAt: null,
          expiresAt: { gt: now },
          NOT: { owner },
          sending: { is: { leaseOwner: owner, leaseExpiresAt: { gt: now }, status: "SENDING" } },
        },
        data: { admittedAt: now },
      });
      return count;
    },

    async renewShare(sendingId, owner, now, until) {
      // Never revived once run out: by then its recipients may be another engine's.
      const { count } = await prisma.deliveryShare.updateMany({
        where: { sendingId, owner, admittedAt: { not: null }, expiresAt: { gt: now } },
        data: { expiresAt: until },
      });
      return count > 0;
    },

    async leaveSending(sendingId, owner) {
      await fast.releaseRecipients(sendingId, owner);
      await prisma.deliveryShare.deleteMany({ where: { sendingId, owner } });
    },

    start: (sendingId, owner, now) =>
      transition(sendingId, owner, "start", { action: "delivery started" }, { startedAt: now, statusNote: null }, (tx) => startedEvent(tx, sendingId, now)),

    async markStarted(sendingId, now) {
      return prisma.$transaction(async (tx) => {
        const { count } = await tx.sending.updateMany({ where: { id: sendingId, startedAt: null }, data: { startedAt: now } });
        if (count === 0) return null;
        const event = await startedEvent(tx, sendingId, now);
        await recordOutboxMessage(tx, sendingId, event);
        return event;
      });
    },

    autoPause: (sendingId, owner, note, event) =>
      transition(sendingId, owner, "autoPause", { action: "paused automatically", reason: note }, { statusNote: note, ...released }, async () => event),

    async complete(sendingId, owner, now, progress) {
      // Whoever finishes last completes it, the lease holder or a helper: only once nothing is left.
      const event = await transition(sendingId, owner, "complete", { action: "delivery completed" }, { finishedAt: now, statusNote: null, ...released }, async (tx) => {
        // Checked in the transaction: a recipient still QUEUED or PREPARED (a retry, another engine's claim) calls it off.
        if (await hasRecipients(tx, sendingId, ["QUEUED", "PREPARED"])) throw new CalledOff();
        return { kind: "completed", progress };
      });
      if (!event) return null;
      // Asks to help that were never answered; helpers still in leave on their own.
      if (postgres) await prisma.deliveryShare.deleteMany({ where: { sendingId, OR: [{ admittedAt: null }, { expiresAt: { lte: now } }] } });
      return event;
    },

    async finishCancelled(sendingId, owner, now) {
      if (await hasRecipients(prisma, sendingId, ["PREPARED"])) return false;
      return prisma.$transaction(async (tx) => {
        const { count } = await tx.sending.updateMany({
          where: {
            id: sendingId,
            status: "CANCELLED",
            finishedAt: null,
            OR: [{ leaseOwner: owner }, { shares: { some: { owner, admittedAt: { not: null } } } }],
          },
          data: { finishedAt: now, ...released },
        });
        if (count > 0) await recordAudit(tx, sendingId, { actor: ENGINE_ACTOR, action: "prepared messages delivered" });
        return count > 0;
      });
    },

    readGate: (sendingId, owner, now, sent) => fast.readGate(sendingId, owner, now, sent),
    // Measured with bench/delivery.ts: on PostgreSQL one read per few handoffs saves round trips; on
    // SQLite the read is local and cheaper than the timer that would gather for it.
    statusReadGatherMs: db.provider === "postgresql" ? 5 : 0,
    writesWithStatusRead: db.provider === "postgresql",
    claimPrepared: (sendingId, owner, now, afterId, limit) => fast.claimPrepared(sendingId, owner, now, afterId, limit),
    claimQueued: (sendingId, owner, now, afterId, limit) => fast.claimQueued(sendingId, owner, now, afterId, limit),
    releaseRecipients: (sendingId, owner) => fast.releaseRecipients(sendingId, owner),
    record: (outcomes) => (outcomes.length === 0 ? Promise.resolve() : fast.record(outcomes)),

    counts: (sendingId) => fast.counts(sendingId),
    nextRetryAt: (sendingId) => fast.nextRetryAt(sendingId),
    failureReasons: (sendingId, limit) => fast.failureReasons(sendingId, limit),

    close: () => fast.close(),
  };
}

/** Thrown inside a transaction to roll it back when a condition checked there no longer holds. */
class CalledOff extends Error {}

type ClaimableRow = Omit<ClaimedSending, "content"> & ClaimedSending["content"];
