import { AppError } from "../domain/errors.js";
import { sourcesOf, statusLabel, targetOf, type SendingStatus, type Transition } from "../domain/sending-status.js";
import type { Tx } from "./database.js";

export interface AuditEntry {
  actor: string;
  action: string;
  reason?: string | null;
  details?: Record<string, unknown>;
}

/** A condition the sending must also meet, beside its status (the delivery engine: that it holds the lease). */
export interface TransitionGuard {
  leaseOwner?: string;
  /** Takes part in delivering it: holds its lease, or a share admitted by the lease holder. */
  participant?: string;
}

/**
 * Compare-and-set on the status: moves the sending only if its status is still one the transition
 * accepts (and it meets the guard). A count of 0 means a stale click or a lost race; the caller is
 * told which status won.
 */
export async function applyTransition(
  tx: Tx,
  sendingId: string,
  transition: Transition,
  audit: AuditEntry,
  data: Record<string, unknown> = {},
  guard: TransitionGuard = {},
): Promise<{ from: SendingStatus; to: SendingStatus }> {
  const current = await tx.sending.findUnique({ where: { id: sendingId }, select: { status: true } });
  if (!current) throw new AppError("NOT_FOUND", `Sending ${sendingId} does not exist.`);
  const to = targetOf(transition);
  const { participant, ...columns } = guard;
  const takesPart = participant
    ? { OR: [{ leaseOwner: participant }, { shares: { some: { owner: participant, admittedAt: { not: null } } } }] }
    : {};
  const { count } = await tx.sending.updateMany({
    where: { ...columns, ...takesPart, id: sendingId, status: { in: [...sourcesOf(transition)] } },
    data: { ...data, status: to },
  });
  if (count === 0) {
    const now = await tx.sending.findUniqueOrThrow({ where: { id: sendingId }, select: { status: true } });
    throw new AppError(
      "INVALID_STATE",
      `This sending is ${statusLabel[now.status].toLowerCase()}; it cannot be ${pastTense(transition)} now.`,
      { status: now.status },
    );
  }
  await recordAudit(tx, sendingId, { ...audit }, { from: current.status, to });
  return { from: current.status, to };
}

export async function recordAudit(
  tx: Tx,
  sendingId: string,
  audit: AuditEntry,
  change?: { from: SendingStatus; to: SendingStatus },
) {
  await tx.auditEvent.create({
    data: {
      sendingId,
      actor: audit.actor,
      action: audit.action,
      reason: audit.reason ?? null,
      fromStatus: change?.from ?? null,
      toStatus: change?.to ?? null,
      details: audit.details ? JSON.stringify(audit.details) : null,
    },
  });
}

const pastTenses: Record<Transition, string> = {
  approve: "approved",
  reject: "rejected",
  start: "started",
  complete: "completed",
  pause: "paused",
  autoPause: "paused",
  resume: "resumed",
  cancel: "cancelled",
  withdrawApproval: "sent back for approval",
};

export const pastTense = (transition: Transition) => pastTenses[transition];
