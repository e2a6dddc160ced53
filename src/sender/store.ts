import type { SendingStatus } from "../domain/sending-status.js";
import type { SendingContent } from "../domain/content-hash.js";
import type { DeliveryProgress, RecipientOutcomes, SendingEvent } from "../sendings/support/ports.js";

/**
 * The delivery engine's view of the database. The engine holds no SQL; the Prisma adapter
 * (src/db/sender-store) implements this. Every method that changes a sending is a compare-and-set that
 * also requires the caller to take part in delivering it (to hold its lease, or an admitted share),
 * so a process that lost its part changes nothing.
 *
 * One engine holds a sending's lease: it starts it, admits helpers, waits for retries and announces
 * what happens. Where the database lets several processes share a sending (`sharesSendings`), other
 * engines ask to help, are admitted by the lease holder, and claim recipients in batches beside it.
 * Recipients are only ever delivered by the engine that claimed them: a claim lasts as long as its
 * engine takes part (renews its lease or share), and is given back at a pause or a stop.
 */
export interface SenderStore {
  /** Several engines may deliver one sending together (PostgreSQL); otherwise one engine a sending (SQLite). */
  readonly sharesSendings: boolean;
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

  /**
   * Asks to help deliver SENDING sendings that another engine holds the lease of (live) and that have
   * recipients due, or renews the ask until `until`; `admitted`: those whose lease holder has admitted
   * this engine, `waiting`: how many asks are not answered yet. Only a live lease holder admits, so a
   * sending whose holder died waits for its lease to run out, as it always did.
   */
  joinSendings(input: { owner: string; now: Date; until: Date; limit: number; skip: readonly string[] }): Promise<{ admitted: ClaimedSending[]; waiting: number }>;
  /** The lease holder lets in the engines that asked to help with this sending (and are still asking). */
  admitHelpers(sendingId: string, owner: string, now: Date): Promise<number>;
  /** A helper's heartbeat: false once its share is gone (it is taken for dead; its recipients may be taken over). */
  renewShare(sendingId: string, owner: string, now: Date, until: Date): Promise<boolean>;
  /** A helper leaves: its recipients not handed over are given back, its share removed. */
  leaveSending(sendingId: string, owner: string): Promise<void>;

  /*
   * The engine's own changes write the event they cause to the outbox in their transaction, as the use
   * cases do: a crash right after the commit loses neither the Slack update nor the webhook. Each returns
   * the event it recorded (to be announced with `recorded: true`), or null when nothing changed.
   */
  /** SCHEDULED → SENDING, with startedAt, an audit row and the "started" event. */
  start(sendingId: string, owner: string, now: Date): Promise<SendingEvent | null>;
  /** Sets startedAt when a sending first delivers after a late launch was resumed, with the "started" event. */
  markStarted(sendingId: string, now: Date): Promise<SendingEvent | null>;
  /**
   * SCHEDULED/SENDING → PAUSED, with the cause in statusNote, the audit row and the event that says why
   * (auto-paused, or late-launch); releases the lease.
   */
  autoPause(sendingId: string, owner: string, note: string, event: Extract<SendingEvent, { kind: "auto-paused" | "late-launch" }>): Promise<SendingEvent | null>;
  /**
   * SENDING → COMPLETED with finishedAt, once no recipient is QUEUED or PREPARED (checked in the
   * transaction); releases the lease. `progress` is the final one: counts read with nothing QUEUED or
   * PREPARED no longer change.
   */
  complete(sendingId: string, owner: string, now: Date, progress: DeliveryProgress): Promise<SendingEvent | null>;
  /** A cancelled sending's kept prepared messages are all out: finishedAt, lease released. */
  finishCancelled(sendingId: string, owner: string, now: Date): Promise<boolean>;

  /**
   * Read before each handoff to SMTP: Pause and Cancel only write the status, the engine looks here.
   * `sent`: outcomes of delivered messages written first, in the same round trip to the database
   * (the read goes there anyway; a write of their own would be a second trip).
   */
  readGate(sendingId: string, owner: string, now: Date, sent?: readonly SentOutcome[]): Promise<DeliveryGate>;
  /**
   * How long a status read may wait for more handoffs to clear with it: worth it when each read is
   * a round trip to a server; not when it is a local read (the timer costs more than the read).
   */
  readonly statusReadGatherMs: number;
  /**
   * Whether the status read takes waiting outcomes along (`readGate`'s `sent`): worth it when each is a
   * round trip to a server; not on a local file, where it would only make more, smaller transactions.
   */
  readonly writesWithStatusRead: boolean;

  /**
   * Claims up to `limit` PREPARED recipients (id order, after `afterId`) that no engine taking part
   * holds: given back at a pause or a stop, or held by an engine whose lease or share ran out (it
   * died). While SENDING, or CANCELLED with its prepared messages kept.
   */
  claimPrepared(sendingId: string, owner: string, now: Date, afterId: number, limit: number): Promise<PendingRecipient[]>;
  /**
   * Claims up to `limit` QUEUED recipients due now (id order, after `afterId`) and marks them PREPARED.
   * Whatever the status: a batch claimed as a Pause commits is prepared, and waits for Resume or Cancel.
   */
  claimQueued(sendingId: string, owner: string, now: Date, afterId: number, limit: number): Promise<PendingRecipient[]>;
  /** Gives back this engine's PREPARED recipients not handed over: any engine may take them at once. */
  releaseRecipients(sendingId: string, owner: string): Promise<void>;
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
  /** This engine still takes part: its lease (or, helping, its share) is its own and has not expired. */
  holdsLease: boolean;
  /** Engines taking part now (the lease holder and admitted helpers), at least 1: they share the sending's rate. */
  participants: number;
}

export interface PendingRecipient {
  id: number;
  email: string;
  /** JSON object text. */
  vars: string;
  attempts: number;
}

export type SentOutcome = { recipientId: number; kind: "sent"; at: Date; response: string };

export type RecipientOutcome =
  | SentOutcome
  | { recipientId: number; kind: "failed"; reason: string; response: string }
  | { recipientId: number; kind: "retry"; reason: string; response: string; retryAt: Date };

export interface RecipientCounts extends RecipientOutcomes {
  total: number;
}
