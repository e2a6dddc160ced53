import type { Database } from "../../db/database.js";
import { AppError } from "../../domain/errors.js";
import type { ApproverDirectory } from "./ports.js";

/** Approvers and the sending's requester may steer it (preview, reschedule, pause, resume, cancel). */
export async function assertMayControl(
  deps: { db: Database; approvers: ApproverDirectory },
  sendingId: string,
  userId: string,
): Promise<void> {
  const sending = await deps.db.prisma.sending.findUnique({ where: { id: sendingId }, select: { requestedBy: true } });
  if (!sending) throw new AppError("NOT_FOUND", `Sending ${sendingId} does not exist.`);
  if (sending.requestedBy === userId) return;
  if (await deps.approvers.isApprover(userId)) return;
  throw new AppError("NOT_ALLOWED", "Only approvers and the person who requested this sending can do that.");
}

/** Only configured approvers decide whether a sending goes out. */
export async function assertApprover(approvers: ApproverDirectory, userId: string, verb: "approve" | "reject"): Promise<void> {
  if (!(await approvers.isApprover(userId))) throw new AppError("NOT_ALLOWED", `Only the configured approvers can ${verb} sendings.`);
}
