import type { Database } from "../../db/database.js";
import { AppError } from "../../domain/errors.js";
import type { SendingStatus } from "../../domain/sending-status.js";
import type { Analysis } from "../../mail/analysis/index.js";
import { parseVars } from "../../mail/message.js";
import { compileSending } from "../../mail/templates.js";
import { freshAnalysis } from "./current-analysis.js";

import type { RecipientOutcomes } from "./ports.js";

export type { RecipientOutcomes } from "./ports.js";

/** Everything the Slack surfaces show about one sending, read in one place. */
export interface SendingView {
  id: string;
  name: string;
  subject: string;
  fromName: string | null;
  fromEmail: string;
  replyTo: string | null;
  launchAt: Date;
  /** When delivery first started and when it finished, once they have. */
  startedAt: Date | null;
  finishedAt: Date | null;
  requestedBy: string;
  status: SendingStatus;
  statusNote: string | null;
  contentHash: string;
  recipientCount: number;
  /** Rendered ahead of delivery and not yet handed to SMTP; the cancel modal asks what becomes of them. */
  preparedCount: number;
  outcomes: RecipientOutcomes;
  /** The most frequent failure reasons, most frequent first (only when some failed). */
  failureReasons: { reason: string; count: number }[];
  /** The subject as the first recipient gets it; null when it has no variables or does not render. */
  exampleSubject: string | null;
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
  const outcomes = await recipientOutcomes(db, sendingId);
  const preparedCount = outcomes.prepared;
  const failureReasons = outcomes.failed > 0 ? await mainFailureReasons(db, sendingId) : [];
  const exampleSubject = sending.subject.includes("{{") ? await renderExampleSubject(db, sending) : null;
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
    startedAt: sending.startedAt,
    finishedAt: sending.finishedAt,
    requestedBy: sending.requestedBy,
    status: sending.status,
    statusNote: sending.statusNote,
    contentHash: sending.contentHash,
    recipientCount: sending.recipientCount,
    preparedCount,
    outcomes,
    failureReasons,
    exampleSubject,
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

async function recipientOutcomes(db: Database, sendingId: string): Promise<RecipientOutcomes> {
  const groups = await db.prisma.recipient.groupBy({ by: ["status"], where: { sendingId }, _count: { _all: true } });
  const outcomes: RecipientOutcomes = { queued: 0, prepared: 0, sent: 0, failed: 0, cancelled: 0 };
  for (const group of groups) outcomes[group.status.toLowerCase() as keyof RecipientOutcomes] = group._count._all;
  return outcomes;
}

async function mainFailureReasons(db: Database, sendingId: string): Promise<{ reason: string; count: number }[]> {
  const groups = await db.prisma.recipient.groupBy({
    by: ["lastError"],
    where: { sendingId, status: "FAILED" },
    _count: { _all: true },
    orderBy: { _count: { lastError: "desc" } },
    take: 3,
  });
  return groups.map((group) => ({ reason: group.lastError ?? "unknown", count: group._count._all }));
}

/** The first recipient's subject, so approvers see what a reader sees beside the template. */
async function renderExampleSubject(db: Database, sending: { id: string; subject: string }): Promise<string | null> {
  const first = await db.prisma.recipient.findFirst({ where: { sendingId: sending.id }, orderBy: { id: "asc" }, select: { email: true, vars: true } });
  if (!first) return null;
  try {
    return compileSending({ subject: sending.subject, html: "", text: null }).render({ email: first.email, ...parseVars(first.vars) }).subject;
  } catch {
    return null;
  }
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
