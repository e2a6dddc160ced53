import { AppError } from "../domain/errors.js";
import type { UseCaseDeps } from "./deps.js";
import { applyTransition } from "../db/transition.js";

/**
 * Back to SENDING; the engine's next tick continues from where it stopped: what was prepared goes
 * first, then the queue in id order. Also how a late launch is delivered now.
 */
export async function resumeSending(
  deps: UseCaseDeps,
  input: { sendingId: string; actor: string },
): Promise<{ status: "SENDING" }> {
  const sending = await deps.db.prisma.sending.findUnique({ where: { id: input.sendingId }, select: { id: true } });
  if (!sending) throw new AppError("NOT_FOUND", `Sending ${input.sendingId} does not exist.`);
  await deps.db.prisma.$transaction((tx) =>
    applyTransition(tx, input.sendingId, "resume", { actor: input.actor, action: "resumed" }, { statusNote: null }),
  );
  deps.log.info({ sendingId: input.sendingId, actor: input.actor }, "sending resumed");
  await deps.notifier
    .sendingChanged(input.sendingId, { kind: "resumed", by: input.actor })
    .catch((error) => deps.log.error({ err: error, sendingId: input.sendingId }, "notifying a resume failed"));
  return { status: "SENDING" };
}
