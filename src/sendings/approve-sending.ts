import { AppError } from "../domain/errors.js";
import { statusLabel } from "../domain/sending-status.js";
import type { ControlDeps, UseCaseDeps } from "./support/deps.js";
import { rescheduleSending } from "./reschedule-sending.js";
import { assertApprover } from "./support/authority.js";
import { errorChecks, type SendingAnalyzer } from "./support/current-analysis.js";
import type { ApprovalPolicy } from "./support/ports.js";
import { applyTransition, recordAudit } from "../db/transition.js";
import { notifyAfterCommit } from "./support/notify-after-commit.js";
import { recordOutboxMessage } from "../db/outbox.js";

export interface ApproveInput {
  sendingId: string;
  userId: string;
  /** The content the approver was shown; a mismatch means it changed under them. */
  contentHash?: string;
  /** A new launch date chosen with the approval (the old one passed while it waited): rescheduled first. */
  launchAt?: Date;
}

export type ApproveResult = { approvals: number; required: number; scheduled: boolean };

export async function approveSending(
  deps: ControlDeps & { policy: ApprovalPolicy; analyzer: SendingAnalyzer },
  input: ApproveInput,
): Promise<ApproveResult> {
  const { db, clock, policy } = deps;
  await assertApprover(deps.approvers, input.userId, "approve");
  let sending = await db.prisma.sending.findUnique({ where: { id: input.sendingId } });
  if (!sending) throw new AppError("NOT_FOUND", `Sending ${input.sendingId} does not exist.`);
  if (!policy.allowSelfApproval && sending.requestedBy === input.userId) {
    throw new AppError("SELF_APPROVAL", "You requested this sending, so someone else has to approve it (four-eyes rule).");
  }
  if (sending.status !== "PENDING_APPROVAL") await refuseDecided(deps, input.sendingId, sending.status);
  if (input.contentHash && input.contentHash !== sending.contentHash) {
    throw new AppError("CONFLICT", "The content changed since this message was posted; review it again before approving.");
  }
  const blocking = errorChecks(await deps.analyzer.current(input.sendingId));
  if (blocking.length > 0) {
    throw new AppError(
      "BLOCKED",
      `Approval is blocked until ${blocking.length === 1 ? "this error is" : "these errors are"} fixed: ${blocking
        .map((check) => `${check.title} (${check.evidence})`)
        .join("; ")}`,
      { checks: blocking.map(({ id, title, evidence }) => ({ id, title, evidence })) },
    );
  }
  if (input.launchAt) {
    // Only once this approval may stand: a refused one (four-eyes, blocked) moves nothing.
    await rescheduleSending(deps, { sendingId: input.sendingId, userId: input.userId, launchAt: input.launchAt });
    sending = await db.prisma.sending.findUniqueOrThrow({ where: { id: input.sendingId } });
  }
  if (sending.launchAt.getTime() <= clock.now().getTime()) {
    throw new AppError("LAUNCH_IN_PAST", "The launch date has passed; choose a new date or send it now.", {
      launchAt: sending.launchAt,
      name: sending.name,
    });
  }

  const result = await db.prisma.$transaction(async (tx) => {
    // Touching the row first serializes concurrent approvals of one sending (a row lock on PostgreSQL),
    // so the quorum count below sees every approval committed before it.
    const touched = await tx.sending.updateMany({
      where: { id: input.sendingId, status: "PENDING_APPROVAL", contentHash: sending.contentHash },
      data: { updatedAt: clock.now() },
    });
    if (touched.count === 0) return null;
    const already = await tx.decision.findFirst({
      where: { sendingId: input.sendingId, kind: "APPROVAL", userId: input.userId, contentHash: sending.contentHash },
    });
    if (already) throw new AppError("ALREADY_DECIDED", "You have already approved this sending.");
    await tx.decision.create({
      data: { sendingId: input.sendingId, kind: "APPROVAL", userId: input.userId, contentHash: sending.contentHash },
    });
    const approvals = await tx.decision.count({
      where: { sendingId: input.sendingId, kind: "APPROVAL", contentHash: sending.contentHash },
    });
    const scheduled = approvals >= policy.requiredApprovals;
    const audit = { actor: input.userId, action: "approved", details: { approvals, required: policy.requiredApprovals } };
    if (scheduled) await applyTransition(tx, input.sendingId, "approve", audit);
    else await recordAudit(tx, input.sendingId, audit);
    const result = { approvals, required: policy.requiredApprovals, scheduled };
    await recordOutboxMessage(tx, input.sendingId, { kind: "approved", by: input.userId, ...result });
    return result;
  });
  if (!result) {
    const now = await db.prisma.sending.findUniqueOrThrow({ where: { id: input.sendingId } });
    if (now.contentHash !== sending.contentHash) {
      throw new AppError("CONFLICT", "The content changed while you approved; review it again.");
    }
    return refuseDecided(deps, input.sendingId, now.status);
  }
  await notifyAfterCommit(deps, input.sendingId, { kind: "approved", by: input.userId, ...result });
  deps.log.info({ sendingId: input.sendingId, userId: input.userId, ...result }, "sending approved");
  return result;
}

/** Tells a late or stale click who decided, and how. */
async function refuseDecided(deps: UseCaseDeps, sendingId: string, status: string): Promise<never> {
  const last = await deps.db.prisma.auditEvent.findFirst({
    where: { sendingId, toStatus: status },
    orderBy: { id: "desc" },
  });
  const label = statusLabel[status as keyof typeof statusLabel].toLowerCase();
  const who = last && last.actor !== "system" ? ` by <@${last.actor}>` : "";
  throw new AppError("ALREADY_DECIDED", `Already ${label}${who}; nothing changed.`, { status, actor: last?.actor });
}
