import type { Database } from "../db/database.js";
import { AppError } from "../domain/errors.js";
import type { SendingAnalyzer } from "./support/current-analysis.js";
import { SENDING_ID } from "./support/sending-id.js";
import { recipientStatuses, summarizeAnalysis, type RecipientStatus, type SendingState } from "./support/sending-representation.js";

export type { SendingState } from "./support/sending-representation.js";

export interface GetSendingDeps {
  db: Database;
  analyzer: SendingAnalyzer;
}

/** A sending's state, recipient counts by delivery state, decisions and analysis (`GET /api/sendings/:id`). */
export async function getSending(deps: GetSendingDeps, sendingId: string): Promise<SendingState> {
  const sending = await findSending(deps.db, sendingId);
  return representSending(deps, sending);
}

type StoredSending = Awaited<ReturnType<typeof findSending>>;

/** The stored sending with its decisions; NOT_FOUND when there is none. */
export async function findSending(db: Database, sendingId: string) {
  const notFound = new AppError("NOT_FOUND", `Sending ${sendingId} does not exist.`);
  if (!SENDING_ID.test(sendingId)) throw notFound;
  const sending = await db.prisma.sending.findUnique({
    where: { id: sendingId },
    include: { decisions: { orderBy: { id: "asc" } } },
  });
  if (!sending) throw notFound;
  return sending;
}

/** The API's representation of a stored sending: its counts and analysis are read beside it. */
export async function representSending(deps: GetSendingDeps, sending: StoredSending): Promise<SendingState> {
  const groups = await deps.db.prisma.recipient.groupBy({ by: ["status"], where: { sendingId: sending.id }, _count: { _all: true } });
  const recipients = Object.fromEntries(recipientStatuses.map((status) => [status, 0])) as Record<RecipientStatus, number>;
  for (const group of groups) recipients[group.status] = group._count._all;
  const decisions = sending.decisions.map((decision) => ({
    kind: decision.kind,
    userId: decision.userId,
    reason: decision.reason,
    at: decision.createdAt,
    current: decision.contentHash === sending.contentHash,
  }));
  const analysis = summarizeAnalysis(await deps.analyzer.current(sending.id));
  return {
    id: sending.id,
    name: sending.name,
    status: sending.status,
    statusNote: sending.statusNote,
    subject: sending.subject,
    from: { name: sending.fromName, email: sending.fromEmail },
    replyTo: sending.replyTo,
    html: sending.html,
    text: sending.text,
    launchAt: sending.launchAt,
    requestedBy: sending.requestedBy,
    contentHash: sending.contentHash,
    recipientCount: sending.recipientCount,
    recipients,
    approvals: decisions.filter((decision) => decision.kind === "APPROVAL" && decision.current).length,
    decisions,
    analysis,
    createdAt: sending.createdAt,
    updatedAt: sending.updatedAt,
    startedAt: sending.startedAt,
    finishedAt: sending.finishedAt,
  };
}
