import { AppError } from "../domain/errors.js";
import { reschedulable, statusLabel } from "../domain/sending-status.js";
import { assertMayControl } from "./support/authority.js";
import type { ControlDeps } from "./support/deps.js";
import { recordAudit } from "../db/transition.js";
import { notifyAfterCommit } from "./support/notify-after-commit.js";
import { recordOutboxMessage } from "../db/outbox.js";

/** "Edit launch date": allowed while pending or scheduled, never into the past. */
export async function rescheduleSending(
  deps: ControlDeps,
  input: { sendingId: string; userId: string; launchAt: Date },
): Promise<{ from: Date; to: Date }> {
  await assertMayControl(deps, input.sendingId, input.userId);
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
    await recordOutboxMessage(tx, input.sendingId, { kind: "rescheduled", by: input.userId, from: sending.launchAt, to: input.launchAt });
    return sending.launchAt;
  });
  deps.log.info({ sendingId: input.sendingId, launchAt: input.launchAt }, "sending rescheduled");
  await notifyAfterCommit(deps, input.sendingId, { kind: "rescheduled", by: input.userId, from, to: input.launchAt });
  return { from, to: input.launchAt };
}
