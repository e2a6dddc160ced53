import type { Database } from "../db/database.js";
import type { SendingStatus } from "../domain/sending-status.js";

export const sendingLists = {
  pending: { statuses: ["PENDING_APPROVAL"], order: "launchAt" },
  scheduled: { statuses: ["SCHEDULED"], order: "launchAt" },
  "in-progress": { statuses: ["SENDING", "PAUSED"], order: "launchAt" },
  recent: { statuses: ["COMPLETED", "REJECTED", "CANCELLED"], order: "updatedAt" },
} as const satisfies Record<string, { statuses: SendingStatus[]; order: "launchAt" | "updatedAt" }>;

export type SendingListName = keyof typeof sendingLists;

export interface SendingListItem {
  id: string;
  name: string;
  status: SendingStatus;
  launchAt: Date;
  requestedBy: string;
  recipientCount: number;
  updatedAt: Date;
  /** When it was finished: delivered, or cancelled with nothing left to deliver. */
  finishedAt: Date | null;
  /** Delivered and failed so far (in-progress), or in the end (recent). */
  sent: number;
  failed: number;
}

export interface SendingListPage {
  list: SendingListName;
  page: number;
  pageSize: number;
  total: number;
  items: SendingListItem[];
}

export const LIST_PAGE_SIZE = 10;

export async function listSendings(db: Database, list: SendingListName, page = 1): Promise<SendingListPage> {
  const { statuses, order } = sendingLists[list];
  const where = { status: { in: [...statuses] } };
  const safePage = Math.max(1, Math.floor(page));
  const [total, rows] = await Promise.all([
    db.prisma.sending.count({ where }),
    db.prisma.sending.findMany({
      where,
      orderBy: order === "launchAt" ? { launchAt: "asc" } : { updatedAt: "desc" },
      skip: (safePage - 1) * LIST_PAGE_SIZE,
      take: LIST_PAGE_SIZE,
      select: { id: true, name: true, status: true, launchAt: true, requestedBy: true, recipientCount: true, updatedAt: true, finishedAt: true },
    }),
  ]);
  const counted = list === "in-progress" || list === "recent";
  const progress = counted && rows.length > 0 ? await deliveryCounts(db, rows.map((r) => r.id)) : new Map();
  return {
    list,
    page: safePage,
    pageSize: LIST_PAGE_SIZE,
    total,
    items: rows.map((row) => ({ ...row, sent: progress.get(row.id)?.sent ?? 0, failed: progress.get(row.id)?.failed ?? 0 })),
  };
}

async function deliveryCounts(db: Database, sendingIds: string[]) {
  const groups = await db.prisma.recipient.groupBy({
    by: ["sendingId", "status"],
    where: { sendingId: { in: sendingIds }, status: { in: ["SENT", "FAILED"] } },
    _count: { _all: true },
  });
  const counts = new Map<string, { sent: number; failed: number }>();
  for (const group of groups) {
    const entry = counts.get(group.sendingId) ?? { sent: 0, failed: 0 };
    if (group.status === "SENT") entry.sent = group._count._all;
    else entry.failed = group._count._all;
    counts.set(group.sendingId, entry);
  }
  return counts;
}
