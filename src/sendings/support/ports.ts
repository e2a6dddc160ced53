import type { SendingStatus } from "../../domain/sending-status.js";

/** What happened to a sending, as told to the people watching it (the Slack thread, the log). */
export type SendingEvent =
  | { kind: "created" }
  | { kind: "approved"; by: string; approvals: number; required: number; scheduled: boolean }
  | { kind: "rejected"; by: string; reason: string }
  | { kind: "rescheduled"; by: string; from: Date; to: Date }
  | { kind: "cancelled"; by: string; reason: string; prepared: "drop" | "deliver" | "none"; preparedCount: number }
  | { kind: "content-changed"; by: string; changed: string[]; approvalsWithdrawn: number; changes?: FieldChange[] }
  | { kind: "started"; progress: DeliveryProgress }
  | { kind: "paused"; by: string; reason?: string }
  | { kind: "resumed"; by: string }
  | { kind: "auto-paused"; reason: string }
  | { kind: "late-launch"; launchAt: Date }
  /** Still pending approval shortly before its launch (or after it): the approvers are pinged once. */
  | { kind: "reminder"; launchAt: Date }
  | { kind: "completed"; progress: DeliveryProgress };

/**
 * One field of a content change, for the people reading about it: `from` and `to` only for short
 * fields (subject, sender, reply-to, name, launch date), never for bodies or lists.
 */
export interface FieldChange {
  field: string;
  from?: string;
  to?: string;
}

/**
 * The port through which use cases and the engine tell the outside world about changes, after commit.
 * The Slack adapter implements it; a failure there never undoes or blocks what was decided.
 */
export interface SendingNotifier {
  /**
   * A change happened. `recorded`: the event is already in the outbox, written with the change (use
   * cases); otherwise the adapter records it first (the engine's own events).
   */
  sendingChanged(sendingId: string, event: SendingEvent, options?: { recorded?: boolean }): Promise<void>;
  /** Called often while delivering; the adapter coalesces and must never block or slow the caller. */
  deliveryProgress(sendingId: string, progress: DeliveryProgress): void;
}

/** Where each recipient of a sending stands: the numbers add up to the recipient count. */
export interface RecipientOutcomes {
  /** Not yet rendered. */
  queued: number;
  /** Rendered and waiting for their turn at the mail server. */
  prepared: number;
  /** Accepted by the mail server. */
  sent: number;
  /** Refused by the mail server, or out of attempts. */
  failed: number;
  /** Never sent because the sending was cancelled. */
  cancelled: number;
}

export interface DeliveryProgress extends RecipientOutcomes {
  total: number;
  /** Messages per second over the recent past. */
  rate: number;
  startedAt: Date;
  /** Main failure reasons with their counts, most frequent first. */
  failureReasons: { reason: string; count: number }[];
}

export const silentNotifier: SendingNotifier = { sendingChanged: async () => {}, deliveryProgress: () => {} };

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export type StatusChange = { from: SendingStatus; to: SendingStatus };

/** Who may approve: configured user IDs, or members of configured user groups (resolved by the Slack adapter). */
export interface ApproverDirectory {
  isApprover(userId: string): Promise<boolean>;
}

export interface ApprovalPolicy {
  requiredApprovals: number;
  allowSelfApproval: boolean;
}

export interface PendingOutboxMessage {
  id: number;
  event: SendingEvent;
  attempts: number;
  nextAttemptAt: Date | null;
}

/** The outbox as its dispatcher sees it (the database adapter implements it). */
export interface OutboxStore {
  /** Records an event outside a use case's transaction (the engine's events). */
  record(sendingId: string, event: SendingEvent): Promise<void>;
  /** Sendings with a message due, each claimed for `owner` until `until`. */
  claim(input: { owner: string; now: Date; until: Date; limit: number }): Promise<string[]>;
  /** A claimed sending's undelivered messages, oldest first. */
  pending(sendingId: string, limit: number): Promise<PendingOutboxMessage[]>;
  delivered(id: number, at: Date): Promise<void>;
  /** A failed attempt: tried again at `retryAt`, or given up when it is null. */
  failed(id: number, error: string, retryAt: Date | null, now: Date): Promise<void>;
  release(sendingId: string, owner: string): Promise<void>;
  undelivered(): Promise<number>;
}
