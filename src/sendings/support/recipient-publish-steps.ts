import { recordOutboxMessage } from "../../db/outbox.js";
import { definePublishStep } from "../../db/publish-step.js";
import { recordAudit } from "../../db/transition.js";
import { chainRecipientsDigest, contentHash } from "../../domain/content-hash.js";
import type { SendingStatus } from "../../domain/sending-status.js";
import { contentOf, lockEditableSending, recordContentChange } from "./content-change.js";

/**
 * What happens in the transaction that makes an upload's recipients visible, for each use case that
 * uploads them. On SQLite it runs in the upload thread (see RecipientBulk), which loads this module by
 * itself: it takes plain data and keeps its imports to what the transaction needs.
 */

export interface AppendedRecipients {
  sendingId: string;
  actor: string;
  /** Valid lines read. */
  received: number;
  now: Date;
}

export interface AppendOutcome {
  fresh: number;
  appended: number;
  recipientCount: number;
  status: SendingStatus;
  approvalsWithdrawn: number;
}

/** Recipients appended to a sending that may still change: count, digest and hash follow; approvals given before no longer count. */
export const appendedRecipientsStep = definePublishStep(import.meta.url, "appendedRecipientsStep", {
  async after(tx, data: AppendedRecipients, counts): Promise<AppendOutcome> {
    const { sendingId, actor } = data;
    await lockEditableSending(tx, sendingId, data.now);
    const current = await tx.sending.findUniqueOrThrow({ where: { id: sendingId } });
    const unchanged = { ...counts, status: current.status, approvalsWithdrawn: 0, recipientCount: current.recipientCount };
    if (counts.appended === 0) return unchanged;
    const recipientsDigest = chainRecipientsDigest(current.recipientsDigest, counts.digest);
    const updated = await tx.sending.update({
      where: { id: sendingId },
      data: {
        recipientCount: { increment: counts.appended },
        recipientsDigest,
        contentHash: contentHash(contentOf(current), recipientsDigest),
      },
    });
    const change = await recordContentChange(tx, current, {
      actor,
      action: "recipients appended",
      reason: current.status === "SCHEDULED" ? "recipients changed" : null,
      details: { changed: ["recipients"], received: data.received, appended: counts.appended },
    });
    await recordOutboxMessage(tx, sendingId, {
      kind: "content-changed",
      by: actor,
      changed: ["recipients"],
      approvalsWithdrawn: change.approvalsWithdrawn,
    });
    return { ...counts, ...change, recipientCount: updated.recipientCount };
  },
});

/** The sending as it is stored when it is created, its recipients aside. */
export interface NewSending {
  id: string;
  name: string;
  subject: string;
  fromName: string | null;
  fromEmail: string;
  replyTo: string | null;
  html: string;
  text: string | null;
  launchAt: Date;
  requestedBy: string;
  contentHash: string;
  recipientsDigest: string;
  recipientCount: number;
}

export interface CreatedWith {
  id: string;
  requestedBy: string;
  recipients: number;
  launchAt: Date;
  /** The API token's actor (`api:<name>`). */
  via: string;
}

/** A sending created with its recipients: the sending first (the rows refer to it), its audit and outbox message last. */
export const createdSendingStep = definePublishStep(import.meta.url, "createdSendingStep", {
  async before(tx, sending: NewSending) {
    await tx.sending.create({ data: sending });
  },
  async after(tx, data: CreatedWith, counts): Promise<void> {
    // The input has no duplicate addresses and the sending is new: every row is appended.
    if (counts.appended !== data.recipients) throw new Error(`stored ${counts.appended} of ${data.recipients} recipients`);
    await recordAudit(tx, data.id, {
      actor: data.requestedBy,
      action: "created",
      details: { recipients: data.recipients, launchAt: data.launchAt.toISOString(), via: data.via },
    });
    await recordOutboxMessage(tx, data.id, { kind: "created" });
  },
});
