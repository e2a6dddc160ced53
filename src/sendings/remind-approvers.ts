import type { UseCaseDeps } from "./support/deps.js";
import { recordAudit } from "../db/transition.js";
import { notifyAfterCommit } from "./support/notify-after-commit.js";
import { recordOutboxMessage } from "../db/outbox.js";

export interface Reminder {
  sendingId: string;
  launchAt: Date;
}

/** Reminders are sendgate's own doing, audited like the engine's changes. */
const SYSTEM_ACTOR = "system";

/**
 * Pings the approvers, once, about each sending still pending approval `before` minutes ahead of
 * its launch (or already past it). Safe to run from several processes at once: each reminder is
 * claimed by a compare-and-set on `remindedAt`, so exactly one of them writes it and tells the
 * notifier. A sending rescheduled to a later date is reminded again before its new launch, since
 * the earlier reminder was given before that launch's window opened.
 */
export async function remindApprovers(deps: UseCaseDeps, options: { before: number }): Promise<Reminder[]> {
  const { db, clock } = deps;
  const now = clock.now();
  const windowMs = options.before * 60_000;
  const candidates = await db.prisma.sending.findMany({
    where: { status: "PENDING_APPROVAL", launchAt: { lte: new Date(now.getTime() + windowMs) } },
    orderBy: { launchAt: "asc" },
    select: { id: true, launchAt: true, remindedAt: true },
  });
  const due = candidates.filter((s) => !s.remindedAt || s.remindedAt.getTime() < s.launchAt.getTime() - windowMs);

  const reminded: Reminder[] = [];
  for (const sending of due) {
    const claimed = await db.prisma.$transaction(async (tx) => {
      const { count } = await tx.sending.updateMany({
        where: { id: sending.id, status: "PENDING_APPROVAL", launchAt: sending.launchAt, remindedAt: sending.remindedAt },
        data: { remindedAt: now },
      });
      if (count === 0) return false; // another process reminded it, or it was decided or rescheduled meanwhile
      await recordAudit(tx, sending.id, {
        actor: SYSTEM_ACTOR,
        action: "reminded",
        details: { launchAt: sending.launchAt.toISOString(), beforeMinutes: options.before },
      });
      await recordOutboxMessage(tx, sending.id, { kind: "reminder", launchAt: sending.launchAt });
      return true;
    });
    if (!claimed) continue;
    reminded.push({ sendingId: sending.id, launchAt: sending.launchAt });
    deps.log.info({ sendingId: sending.id, launchAt: sending.launchAt }, "approvers reminded");
    await notifyAfterCommit(deps, sending.id, { kind: "reminder", launchAt: sending.launchAt });
  }
  return reminded;
}
