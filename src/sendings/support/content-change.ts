import type { Tx } from "../../db/database.js";
import { AppError } from "../../domain/errors.js";
import { contentHash, type SendingContent } from "../../domain/content-hash.js";
import { editable, statusLabel, type SendingStatus } from "../../domain/sending-status.js";
import { applyTransition, recordAudit, type AuditEntry } from "../../db/transition.js";
import type { UseCaseDeps } from "./deps.js";
import { notifyAfterCommit } from "./notify-after-commit.js";
import type { FieldChange } from "./ports.js";
import { recordOutboxMessage } from "../../db/outbox.js";

/** Who appended recipients through the API when the request names no Slack user (the append is not told the token's name). */
export const API_ACTOR = "api";

/** Who changed a sending through the API with the token of this name, as the audit and Slack show it. */
export const apiActor = (tokenName: string) => `api:${tokenName}`;

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

/** Everything a content change may set: what recipients receive, plus the name and the launch date. */
export interface SendingRevision extends SendingContent {
  name: string;
  launchAt: Date;
}

/** What a change through the API did. */
export interface ContentChangeResult {
  sendingId: string;
  /** The stored fields whose value differs from before; empty when the request changed nothing. */
  changed: string[];
  /** The same, as people read it: `from` and `to` for short fields only (see FieldChange). */
  changes: FieldChange[];
  status: SendingStatus;
  contentHash: string;
  approvalsWithdrawn: number;
}

/** The sending as read before the change: the change is computed from it and compared-and-set on it. */
export type SendingBeforeChange = SendingRevision & { id: string; status: SendingStatus; contentHash: string; recipientsDigest: string };

const REVISION_FIELDS = ["subject", "fromName", "fromEmail", "replyTo", "html", "text", "name", "launchAt"] as const;

const valueOf = (revision: SendingRevision, field: (typeof REVISION_FIELDS)[number]) =>
  field === "launchAt" ? revision.launchAt.getTime() : revision[field];

const address = (name: string | null, email: string) => (name ? `${name} <${email}>` : email);

/** A short field's change with what it was and became; a value that is absent is left out. */
function shortChange(field: string, from: string | null, to: string | null): FieldChange {
  return { field, ...(from === null ? {} : { from }), ...(to === null ? {} : { to }) };
}

/** The fields that differ: as stored (`changed`), and as told to the people reading about it (`changes`). */
export function describeRevision(before: SendingRevision, after: SendingRevision): { changed: string[]; changes: FieldChange[] } {
  const changed: string[] = REVISION_FIELDS.filter((field) => valueOf(before, field) !== valueOf(after, field));
  const differs = (field: (typeof REVISION_FIELDS)[number]) => changed.includes(field);
  const changes: FieldChange[] = [];
  if (differs("subject")) changes.push(shortChange("subject", before.subject, after.subject));
  if (differs("fromName") || differs("fromEmail")) {
    changes.push(shortChange("from", address(before.fromName, before.fromEmail), address(after.fromName, after.fromEmail)));
  }
  if (differs("replyTo")) changes.push(shortChange("replyTo", before.replyTo, after.replyTo));
  // Bodies are long and may be personal: only that they changed is told.
  if (differs("html")) changes.push({ field: "html" });
  if (differs("text")) changes.push({ field: "text" });
  if (differs("name")) changes.push(shortChange("name", before.name, after.name));
  if (differs("launchAt")) changes.push(shortChange("launchAt", before.launchAt.toISOString(), after.launchAt.toISOString()));
  return { changed, changes };
}

/**
 * Stores a sending's new content, name and launch date, as one compare-and-set on what it was
 * computed from, with its audit row, then tells Slack. A change of what recipients receive changes
 * the content hash: earlier approvals no longer count and a scheduled sending goes back for approval.
 * Name and launch date alone keep the approvals. Changing nothing writes nothing.
 */
export async function commitContentChange(
  deps: UseCaseDeps,
  sending: SendingBeforeChange,
  next: SendingRevision,
  who: { actor: string; via: string },
): Promise<ContentChangeResult> {
  const { db, clock, log } = deps;
  const sendingId = sending.id;
  const { changed, changes } = describeRevision(sending, next);
  if (changed.length === 0) {
    return { sendingId, changed, changes, status: sending.status, contentHash: sending.contentHash, approvalsWithdrawn: 0 };
  }
  const { name, launchAt, ...content } = next;
  const hash = contentHash(content, sending.recipientsDigest);

  const outcome = await db.prisma.$transaction(async (tx) => {
    await lockEditableSending(tx, sendingId, clock.now());
    // Compare-and-set on what this change was computed from: a concurrent change or append wins, this one is refused.
    const { count } = await tx.sending.updateMany({
      where: { id: sendingId, contentHash: sending.contentHash, recipientsDigest: sending.recipientsDigest },
      data: { ...content, name, launchAt, contentHash: hash },
    });
    if (count === 0) {
      throw new AppError("CONFLICT", "The sending changed while this change was made; read it again and retry.");
    }
    const current = await tx.sending.findUniqueOrThrow({ where: { id: sendingId }, select: { status: true } });
    const audit = { actor: who.actor, action: "content changed", details: { changed, changes, via: who.via } };
    let result: { status: SendingStatus; approvalsWithdrawn: number };
    if (hash === sending.contentHash) {
      await recordAudit(tx, sendingId, audit);
      result = { status: current.status, approvalsWithdrawn: 0 };
    } else {
      result = await recordContentChange(
        tx,
        { id: sendingId, status: current.status, contentHash: sending.contentHash },
        { ...audit, reason: current.status === "SCHEDULED" ? "content changed" : null },
      );
    }
    await recordOutboxMessage(tx, sendingId, { kind: "content-changed", by: who.actor, changed, changes, approvalsWithdrawn: result.approvalsWithdrawn });
    return result;
  });

  const result: ContentChangeResult = { sendingId, changed, changes, contentHash: hash, ...outcome };
  log.info({ sendingId, changed, status: result.status, approvalsWithdrawn: result.approvalsWithdrawn, by: who.actor }, "sending content changed");
  await notifyAfterCommit(deps, sendingId, {
    kind: "content-changed",
    by: who.actor,
    changed,
    changes,
    approvalsWithdrawn: outcome.approvalsWithdrawn,
  });
  return result;
}
