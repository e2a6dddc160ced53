import { AppError } from "../domain/errors.js";
import { reschedulable, statusLabel } from "../domain/sending-status.js";
import { assertMayControl } from "./authority.js";
import type { UseCaseDeps } from "./deps.js";
import type { ApproverDirectory } from "./ports.js";
import { recordAudit } from "../db/transition.js";

/** "Edit launch date": allowed while pending or scheduled, never into the past. */
export async function rescheduleSending(
  deps: UseCaseDeps & { approvers: ApproverDirectory },
  input: { sendingId: string; userId: string; launchAt: Date },
): Promise<{ from: Date; to: Date }> {
  await assertMayControl(deps.db, deps.approvers, input.sendingId, input.userId);
  if (Number.isNaN(input.launchAt.getTime())) throw new AppError("VALIDATION", "Choose a launch date and time.");
  if (input.launchAt.getTime() <= deps.clock.now().getTime()) {
    throw new AppError("LAUNCH_IN_PAST", "The launch date must be in the future.", { field: "launchAt" });
  }
  const from = await deps.db.prisma.$transaction(async (tx) => {
    const sending = await tx.sending.findUnique({ where: { id: input.sendingId } });
    if (!sending) throw new AppError("NOT_FOUND", `Sending ${input.sendingId} does not exist.`);
    const { count } = await tx.sending.updateMany({
      where: { id: input.sendingId, status: { in: [...reschedulable] } },
      data: { launchAt: input.launchAt },
    });
    if (count === 0) {
      throw new AppError(
        "INVALID_STATE",
        `This sending is ${statusLabel[sending.status].toLowerCase()}; its launch date can no longer change.`,
      );
    }
    await recordAudit(tx, input.sendingId, {
      actor: input.userId,
      action: "rescheduled",
      details: { from: sending.launchAt.toISOString(), to: input.launchAt.toISOString() },
    });
    return sending.launchAt;
  });
  deps.log.info({ sendingId: input.sendingId, launchAt: input.launchAt }, "sending rescheduled");
  await deps.notifier
    .sendingChanged(input.sendingId, { kind: "rescheduled", by: input.userId, from, to: input.launchAt })
    .catch((error) => deps.log.error({ err: error, sendingId: input.sendingId }, "notifying a reschedule failed"));
  return { from, to: input.launchAt };
}
