import type { OutboxStore, PendingOutboxMessage, SendingEvent } from "../sendings/support/ports.js";
import type { Database, Tx } from "./database.js";
import { isWebhookEvent } from "../webhooks/webhook-event.js";

/**
 * The transactional outbox: what sendgate owes the outside world about a sending is written with the
 * change that causes it, so a crash or a Slack outage between the commit and the telling loses nothing.
 */
export async function recordOutboxMessage(tx: Tx, sendingId: string, event: SendingEvent): Promise<void> {
  const { id } = await tx.outboxMessage.create({ data: { sendingId, event: JSON.stringify(event) }, select: { id: true } });
  await recordWebhookDeliveries(tx, sendingId, id, event);
}

/**
 * Owes the event of an outbox message to every enabled endpoint, in the transaction that records the
 * change: a crash after the commit loses nothing, and an endpoint configured later is not sent history.
 */
async function recordWebhookDeliveries(tx: Tx, sendingId: string, messageId: number, event: SendingEvent): Promise<void> {
  if (!isWebhookEvent(event)) return;
  const endpoints = await tx.webhookEndpoint.findMany({ where: { active: true, disabledAt: null }, select: { id: true } });
  if (endpoints.length === 0) return;
  await tx.webhookDelivery.createMany({ data: endpoints.map(({ id }) => ({ messageId, endpointId: id, sendingId })) });
}

/** Dates travel as ISO text; these are the fields of SendingEvent that hold one. */
const DATE_FIELDS = ["from", "to", "launchAt"] as const;

export function parseOutboxEvent(text: string): SendingEvent {
  const event = JSON.parse(text) as Record<string, unknown> & { progress?: Record<string, unknown> };
  for (const field of DATE_FIELDS) if (typeof event[field] === "string") event[field] = new Date(event[field] as string);
  if (event.progress && typeof event.progress.startedAt === "string") event.progress.startedAt = new Date(event.progress.startedAt);
  return event as unknown as SendingEvent;
}

export function createOutboxStore(db: Database): OutboxStore {
  const { prisma } = db;
  return {
    async record(sendingId, event) {
      await prisma.$transaction((tx) => recordOutboxMessage(tx, sendingId, event));
    },

    async claim({ owner, now, until, limit }) {
      const due = await prisma.outboxMessage.findMany({
        where: { deliveredAt: null, OR: [{ nextAttemptAt: null }, { nextAttemptAt: { lte: now } }] },
        distinct: ["sendingId"],
        select: { sendingId: true },
        orderBy: { sendingId: "asc" },
        take: limit,
      });
      const claimed: string[] = [];
      for (const { sendingId } of due) {
        // Compare-and-set, as the delivery lease: one process at a time tells a sending's story, in order.
        const { count } = await prisma.sending.updateMany({
          where: { id: sendingId, OR: [{ outboxUntil: null }, { outboxUntil: { lte: now } }, { outboxOwner: owner }] },
          data: { outboxOwner: owner, outboxUntil: until },
        });
        if (count > 0) claimed.push(sendingId);
      }
      return claimed;
    },

    async pending(sendingId, limit): Promise<PendingOutboxMessage[]> {
      const rows = await prisma.outboxMessage.findMany({
        where: { sendingId, deliveredAt: null },
        orderBy: { id: "asc" },
        take: limit,
        select: { id: true, event: true, attempts: true, nextAttemptAt: true },
      });
      return rows.map((row) => ({ ...row, event: parseOutboxEvent(row.event) }));
    },

    async delivered(id, at) {
      await prisma.outboxMessage.update({ where: { id }, data: { deliveredAt: at, attempts: { increment: 1 }, lastError: null } });
    },

    async failed(id, error, retryAt, now) {
      // No retry time: given up (a refusal retrying cannot fix); marked delivered so the story goes on.
      await prisma.outboxMessage.update({
        where: { id },
        data: { attempts: { increment: 1 }, lastError: error.slice(0, 1000), nextAttemptAt: retryAt, deliveredAt: retryAt ? null : now },
      });
    },

    async release(sendingId, owner) {
      await prisma.sending.updateMany({ where: { id: sendingId, outboxOwner: owner }, data: { outboxOwner: null, outboxUntil: null } });
    },

    async undelivered() {
      return prisma.outboxMessage.count({ where: { deliveredAt: null } });
    },
  };
}
