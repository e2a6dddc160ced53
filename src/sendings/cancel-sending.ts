import { AppError } from "../domain/errors.js";
import { canApply, statusLabel } from "../domain/sending-status.js";
import { assertMayControl } from "./support/authority.js";
import type { ControlDeps } from "./support/deps.js";
import { requireReason } from "./reject-sending.js";
import { applyTransition } from "../db/transition.js";
import { notifyAfterCommit } from "./support/notify-after-commit.js";
import { recordOutboxMessage } from "../db/outbox.js";

export type PreparedChoice = "drop" | "deliver";

export interface CancelInput {
  sendingId: string;
  /** Who cancelled it: a Slack user ID, or operator:<name> for an operator token (see operatorActor). */
  actor: string;
  reason: string;
  /** What becomes of the messages already prepared: dropped with the rest, or still delivered. */
  prepared: PreparedChoice;
}

export interface CancelResult {
  /** Recipients that will not get the message because of this cancel (queued ones, and prepared ones when dropped). */
  cancelledRecipients: number;
  /** Messages that were prepared when the cancel committed. */
  preparedCount: number;
  /** What happens to them; "none" when nothing was prepared. */
  prepared: PreparedChoice | "none";
}

/**
 * Cancel from pending, scheduled, sending or paused. Queued recipients are cancelled in the same
 * transaction as the status; prepared ones are cancelled too ("drop"), or left PREPARED for the
 * engine to deliver ("deliver"), which then marks the sending finished.
 */
export async function cancelSending(deps: ControlDeps, input: CancelInput): Promise<CancelResult> {
  await assertMayControl(deps, input.sendingId, input.actor);
  const reason = requireReason(input.reason);
  if (input.prepared !== "drop" && input.prepared !== "deliver") {
    throw new AppError("VALIDATION", 'Choose whether prepared messages are dropped or still delivered.', { field: "prepared" });
  }
  const { sendingId } = input;
  const current = await deps.db.prisma.sending.findUnique({ where: { id: sendingId }, select: { status: true } });
  if (!current) throw new AppError("NOT_FOUND", `Sending ${sendingId} does not exist.`);
  if (!canApply("cancel", current.status)) {
    throw new AppError("INVALID_STATE", `This sending is ${statusLabel[current.status].toLowerCase()}; it cannot be cancelled now.`, {
      status: current.status,
    });
  }

  const result = await deps.db.prisma.$transaction(async (tx) => {
    // Recipients first, the status last: its compare-and-set rolls everything back if the sending
    // moved meanwhile. A recipient the engine marks PREPARED before this commits is counted as prepared.
    const queued = await tx.recipient.updateMany({ where: { sendingId, status: "QUEUED" }, data: { status: "CANCELLED" } });
    const preparedCount =
      input.prepared === "drop"
        ? (await tx.recipient.updateMany({ where: { sendingId, status: "PREPARED" }, data: { status: "CANCELLED" } })).count
        : await tx.recipient.count({ where: { sendingId, status: "PREPARED" } });
    const cancelledRecipients = queued.count + (input.prepared === "drop" ? preparedCount : 0);
    const prepared: CancelResult["prepared"] = preparedCount > 0 ? input.prepared : "none";
    const finished = prepared !== "deliver";
    await applyTransition(
      tx,
      sendingId,
      "cancel",
      { actor: input.actor, action: "cancelled", reason, details: { prepared, preparedCount, cancelledRecipients } },
      // With prepared messages still to deliver, the engine sets finishedAt once they are out.
      { cancelPrepared: input.prepared, finishedAt: finished ? deps.clock.now() : null },
    );
    await recordOutboxMessage(tx, sendingId, { kind: "cancelled", by: input.actor, reason, prepared, preparedCount });
    return { cancelledRecipients, preparedCount, prepared };
  });

  deps.log.info({ sendingId, actor: input.actor, ...result }, "sending cancelled");
  await notifyAfterCommit(deps, sendingId, { kind: "cancelled", by: input.actor, reason, prepared: result.prepared, preparedCount: result.preparedCount });
  return result;
}
