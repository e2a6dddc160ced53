import { allStatuses, type SendingStatus } from "../domain/sending-status.js";
import type { UseCaseDeps } from "./support/deps.js";

/** How many sendings are in each status, every status listed (for the metrics gauge). */
export async function countSendingsByStatus(deps: Pick<UseCaseDeps, "db">): Promise<Record<SendingStatus, number>> {
  const groups = await deps.db.prisma.sending.groupBy({ by: ["status"], _count: { _all: true } });
  const counts = Object.fromEntries(allStatuses.map((status) => [status, 0])) as Record<SendingStatus, number>;
  for (const group of groups) counts[group.status] = group._count._all;
  return counts;
}

/** Messages rendered and waiting for the mail server, across every sending (the metrics' queue depth). */
export async function countPreparedMessages(deps: Pick<UseCaseDeps, "db">): Promise<number> {
  return deps.db.prisma.recipient.count({ where: { status: "PREPARED" } });
}
