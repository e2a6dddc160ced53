import type { Tx } from "../../db/database.js";
import { AppError } from "../../domain/errors.js";
import type { SendingContent } from "../../domain/content-hash.js";
import { editable, statusLabel, type SendingStatus } from "../../domain/sending-status.js";
import { applyTransition, recordAudit, type AuditEntry } from "../../db/transition.js";

/** Who changed a sending through the API when the request names no Slack user. */
export const API_ACTOR = "api";

export function contentOf(sending: SendingContent): SendingContent {
  return {
    subject: sending.subject,
    fromName: sending.fromName,
    fromEmail: sending.fromEmail,
    replyTo: sending.replyTo,
    html: sending.html,
    text: sending.text,
  };
}

/**
 * Takes the sending's row for the rest of the transaction if its content may still change (a row
 * lock on PostgreSQL, the write lock on SQLite), so concurrent approvals and changes queue behind it.
 */
export async function lockEditableSending(tx: Tx, sendingId: string, now: Date): Promise<void> {
  const { count } = await tx.sending.updateMany({
    where: { id: sendingId, status: { in: [...editable] } },
    data: { updatedAt: now },
  });
  if (count === 0) throw await notEditable(tx, sendingId);
}

export async function notEditable(tx: Pick<Tx, "sending">, sendingId: string): Promise<AppError> {
  const sending = await tx.sending.findUnique({ where: { id: sendingId }, select: { status: true } });
  if (!sending) return new AppError("NOT_FOUND", `Sending ${sendingId} does not exist.`);
  return notEditableIn(sending.status);
}

export function notEditableIn(status: SendingStatus): AppError {
  return new AppError(
    "CONFLICT",
    `This sending is ${statusLabel[status].toLowerCase()}; its content and recipients can change only while it is pending approval or scheduled.`,
    { status },
  );
}

/**
 * Records a change of the content hash: approvals given on the old hash no longer count, and a
 * scheduled sending goes back to pending approval. One audit row either way.
 */
export async function recordContentChange(
  tx: Tx,
  sending: { id: string; status: SendingStatus; contentHash: string },
  audit: AuditEntry,
): Promise<{ approvalsWithdrawn: number; status: SendingStatus }> {
  const approvalsWithdrawn = await tx.decision.count({
    where: { sendingId: sending.id, kind: "APPROVAL", contentHash: sending.contentHash },
  });
  const details = { ...audit.details, approvalsWithdrawn };
  if (sending.status === "SCHEDULED") {
    const { to } = await applyTransition(tx, sending.id, "withdrawApproval", { ...audit, details });
    return { approvalsWithdrawn, status: to };
  }
  await recordAudit(tx, sending.id, { ...audit, details });
  return { approvalsWithdrawn, status: sending.status };
}
