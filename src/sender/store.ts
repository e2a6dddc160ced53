import type { SendingStatus } from "../domain/sending-status.js";
import type { SendingContent } from "../domain/content-hash.js";
import type { RecipientOutcomes } from "../sendings/support/ports.js";

/**
 * The delivery engine's view of the database. The engine holds no SQL; the Prisma adapter
 * (src/db/sender-store) implements this. Every method that changes a sending is a compare-and-set that
 * also requires the caller to hold the sending's lease, so a process that lost its lease changes nothing.
 */
export interface SenderStore {
  /**
   * Leases up to `limit` sendings that need the engine: SCHEDULED ones whose launch date has come,
   * SENDING ones whose lease is free or expired (their owner died), and CANCELLED ones whose
   * prepared messages were kept for delivery and are not all out yet.
   */
  claim(input: { owner: string; now: Date; leaseUntil: Date; limit: number; skip: readonly string[] }): Promise<ClaimedSending[]>;
  renewLease(sendingId: string, owner: string, leaseUntil: Date): Promise<boolean>;
  /**
   * Gives the sending up. With `notBefore`, no engine claims it before then (only retries not yet
   * due are left): the expiry stays set without an owner.
   */
  releaseLease(sendingId: string, owner: string, notBefore?: Date): Promise<void>;

  /** SCHEDULED → SENDING, with startedAt and an audit row. */
  start(sendingId: string, owner: string, now: Date): Promise<boolean>;
  /** Sets startedAt when a sending first delivers after a late launch was resumed. */
  markStarted(sendingId: string, now: Date): Promise<boolean>;
  /** SCHEDULED/SENDING → PAUSED, with the cause in statusNote and the audit row; releases the lease. */
  autoPause(sendingId: string, owner: string, note: string): Promise<boolean>;
  /** SENDING → COMPLETED with finishedAt; releases the lease. */
  complete(sendingId: string, owner: string, now: Date): Promise<boolean>;
  /** A cancelled sending's kept prepared messages are all out: finishedAt, lease released. */
  finishCancelled(sendingId: string, owner: string, now: Date): Promise<boolean>;

  /** Read before each handoff to SMTP: Pause and Cancel only write the status, the engine looks here. */
  readGate(sendingId: string, owner: string, now: Date): Promise<DeliveryGate>;
  /**
   * How long a status read may wait for more handoffs to clear with it: worth it when each read is
   * a round trip to a server; not when it is a local read (the timer costs more than the read).
   */
  readonly statusReadGatherMs: number;

  /** PREPARED recipients left by an earlier run (a pause, a crash), in id order after `afterId`. */
  preparedRecipients(sendingId: string, afterId: number, limit: number): Promise<PendingRecipient[]>;
  /** QUEUED recipients due now (never tried, or their retry time has come), in id order after `afterId`. */
  dueRecipients(sendingId: string, afterId: number, now: Date, limit: number): Promise<PendingRecipient[]>;
  /** QUEUED → PREPARED for those ids still queued; returns the ids that are now prepared. */
  markPrepared(sendingId: string, ids: readonly number[]): Promise<number[]>;
  /** Writes the outcomes of handed-off messages, many in one statement. */
  record(outcomes: readonly RecipientOutcome[]): Promise<void>;

  counts(sendingId: string): Promise<RecipientCounts>;
  /** When the next waiting retry is due, or null when none waits. */
  nextRetryAt(sendingId: string): Promise<Date | null>;
  /** The most frequent reasons among failed recipients, most frequent first. */
  failureReasons(sendingId: string, limit: number): Promise<{ reason: string; count: number }[]>;
}


/** What the engine renders: the same content the approval hash is made of. */
export type { SendingContent };

export interface ClaimedSending {
  id: string;
  status: SendingStatus;
  launchAt: Date;
  startedAt: Date | null;
  cancelPrepared: string | null;
  content: SendingContent;
}

export interface DeliveryGate {
  status: SendingStatus;
  cancelPrepared: string | null;
  /** The lease is still this engine's and has not expired. */
  holdsLease: boolean;
}

export interface PendingRecipient {
  id: number;
  email: string;
  /** JSON object text. */
  vars: string;
  attempts: number;
}

export type RecipientOutcome =
  | { recipientId: number; kind: "sent"; at: Date; response: string }
  | { recipientId: number; kind: "failed"; reason: string; response: string }
  | { recipientId: number; kind: "retry"; reason: string; response: string; retryAt: Date };

export interface RecipientCounts extends RecipientOutcomes {
  total: number;
}
