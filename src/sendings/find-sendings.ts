import { z } from "zod";
import { allStatuses, type SendingStatus } from "../domain/sending-status.js";
import type { UseCaseDeps } from "./support/deps.js";
import { invalidInput } from "./support/sending-input.js";
import type { RecipientOutcomes } from "./support/sending-view.js";

export const FIND_LIMIT_DEFAULT = 50;
export const FIND_LIMIT_MAX = 200;

/** One sending as an operator's list shows it: enough to decide what to pause or cancel. */
export interface FoundSending {
  id: string;
  name: string;
  status: SendingStatus;
  launchAt: Date;
  recipientCount: number;
  /** Where its recipients stand: the numbers add up to the recipient count. */
  counts: RecipientOutcomes;
  updatedAt: Date;
}

export interface FoundSendings {
  items: FoundSending[];
  /** Hand it back as `cursor` for the next page; null on the last one. */
  next: string | null;
}

/** The query as it arrives (strings from a URL or the CLI); every part optional. */
export interface FindSendingsQuery {
  /** Comma-separated statuses, e.g. "SENDING,PAUSED"; any case. */
  status?: string;
  limit?: string;
  cursor?: string;
}

/** Where a page ended: the last sending's creation time and id (the id breaks ties). */
interface Position {
  createdAt: Date;
  id: string;
}

const encodeCursor = ({ createdAt, id }: Position) => Buffer.from(JSON.stringify([createdAt.toISOString(), id])).toString("base64url");

function decodeCursor(cursor: string): Position | undefined {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown[];
    const createdAt = new Date(typeof at === "string" ? at : Number.NaN);
    return typeof id === "string" && !Number.isNaN(createdAt.getTime()) ? { createdAt, id } : undefined;
  } catch {
    return undefined;
  }
}

const querySchema = z.object({
  status: z
    .string()
    .optional()
    .transform((value, ctx): SendingStatus[] => {
      const names = (value ?? "").split(",").map((name) => name.trim()).filter(Boolean);
      const unknown = names.filter((name) => !(allStatuses as string[]).includes(name.toUpperCase()));
      if (unknown.length > 0) {
        ctx.addIssue({ code: "custom", message: `${unknown.map((name) => JSON.stringify(name)).join(", ")} is no status; use ${allStatuses.join(", ")}` });
        return z.NEVER;
      }
      return [...new Set(names.map((name) => name.toUpperCase() as SendingStatus))];
    }),
  limit: z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined) return FIND_LIMIT_DEFAULT;
      const limit = Number(value);
      if (value.trim() === "" || !Number.isInteger(limit) || limit < 1 || limit > FIND_LIMIT_MAX) {
        ctx.addIssue({ code: "custom", message: `must be a whole number from 1 to ${FIND_LIMIT_MAX}, not ${JSON.stringify(value)}` });
        return z.NEVER;
      }
      return limit;
    }),
  cursor: z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined) return undefined;
      const position = decodeCursor(value);
      if (!position) {
        ctx.addIssue({ code: "custom", message: "is not a cursor this list gave; ask for the first page without it" });
        return z.NEVER;
      }
      return position;
    }),
});

/**
 * Sendings in the given statuses (all when none are given), newest first by when they were handed
 * in, a page at a time. The order never changes under a reader: creation time and id are fixed, so
 * a page boundary holds while statuses and counts move (unlike launch dates, which are rescheduled).
 */
export async function findSendings(deps: Pick<UseCaseDeps, "db">, query: FindSendingsQuery): Promise<FoundSendings> {
  const parsed = querySchema.safeParse(query);
  if (!parsed.success) throw invalidInput(parsed.error, "list request");
  const { status, limit, cursor } = parsed.data;
  const rows = await deps.db.prisma.sending.findMany({
    where: {
      ...(status.length > 0 ? { status: { in: status } } : {}),
      ...(cursor ? { OR: [{ createdAt: { lt: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { lt: cursor.id } }] } : {}),
    },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    // One more than asked tells whether another page follows.
    take: limit + 1,
    select: { id: true, name: true, status: true, launchAt: true, recipientCount: true, createdAt: true, updatedAt: true },
  });
  const page = rows.slice(0, limit);
  const counts = await recipientCounts(deps, page.map((row) => row.id));
  const last = page.at(-1);
  return {
    items: page.map(({ createdAt: _createdAt, ...row }) => ({ ...row, counts: counts.get(row.id) ?? emptyCounts() })),
    next: rows.length > limit && last ? encodeCursor(last) : null,
  };
}

const emptyCounts = (): RecipientOutcomes => ({ queued: 0, prepared: 0, sent: 0, failed: 0, cancelled: 0 });

async function recipientCounts(deps: Pick<UseCaseDeps, "db">, sendingIds: string[]): Promise<Map<string, RecipientOutcomes>> {
  const counts = new Map<string, RecipientOutcomes>();
  if (sendingIds.length === 0) return counts;
  const groups = await deps.db.prisma.recipient.groupBy({
    by: ["sendingId", "status"],
    where: { sendingId: { in: sendingIds } },
    _count: { _all: true },
  });
  for (const group of groups) {
    const entry = counts.get(group.sendingId) ?? emptyCounts();
    entry[group.status.toLowerCase() as keyof RecipientOutcomes] = group._count._all;
    counts.set(group.sendingId, entry);
  }
  return counts;
}
