import { createHash } from "node:crypto";
import type { PendingWebhook, WebhookStore } from "../webhooks/webhook-dispatcher.js";
import type { Database } from "./database.js";
import { parseOutboxEvent } from "./outbox.js";

/**
 * Makes the database's endpoints match WEBHOOK_URLS. A URL that left the list is no longer owed
 * anything (what it was owed is given up); when the list changed, endpoints disabled by a 410 are
 * enabled again (the operator looked at it), otherwise they stay disabled across restarts.
 */
export async function syncWebhookEndpoints(db: Database, urls: readonly string[], now: Date): Promise<void> {
  const wanted = [...new Set(urls)].sort();
  const list = createHash("sha256").update(wanted.join("\n")).digest("hex").slice(0, 16);
  await db.prisma.$transaction(async (tx) => {
    for (const url of wanted) {
      const known = await tx.webhookEndpoint.findUnique({ where: { url } });
      if (!known) await tx.webhookEndpoint.create({ data: { url, list } });
      else if (known.list !== list) await tx.webhookEndpoint.update({ where: { url }, data: { list, active: true, disabledAt: null, disabledReason: null } });
      else if (!known.active) await tx.webhookEndpoint.update({ where: { url }, data: { active: true } });
    }
    const dropped = await tx.webhookEndpoint.findMany({ where: { active: true, url: { notIn: wanted } }, select: { id: true } });
    if (dropped.length === 0) return;
    const ids = dropped.map(({ id }) => id);
    await tx.webhookEndpoint.updateMany({ where: { id: { in: ids } }, data: { active: false } });
    await tx.webhookDelivery.updateMany({
      where: { endpointId: { in: ids }, deliveredAt: null, failedAt: null },
      data: { failedAt: now, lastError: "the endpoint was removed from WEBHOOK_URLS" },
    });
  });
}

const due = (now: Date) => ({
  deliveredAt: null,
  failedAt: null,
  OR: [{ nextAttemptAt: null }, { nextAttemptAt: { lte: now } }],
  endpoint: { active: true, disabledAt: null },
});

export function createWebhookStore(db: Database): WebhookStore {
  const { prisma } = db;
  return {
    async claim({ owner, now, until, limit }) {
      const rows = await prisma.webhookDelivery.findMany({
        where: due(now),
        distinct: ["sendingId"],
        select: { sendingId: true },
        orderBy: { sendingId: "asc" },
        take: limit,
      });
      const claimed: string[] = [];
      for (const { sendingId } of rows) {
        const { count } = await prisma.sending.updateMany({
          where: { id: sendingId, OR: [{ webhookUntil: null }, { webhookUntil: { lte: now } }, { webhookOwner: owner }] },
          data: { webhookOwner: owner, webhookUntil: until },
        });
        if (count > 0) claimed.push(sendingId);
      }
      return claimed;
    },

    async pending(sendingId, limit): Promise<PendingWebhook[]> {
      const rows = await prisma.webhookDelivery.findMany({
        where: { sendingId, deliveredAt: null, failedAt: null, endpoint: { active: true, disabledAt: null } },
        orderBy: { id: "asc" },
        take: limit,
        select: {
          id: true,
          sendingId: true,
          messageId: true,
          endpointId: true,
          attempts: true,
          nextAttemptAt: true,
          endpoint: { select: { url: true } },
          message: { select: { event: true, createdAt: true } },
        },
      });
      return rows.map(({ endpoint, message, ...row }) => ({ ...row, url: endpoint.url, event: parseOutboxEvent(message.event), recordedAt: message.createdAt }));
    },

    async delivered(id, at) {
      await prisma.webhookDelivery.update({ where: { id }, data: { deliveredAt: at, attempts: { increment: 1 }, lastError: null } });
    },

    async retryLater(id, error, at) {
      await prisma.webhookDelivery.update({ where: { id }, data: { attempts: { increment: 1 }, lastError: error.slice(0, 1000), nextAttemptAt: at } });
    },

    async giveUp(id, error, at) {
      await prisma.webhookDelivery.update({ where: { id }, data: { attempts: { increment: 1 }, lastError: error.slice(0, 1000), failedAt: at } });
    },

    async disable(endpointId, reason, at) {
      await prisma.$transaction([
        prisma.webhookEndpoint.update({ where: { id: endpointId }, data: { disabledAt: at, disabledReason: reason } }),
        prisma.webhookDelivery.updateMany({ where: { endpointId, deliveredAt: null, failedAt: null }, data: { failedAt: at, lastError: reason } }),
      ]);
    },

    async release(sendingId, owner) {
      await prisma.sending.updateMany({ where: { id: sendingId, webhookOwner: owner }, data: { webhookOwner: null, webhookUntil: null } });
    },
  };
}
