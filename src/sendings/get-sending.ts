import { AppError } from "../domain/errors.js";
import type { SendingStatus } from "../domain/sending-status.js";
import type { UseCaseDeps } from "./support/deps.js";
import { SENDING_ID } from "./support/sending-id.js";

export const recipientStatuses = ["QUEUED", "PREPARED", "SENT", "FAILED", "CANCELLED"] as const;
export type RecipientStatus = (typeof recipientStatuses)[number];

/** A sending's state as the intake API reports it. */
export interface SendingState {
  id: string;
  name: string;
  status: SendingStatus;
  statusNote: string | null;
  subject: string;
  from: { name: string | null; email: string };
  replyTo: string | null;
  html: string;
  text: string | null;
  launchAt: Date;
  requestedBy: string;
  contentHash: string;
  recipientCount: number;
  /** How many recipients are in each delivery state. */
  recipients: Record<RecipientStatus, number>;
  /** Approvals on the current content; earlier ones were withdrawn by a content change. */
  approvals: number;
  decisions: { kind: "APPROVAL" | "REJECTION"; userId: string; reason: string | null; at: Date; current: boolean }[];
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export async function getSending(deps: Pick<UseCaseDeps, "db">, sendingId: string): Promise<SendingState> {
  const { prisma } = deps.db;
  const notFound = new AppError("NOT_FOUND", `Sending ${sendingId} does not exist.`);
  if (!SENDING_ID.test(sendingId)) throw notFound;
  const sending = await prisma.sending.findUnique({
    where: { id: sendingId },
    include: { decisions: { orderBy: { id: "asc" } } },
  });
  if (!sending) throw notFound;
  const groups = await prisma.recipient.groupBy({ by: ["status"], where: { sendingId }, _count: { _all: true } });
  const recipients = Object.fromEntries(recipientStatuses.map((status) => [status, 0])) as Record<RecipientStatus, number>;
  for (const group of groups) recipients[group.status] = group._count._all;
  const decisions = sending.decisions.map((decision) => ({
    kind: decision.kind,
    userId: decision.userId,
    reason: decision.reason,
    at: decision.createdAt,
    current: decision.contentHash === sending.contentHash,
  }));
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
    createdAt: sending.createdAt,
    updatedAt: sending.updatedAt,
    startedAt: sending.startedAt,
    finishedAt: sending.finishedAt,
  };
}
