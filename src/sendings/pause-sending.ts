import { AppError } from "../domain/errors.js";
import type { UseCaseDeps } from "./deps.js";
import { applyTransition } from "../db/transition.js";

export interface PauseInput {
  sendingId: string;
  /** Slack user ID of who paused it. */
  actor: string;
  reason?: string;
}

/**
 * Pause only writes the status: the delivery engine reads it before handing each message to SMTP,
 * so nothing more goes out once this commits (a message already in the server's hands finishes).
 */
export async function pauseSending(deps: UseCaseDeps, input: PauseInput): Promise<{ status: "PAUSED" }> {
  const reason = input.reason?.trim() || undefined;
  const sending = await deps.db.prisma.sending.findUnique({ where: { id: input.sendingId }, select: { id: true } });
  if (!sending) throw new AppError("NOT_FOUND", `Sending ${input.sendingId} does not exist.`);
  await deps.db.prisma.$transaction((tx) =>
    applyTransition(tx, input.sendingId, "pause", { actor: input.actor, action: "paused", reason }, { statusNote: null }),
  );
  deps.log.info({ sendingId: input.sendingId, actor: input.actor }, "sending paused");
  await deps.notifier
    .sendingChanged(input.sendingId, { kind: "paused", by: input.actor, reason })
    .catch((error) => deps.log.error({ err: error, sendingId: input.sendingId }, "notifying a pause failed"));
  return { status: "PAUSED" };
}
