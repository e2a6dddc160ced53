import { contentHash, type SendingContent } from "../domain/content-hash.js";
import { AppError } from "../domain/errors.js";
import { editable, type SendingStatus } from "../domain/sending-status.js";
import { API_ACTOR, contentOf, lockEditableSending, notEditableIn, recordContentChange } from "./support/content-change.js";
import type { UseCaseDeps } from "./support/deps.js";
import { invalidInput, sendingChangeSchema } from "./support/sending-input.js";
import { SENDING_ID } from "./support/sending-id.js";
import { recordAudit } from "../db/transition.js";
import { notifyAfterCommit } from "./support/notify-after-commit.js";

export interface UpdateResult {
  sendingId: string;
  /** The fields whose value differs from before; empty when the request changed nothing. */
  changed: string[];
  status: SendingStatus;
  contentHash: string;
  approvalsWithdrawn: number;
}

/**
 * Changes a sending's content through the API (`PUT /api/sendings/:id`), only before delivery.
 * A change of what recipients receive changes the content hash: earlier approvals no longer count
 * and a scheduled sending goes back for approval. Name and launch date alone keep the approvals.
 */
export async function updateSending(deps: UseCaseDeps, sendingId: string, raw: unknown): Promise<UpdateResult> {
  const { db, clock, log } = deps;
  const sending = SENDING_ID.test(sendingId) ? await db.prisma.sending.findUnique({ where: { id: sendingId } }) : null;
  if (!sending) throw new AppError("NOT_FOUND", `Sending ${sendingId} does not exist.`);
  const parsed = sendingChangeSchema(() => clock.now()).safeParse(raw);
  if (!parsed.success) throw invalidInput(parsed.error, "change");
  if (!editable.includes(sending.status)) throw notEditableIn(sending.status);
  const change = parsed.data;
  const actor = change.changedBy ?? API_ACTOR;

  const content: SendingContent = {
    subject: change.subject ?? sending.subject,
    fromName: change.from ? (change.from.name ?? null) : sending.fromName,
    fromEmail: change.from?.email ?? sending.fromEmail,
    replyTo: change.replyTo === undefined ? sending.replyTo : change.replyTo,
    html: change.html ?? sending.html,
    text: change.text === undefined ? sending.text : change.text,
  };
  const name = change.name ?? sending.name;
  const launchAt = change.launchAt ?? sending.launchAt;
  const before = { ...contentOf(sending), name: sending.name, launchAt: sending.launchAt.getTime() };
  const after = { ...content, name, launchAt: launchAt.getTime() };
  const changed = (Object.keys(after) as (keyof typeof after)[]).filter((field) => after[field] !== before[field]);
  if (changed.length === 0) {
    return { sendingId, changed, status: sending.status, contentHash: sending.contentHash, approvalsWithdrawn: 0 };
  }
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
    const audit = { actor, action: "content changed", details: { changed } };
    if (hash === sending.contentHash) {
      await recordAudit(tx, sendingId, audit);
      return { status: current.status, approvalsWithdrawn: 0 };
    }
    return recordContentChange(
      tx,
      { id: sendingId, status: current.status, contentHash: sending.contentHash },
      { ...audit, reason: current.status === "SCHEDULED" ? "content changed" : null },
    );
  });

  const result: UpdateResult = { sendingId, changed, contentHash: hash, ...outcome };
  log.info({ ...result }, "sending content changed");
  await notifyAfterCommit(deps, sendingId, { kind: "content-changed", by: actor, changed, approvalsWithdrawn: outcome.approvalsWithdrawn });
  return result;
}
