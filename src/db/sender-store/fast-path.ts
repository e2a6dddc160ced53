import type { SendingStatus } from "../../domain/sending-status.js";
import type { DeliveryGate, PendingRecipient, RecipientCounts, RecipientOutcome, SentOutcome } from "../../sender/store.js";

/**
 * The engine's per-message path (the status read before each handoff, claiming recipients in
 * batches, recording outcomes) as plain SQL on the driver: through Prisma each statement cost
 * 0.3–0.8 ms of CPU here, about what handing a message to SMTP costs. One implementation per database.
 */
export interface FastPath {
  readGate(sendingId: string, owner: string, now: Date, sent?: readonly SentOutcome[]): Promise<DeliveryGate>;
  claimPrepared(sendingId: string, owner: string, now: Date, afterId: number, limit: number): Promise<PendingRecipient[]>;
  claimQueued(sendingId: string, owner: string, now: Date, afterId: number, limit: number): Promise<PendingRecipient[]>;
  releaseRecipients(sendingId: string, owner: string): Promise<void>;
  record(outcomes: readonly RecipientOutcome[]): Promise<void>;
  /*
   * Reads over a whole list (a million rows), run at a delivery's start and end, on a cancel, and while
   * engines share a sending: each lets the event loop turn while it reads, so delivery and the other
   * sendings never wait on it; each is exact, read from one snapshot.
   */
  counts(sendingId: string): Promise<RecipientCounts>;
  failureReasons(sendingId: string, limit: number): Promise<{ reason: string; count: number }[]>;
  nextRetryAt(sendingId: string): Promise<Date | null>;
  close(): Promise<void>;
}

export const RECIPIENT_STATUSES = ["QUEUED", "PREPARED", "SENT", "FAILED", "CANCELLED"] as const;

export const emptyCounts = (): RecipientCounts => ({ total: 0, queued: 0, prepared: 0, sent: 0, failed: 0, cancelled: 0 });

/** Adds `count` recipients of `status` to the counts. */
export function addCount(counts: RecipientCounts, status: string, count: number) {
  const key = status.toLowerCase() as Exclude<keyof RecipientCounts, "total">;
  if (!(key in counts)) return;
  counts[key] += count;
  counts.total += count;
}

/** The most frequent reasons first; a tie in the order of the reasons' text, so that the answer is stable. */
export function topReasons(byReason: Map<string | null, number>, limit: number): { reason: string; count: number }[] {
  return [...byReason]
    .map(([reason, count]) => ({ reason: reason ?? "unknown", count }))
    .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason))
    .slice(0, limit);
}

export type GateRow = { status: SendingStatus; cancelPrepared: string | null; holdsLease: unknown; participants: unknown } | undefined;

export const toGate = (row: GateRow): DeliveryGate =>
  row
    ? { status: row.status, cancelPrepared: row.cancelPrepared, holdsLease: Boolean(row.holdsLease), participants: Math.max(1, Number(row.participants)) }
    : { status: "CANCELLED", cancelPrepared: null, holdsLease: false, participants: 1 };

/** An UPDATE … RETURNING gives its rows in no promised order; the engine delivers in id order. */
export const byId = (rows: PendingRecipient[]): PendingRecipient[] => rows.sort((a, b) => a.id - b.id);

export const RECIPIENT_COLUMNS = `"id", "email", "vars", "attempts"`;

export function split(outcomes: readonly RecipientOutcome[]) {
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
