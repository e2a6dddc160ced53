import { AppError } from "../domain/errors.js";
import { assertApprover } from "./support/authority.js";
import type { ControlDeps } from "./support/deps.js";
import { applyTransition } from "../db/transition.js";
import { notifyAfterCommit } from "./support/notify-after-commit.js";
import { recordOutboxMessage } from "../db/outbox.js";

export const REASON_MAX_LENGTH = 2000;

/** A reason is required for rejecting and cancelling; whitespace does not count. */
export function requireReason(reason: string | null | undefined): string {
  const trimmed = (reason ?? "").trim();
  if (!trimmed) throw new AppError("VALIDATION", "A reason is required.", { field: "reason" });
  if (trimmed.length > REASON_MAX_LENGTH) {
    throw new AppError("VALIDATION", `Keep the reason under ${REASON_MAX_LENGTH} characters.`, { field: "reason" });
  }
  return trimmed;
}

export async function rejectSending(
  deps: ControlDeps,
  input: { sendingId: string; userId: string; reason: string },
): Promise<void> {
  await assertApprover(deps.approvers, input.userId, "reject");
  const reason = requireReason(input.reason);
  await deps.db.prisma.$transaction(async (tx) => {
    const sending = await tx.sending.findUnique({ where: { id: input.sendingId }, select: { contentHash: true } });
    if (!sending) throw new AppError("NOT_FOUND", `Sending ${input.sendingId} does not exist.`);
    await applyTransition(tx, input.sendingId, "reject", { actor: input.userId, action: "rejected", reason });
    await tx.decision.create({
      data: { sendingId: input.sendingId, kind: "REJECTION", userId: input.userId, reason, contentHash: sending.contentHash },
    });
    await recordOutboxMessage(tx, input.sendingId, { kind: "rejected", by: input.userId, reason });
  });
  deps.log.info({ sendingId: input.sendingId, userId: input.userId }, "sending rejected");
  await notifyAfterCommit(deps, input.sendingId, { kind: "rejected", by: input.userId, reason });
}
