import { setTimeout as sleep } from "node:timers/promises";
import type { Database } from "../../../src/db/database.js";

/** Polls until `condition` holds; fails naming `what` after `timeoutMs`. */
export async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 60_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(everyMs);
  }
}

export async function sendingStatus(db: Database, sendingId: string): Promise<string> {
  return (await db.prisma.sending.findUniqueOrThrow({ where: { id: sendingId }, select: { status: true } })).status;
}

/** Until the sending is in one of `statuses` (and returns which). */
export async function untilStatus(db: Database, sendingId: string, statuses: string[], timeoutMs = 120_000): Promise<string> {
  let status = "";
  await until(`sending ${sendingId} is ${statuses.join(" or ")}`, async () => statuses.includes((status = await sendingStatus(db, sendingId))), timeoutMs, 100);
  return status;
}

/** Every recipient of a sending as recorded, in id order. */
export function recordedRecipients(db: Database, sendingId: string) {
  return db.prisma.recipient.findMany({
    where: { sendingId },
    orderBy: { id: "asc" },
    select: { id: true, email: true, status: true, attempts: true, lastError: true },
  });
}

/** The index a fixture address carries (`r17@example.test` → 17). */
export const indexOf = (email: string) => Number(/^r(\d+)@/.exec(email)?.[1] ?? NaN);
