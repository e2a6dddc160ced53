import type { Database } from "../db/database.js";
import { AppError } from "../domain/errors.js";

/** How many messages are rendered and waiting for delivery now: the N the Cancel modal asks about. */
export async function countPrepared(db: Database, sendingId: string): Promise<number> {
  const sending = await db.prisma.sending.findUnique({ where: { id: sendingId }, select: { id: true } });
  if (!sending) throw new AppError("NOT_FOUND", `Sending ${sendingId} does not exist.`);
  return db.prisma.recipient.count({ where: { sendingId, status: "PREPARED" } });
}
