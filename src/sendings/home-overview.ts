import type { Database } from "../db/database.js";
import { listSendings, LIST_PAGE_SIZE, type SendingListPage } from "./list-sendings.js";
import { errorChecks, freshAnalysis } from "./support/current-analysis.js";
import type { ApprovalPolicy, ApproverDirectory } from "./support/ports.js";

/** How many sendings each part of the Home tab lists; the rest are counted and left to `/sendings`. */
export const HOME_LIST_SIZE = LIST_PAGE_SIZE;
export const HOME_RECENT_SIZE = 5;

/** A sending that waits for the viewer's approval. */
export interface AwaitingApproval {
  id: string;
  name: string;
  requestedBy: string;
  launchAt: Date;
  /** Since when it waits: handed in, or sent back to approval by a content change. */
  waitingSince: Date;
  recipientCount: number;
  /** Approvals given on the current content, and how many it needs. */
  approvals: number;
  requiredApprovals: number;
  /** Errors of the analysis that block approval until they are fixed (0 when not analysed yet). */
  blockingErrors: number;
  /** Where its approval message is, once posted. */
  card: { channel: string; ts: string } | null;
}

/** What waits for one approver: the oldest first, and why the others pending do not wait for them. */
export interface ApprovalQueue {
  items: AwaitingApproval[];
  /** How many wait for this approver in all (items holds the oldest of them). */
  total: number;
  /** Pending sendings this person requested: someone else approves those (four-eyes). */
  requestedByViewer: number;
  /** Pending sendings this person approved already, waiting for more approvers. */
  approvedByViewer: number;
}

/** The parts of the Home tab that are the same for everyone: read once for all the people it is shown to. */
export interface HomeLists {
  /** Every sending pending approval, whoever it waits for. */
  pendingTotal: number;
  scheduled: SendingListPage;
  inProgress: SendingListPage;
  recent: SendingListPage;
}

export interface HomeOverview extends HomeLists {
  /** null: the viewer is not an approver, so nothing waits for them. */
  approvals: ApprovalQueue | null;
  /** Whether the viewer is one of the configured approvers (they may steer any sending). */
  isApprover: boolean;
}

export interface HomeOverviewDeps {
  db: Database;
  approvers: ApproverDirectory;
  policy: ApprovalPolicy;
}

/** Scheduled in launch order, delivering or paused with their figures, and the latest finished, with their outcomes. */
export async function loadHomeLists(deps: Pick<HomeOverviewDeps, "db">): Promise<HomeLists> {
  const [pendingTotal, scheduled, inProgress, recent] = await Promise.all([
    deps.db.prisma.sending.count({ where: { status: "PENDING_APPROVAL" } }),
    listSendings(deps.db, "scheduled"),
    listSendings(deps.db, "in-progress"),
    listSendings(deps.db, "recent"),
  ]);
  return { pendingTotal, scheduled, inProgress, recent: { ...recent, items: recent.items.slice(0, HOME_RECENT_SIZE) } };
}

/**
 * What one person's Home tab shows: the lists everyone sees (pass them when they were read for
 * several people at once) and, for an approver, what waits for their approval.
 */
export async function loadHomeOverview(deps: HomeOverviewDeps, userId: string, lists?: HomeLists): Promise<HomeOverview> {
  const isApprover = await deps.approvers.isApprover(userId);
  const [shared, approvals] = await Promise.all([lists ?? loadHomeLists(deps), isApprover ? loadApprovalQueue(deps, userId) : null]);
  return { ...shared, approvals, isApprover };
}

/**
 * The pending sendings this approver may approve and has not: not their own request (unless
 * self-approval is allowed), no approval of theirs on the current content. Oldest handed in first.
 */
async function loadApprovalQueue(deps: HomeOverviewDeps, userId: string): Promise<ApprovalQueue> {
  const { db, policy } = deps;
  const pending = { status: "PENDING_APPROVAL" as const };
  // Approvals on earlier content were withdrawn by the change: only those on the current hash count.
  const given = await db.prisma.decision.findMany({
    where: { userId, kind: "APPROVAL", sending: pending },
    select: { sendingId: true, contentHash: true, sending: { select: { contentHash: true } } },
  });
  const approvedIds = given.filter((d) => d.contentHash === d.sending.contentHash).map((d) => d.sendingId);
  const waiting = {
    ...pending,
    ...(approvedIds.length > 0 ? { id: { notIn: approvedIds } } : {}),
    ...(policy.allowSelfApproval ? {} : { requestedBy: { not: userId } }),
  };
  const [total, requestedByViewer, rows] = await Promise.all([
    db.prisma.sending.count({ where: waiting }),
    db.prisma.sending.count({ where: { ...pending, requestedBy: userId } }),
    db.prisma.sending.findMany({
      where: waiting,
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      take: HOME_LIST_SIZE,
      select: {
        id: true,
        name: true,
        requestedBy: true,
        launchAt: true,
        createdAt: true,
        recipientCount: true,
        contentHash: true,
        analysis: true,
        analysisHash: true,
        slackChannel: true,
        slackTs: true,
      },
    }),
  ]);
  const ids = rows.map((row) => row.id);
  const [approvals, returns] = await Promise.all([
    db.prisma.decision.findMany({ where: { sendingId: { in: ids }, kind: "APPROVAL" }, select: { sendingId: true, contentHash: true } }),
    // A content change sends a scheduled sending back to approval: it waits since then, not since it was handed in.
    db.prisma.auditEvent.findMany({
      where: { sendingId: { in: ids }, toStatus: "PENDING_APPROVAL" },
      orderBy: { id: "desc" },
      select: { sendingId: true, createdAt: true },
    }),
  ]);
  const items = rows.map((row): AwaitingApproval => {
    const analysis = freshAnalysis(row);
    return {
      id: row.id,
      name: row.name,
      requestedBy: row.requestedBy,
      launchAt: row.launchAt,
      waitingSince: returns.find((event) => event.sendingId === row.id)?.createdAt ?? row.createdAt,
      recipientCount: row.recipientCount,
      approvals: approvals.filter((a) => a.sendingId === row.id && a.contentHash === row.contentHash).length,
      requiredApprovals: policy.requiredApprovals,
      blockingErrors: analysis ? errorChecks(analysis).length : 0,
      card: row.slackChannel && row.slackTs ? { channel: row.slackChannel, ts: row.slackTs } : null,
    };
  });
  return {
    items,
    total,
    requestedByViewer: policy.allowSelfApproval ? 0 : requestedByViewer,
    approvedByViewer: approvedIds.length,
  };
}
