import type { Database } from "../../db/database.js";
import { AppError } from "../../domain/errors.js";
import type { SendingStatus } from "../../domain/sending-status.js";
import type { Analysis } from "../../mail/analysis/index.js";
import { freshAnalysis } from "./current-analysis.js";

/** Everything the Slack surfaces show about one sending, read in one place. */
export interface SendingView {
  id: string;
  name: string;
  subject: string;
  fromName: string | null;
  fromEmail: string;
  replyTo: string | null;
  launchAt: Date;
  requestedBy: string;
  status: SendingStatus;
  statusNote: string | null;
  contentHash: string;
  recipientCount: number;
  /** Rendered ahead of delivery and not yet handed to SMTP; the cancel modal asks what becomes of them. */
  preparedCount: number;
  slackChannel: string | null;
  slackTs: string | null;
  progressTs: string | null;
  /** Approvals given on the current content, oldest first. */
  approvals: { userId: string; at: Date }[];
  rejection: { userId: string; reason: string; at: Date } | null;
  /** The latest audited change, for the status line ("Approved by @ann at 10:02"). */
  lastEvent: { actor: string; action: string; reason: string | null; at: Date } | null;
  requiredApprovals: number;
  /** The analysis of the current content, when it has been made. */
  analysis: Analysis | null;
}

export async function loadSendingView(db: Database, sendingId: string, requiredApprovals: number): Promise<SendingView> {
  const sending = await db.prisma.sending.findUnique({
    where: { id: sendingId },
    include: {
      decisions: { orderBy: { id: "asc" } },
      events: { orderBy: { id: "desc" }, take: 1 },
    },
  });
  if (!sending) throw new AppError("NOT_FOUND", `Sending ${sendingId} does not exist.`);
  const preparedCount = await db.prisma.recipient.count({ where: { sendingId, status: "PREPARED" } });
  const approvals = sending.decisions
    .filter((d) => d.kind === "APPROVAL" && d.contentHash === sending.contentHash)
    .map((d) => ({ userId: d.userId, at: d.createdAt }));
  const rejected = sending.decisions.findLast((d) => d.kind === "REJECTION");
  const last = sending.events[0];
  return {
    id: sending.id,
    name: sending.name,
    subject: sending.subject,
    fromName: sending.fromName,
    fromEmail: sending.fromEmail,
    replyTo: sending.replyTo,
    launchAt: sending.launchAt,
    requestedBy: sending.requestedBy,
    status: sending.status,
    statusNote: sending.statusNote,
    contentHash: sending.contentHash,
    recipientCount: sending.recipientCount,
    preparedCount,
    slackChannel: sending.slackChannel,
    slackTs: sending.slackTs,
    progressTs: sending.progressTs,
    approvals,
    rejection: rejected ? { userId: rejected.userId, reason: rejected.reason ?? "", at: rejected.createdAt } : null,
    lastEvent: last ? { actor: last.actor, action: last.action, reason: last.reason, at: last.createdAt } : null,
    requiredApprovals,
    analysis: freshAnalysis(sending),
  };
}

/** Remembers where a sending's approval message lives, so later changes update it in place. */
export async function recordSlackMessage(db: Database, sendingId: string, channel: string, ts: string) {
  await db.prisma.sending.update({ where: { id: sendingId }, data: { slackChannel: channel, slackTs: ts } });
}

export async function recordProgressMessage(db: Database, sendingId: string, ts: string) {
  await db.prisma.sending.update({ where: { id: sendingId }, data: { progressTs: ts } });
}

/** Pending sendings whose approval message was never posted (Slack was down when they arrived). */
export async function findUnpostedSendings(db: Database): Promise<string[]> {
  const rows = await db.prisma.sending.findMany({
    where: { slackTs: null, status: { in: ["PENDING_APPROVAL", "SCHEDULED"] } },
    select: { id: true },
    orderBy: { createdAt: "asc" },
    take: 50,
  });
  return rows.map((r) => r.id);
}

/** What Slack (or any surface) reads and records about a sending: the port it holds instead of the database. */
export interface SendingViews {
  load(sendingId: string): Promise<SendingView>;
  /** Remembers where a sending's approval message lives, so later changes update it in place. */
  recordApprovalMessage(sendingId: string, channel: string, ts: string): Promise<void>;
  recordProgressMessage(sendingId: string, ts: string): Promise<void>;
  /** Pending sendings whose approval message was never posted (Slack was down when they arrived). */
  unposted(): Promise<string[]>;
}

export function createSendingViews(db: Database, requiredApprovals: number): SendingViews {
  return {
    load: (sendingId) => loadSendingView(db, sendingId, requiredApprovals),
    recordApprovalMessage: (sendingId, channel, ts) => recordSlackMessage(db, sendingId, channel, ts),
    recordProgressMessage: (sendingId, ts) => recordProgressMessage(db, sendingId, ts),
    unposted: () => findUnpostedSendings(db),
  };
}
