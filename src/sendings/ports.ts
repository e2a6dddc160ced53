import type { SendingStatus } from "../domain/sending-status.js";

/** What happened to a sending, as told to the people watching it (the Slack thread, the log). */
export type SendingEvent =
  | { kind: "created" }
  | { kind: "approved"; by: string; approvals: number; required: number; scheduled: boolean }
  | { kind: "rejected"; by: string; reason: string }
  | { kind: "rescheduled"; by: string; from: Date; to: Date }
  | { kind: "cancelled"; by: string; reason: string; prepared: "drop" | "deliver" | "none"; preparedCount: number }
  | { kind: "content-changed"; by: string; changed: string[]; approvalsWithdrawn: number }
  | { kind: "started" }
  | { kind: "paused"; by: string; reason?: string }
  | { kind: "resumed"; by: string }
  | { kind: "completed" };

/**
 * The port through which use cases and the engine tell the outside world about changes, after commit.
 * The Slack adapter implements it; a failure there never undoes or blocks what was decided.
 */
export interface SendingNotifier {
  sendingChanged(sendingId: string, event: SendingEvent): Promise<void>;
}

export const silentNotifier: SendingNotifier = { sendingChanged: async () => {} };

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export type StatusChange = { from: SendingStatus; to: SendingStatus };
