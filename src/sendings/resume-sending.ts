import { assertMayControl } from "./support/authority.js";
import type { ControlDeps } from "./support/deps.js";
import { applyTransition } from "../db/transition.js";
import { notifyAfterCommit } from "./support/notify-after-commit.js";
import { recordOutboxMessage } from "../db/outbox.js";

/**
 * Back to SENDING; the engine's next tick continues from where it stopped: what was prepared goes
 * first, then the queue in id order. Also how a late launch is delivered now.
 */
export async function resumeSending(
  deps: ControlDeps,
  input: { sendingId: string; actor: string },
): Promise<{ status: "SENDING" }> {
  await assertMayControl(deps, input.sendingId, input.actor);
  await deps.db.prisma.$transaction(async (tx) => {
    await applyTransition(tx, input.sendingId, "resume", { actor: input.actor, action: "resumed" }, { statusNote: null });
    await recordOutboxMessage(tx, input.sendingId, { kind: "resumed", by: input.actor });
  });
  deps.log.info({ sendingId: input.sendingId, actor: input.actor }, "sending resumed");
  await notifyAfterCommit(deps, input.sendingId, { kind: "resumed", by: input.actor });
  return { status: "SENDING" };
}
