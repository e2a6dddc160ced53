import { assertMayControl } from "./support/authority.js";
import type { ControlDeps } from "./support/deps.js";
import { applyTransition } from "../db/transition.js";
import { notifyAfterCommit } from "./support/notify-after-commit.js";
import { recordOutboxMessage } from "../db/outbox.js";

export interface PauseInput {
  sendingId: string;
  /** Who paused it: a Slack user ID, or operator:<name> for an operator token (see operatorActor). */
  actor: string;
  reason?: string;
}

/**
 * Pause only writes the status: the delivery engine reads it before handing each message to SMTP,
 * so nothing more goes out once this commits (a message already in the server's hands finishes).
 */
export async function pauseSending(deps: ControlDeps, input: PauseInput): Promise<{ status: "PAUSED" }> {
  const reason = input.reason?.trim() || undefined;
  await assertMayControl(deps, input.sendingId, input.actor);
  await deps.db.prisma.$transaction(async (tx) => {
    await applyTransition(tx, input.sendingId, "pause", { actor: input.actor, action: "paused", reason }, { statusNote: null });
    await recordOutboxMessage(tx, input.sendingId, { kind: "paused", by: input.actor, reason });
  });
  deps.log.info({ sendingId: input.sendingId, actor: input.actor }, "sending paused");
  await notifyAfterCommit(deps, input.sendingId, { kind: "paused", by: input.actor, reason });
  return { status: "PAUSED" };
}
