import { BULK_BATCH_SIZE } from "../db/recipient-bulk.js";
import { EMPTY_RECIPIENTS_DIGEST, chainRecipientsDigest, contentHash } from "../domain/content-hash.js";
import type { SendingStatus } from "../domain/sending-status.js";
import type { IntakeDeps } from "./support/deps.js";
import { createBatchDigest, toRecipientRow } from "./support/recipient-batch.js";
import { invalidInput, sendingInputSchema } from "./support/sending-input.js";
import { newSendingId } from "./support/sending-id.js";
import { recordAudit } from "../db/transition.js";
import { notifyAfterCommit } from "./support/notify-after-commit.js";

export interface CreatedSending {
  id: string;
  status: SendingStatus;
  contentHash: string;
  recipientCount: number;
}


/** Takes in a sending handed over through the API: it waits for approval from here on. */
export async function createSending(deps: IntakeDeps, raw: unknown): Promise<CreatedSending> {
  const { clock, log } = deps;
  const parsed = sendingInputSchema(() => clock.now()).safeParse(raw);
  if (!parsed.success) throw invalidInput(parsed.error, "sending");
  const input = parsed.data;

  const id = newSendingId();
  const rows = input.recipients.map(toRecipientRow);
  const batch = createBatchDigest();
  rows.forEach((row) => batch.add(row));
  const recipientsDigest = rows.length ? chainRecipientsDigest(EMPTY_RECIPIENTS_DIGEST, batch.digest()) : EMPTY_RECIPIENTS_DIGEST;
  const content = {
    subject: input.subject,
    fromName: input.from.name ?? null,
    fromEmail: input.from.email,
    replyTo: input.replyTo ?? null,
    html: input.html,
    text: input.text ?? null,
  };
  const hash = contentHash(content, recipientsDigest);

  await deps.recipients.append({
      sendingId: id,
      async before(tx) {
        await tx.sending.create({
          data: {
            id,
            name: input.name,
            ...content,
            launchAt: input.launchAt,
            requestedBy: input.requestedBy,
            contentHash: hash,
            recipientsDigest,
            recipientCount: rows.length,
          },
        });
      },
      async fill(sink) {
        for (let start = 0; start < rows.length; start += BULK_BATCH_SIZE) {
          await sink.write(rows.slice(start, start + BULK_BATCH_SIZE));
        }
      },
      async after(tx, counts) {
        // The input has no duplicate addresses and the sending is new: every row is appended.
        if (counts.appended !== rows.length) throw new Error(`stored ${counts.appended} of ${rows.length} recipients`);
        await recordAudit(tx, id, {
          actor: input.requestedBy,
          action: "created",
          details: { recipients: rows.length, launchAt: input.launchAt.toISOString() },
        });
      },
    },
    clock.now(),
  );

  log.info({ sendingId: id, recipients: rows.length, requestedBy: input.requestedBy }, "sending created");
  // After commit: a Slack outage must never lose a sending (unposted ones are posted later).
  await notifyAfterCommit(deps, id, { kind: "created" });
  return { id, status: "PENDING_APPROVAL", contentHash: hash, recipientCount: rows.length };
}
