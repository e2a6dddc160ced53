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
  return (await readSending(deps, sendingId)).state;
}

/** The stored sending and the API's representation of it, read together: PUT checks what it is sent against the one and changes the other. */
export async function readSending(deps: GetSendingDeps, sendingId: string) {
  const notFound = new AppError("NOT_FOUND", `Sending ${sendingId} does not exist.`);
  if (!SENDING_ID.test(sendingId)) throw notFound;
  // The analysis first: making it stores it on the row, which moves updatedAt; the row read after it is the latest.
  const analysis = summarizeAnalysis(await deps.analyzer.current(sendingId));
  const stored = await deps.db.prisma.sending.findUnique({
    where: { id: sendingId },
    include: { decisions: { orderBy: { id: "asc" } } },
  });
  if (!stored) throw notFound;
  const groups = await deps.db.prisma.recipient.groupBy({ by: ["status"], where: { sendingId }, _count: { _all: true } });
  const recipients = Object.fromEntries(recipientStatuses.map((status) => [status, 0])) as Record<RecipientStatus, number>;
  for (const group of groups) recipients[group.status] = group._count._all;
  const decisions = stored.decisions.map((decision) => ({
    kind: decision.kind,
    userId: decision.userId,
    reason: decision.reason,
    at: decision.createdAt,
    current: decision.contentHash === stored.contentHash,
  }));
  const state: SendingState = {
    id: stored.id,
    name: stored.name,
    status: stored.status,
    statusNote: stored.statusNote,
    subject: stored.subject,
    from: { name: stored.fromName, email: stored.fromEmail },
    replyTo: stored.replyTo,
    html: stored.html,
    text: stored.text,
    launchAt: stored.launchAt,
    requestedBy: stored.requestedBy,
    contentHash: stored.contentHash,
    recipientCount: stored.recipientCount,
    recipients,
    approvals: decisions.filter((decision) => decision.kind === "APPROVAL" && decision.current).length,
    decisions,
    analysis,
    createdAt: stored.createdAt,
    updatedAt: stored.updatedAt,
    startedAt: stored.startedAt,
    finishedAt: stored.finishedAt,
  };
  return { stored, state };
}
