// One sendgate process running the reminder job once, at the instant it is given, then reporting
// what it reminded and what its notifier was told.
import { pino } from "pino";
import { openDatabase } from "../../../src/db/database.js";
import type { SendingEvent } from "../../../src/sendings/support/ports.js";
import { remindApprovers } from "../../../src/sendings/remind-approvers.js";

const db = await openDatabase(process.env.DATABASE_URL as string);
const now = new Date(process.env.NOW as string);
const told: { sendingId: string; event: SendingEvent }[] = [];
const notifier = {
  sendingChanged: async (sendingId: string, event: SendingEvent) => void told.push({ sendingId, event }),
  deliveryProgress: () => {},
};
// Every process starts at the same moment: connected, it says so and waits for the parent's signal.
await db.prisma.sending.count();
const go = new Promise((resolve) => process.once("message", resolve));
process.send?.({ ready: true });
await go;
const reminded = await remindApprovers({ db, notifier, clock: { now: () => now }, log: pino({ level: "silent" }) }, { before: 120 });
process.send?.({ reminded: reminded.map((r) => r.sendingId), told: told.map((t) => t.sendingId) });
await db.close();
process.disconnect?.();
