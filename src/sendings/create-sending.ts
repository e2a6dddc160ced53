import { BULK_BATCH_SIZE } from "../db/recipient-bulk.js";
import { EMPTY_RECIPIENTS_DIGEST, chainRecipientsDigest, contentHash } from "../domain/content-hash.js";
import type { SendingStatus } from "../domain/sending-status.js";
import type { SendingAnalyzer } from "./support/current-analysis.js";
import type { IntakeDeps } from "./support/deps.js";
import { apiActor } from "./support/content-change.js";
import { createBatchDigest, toRecipientRow } from "./support/recipient-batch.js";
import { invalidInput, sendingInputSchema } from "./support/sending-input.js";
import { newSendingId } from "./support/sending-id.js";
import { analysisAfterCommit, type AnalysisSummary } from "./support/sending-representation.js";
import { notifyAfterCommit } from "./support/notify-after-commit.js";
import { createdSendingStep } from "./support/recipient-publish-steps.js";

export interface CreatedSending {
  id: string;
  status: SendingStatus;
  contentHash: string;
  recipientCount: number;
  /** What the analysis found; null if it could not be made (GET makes it again). */
  analysis: AnalysisSummary | null;
}

export interface CreateInput {
  /** The Sending JSON of the request. */
  sending: unknown;
  /** The name of the API token it came with: the audit records it beside the requester. */
  tokenName: string;
}

/** Takes in a sending handed over through the API: it waits for approval from here on. */
export async function createSending(deps: IntakeDeps & { analyzer: SendingAnalyzer }, input: CreateInput): Promise<CreatedSending> {
  const { clock, log } = deps;
  const parsed = sendingInputSchema(() => clock.now(), deps.recipientVarsLimits).safeParse(input.sending);
  if (!parsed.success) throw invalidInput(parsed.error, "sending");
  const sending = parsed.data;

  const id = newSendingId();
  const rows = sending.recipients.map(toRecipientRow);
  const batch = createBatchDigest();
  rows.forEach((row) => batch.add(row));
  const recipientsDigest = rows.length ? chainRecipientsDigest(EMPTY_RECIPIENTS_DIGEST, batch.digest()) : EMPTY_RECIPIENTS_DIGEST;
  const content = {
    subject: sending.subject,
    fromName: sending.from.name ?? null,
    fromEmail: sending.from.email,
    replyTo: sending.replyTo ?? null,
    html: sending.html,
    text: sending.text ?? null,
  };
  const hash = contentHash(content, recipientsDigest);

  await deps.recipients.append(
    {
      sendingId: id,
      step: createdSendingStep,
      before: {
        id,
        name: sending.name,
        ...content,
        launchAt: sending.launchAt,
        requestedBy: sending.requestedBy,
        contentHash: hash,
        recipientsDigest,
        recipientCount: rows.length,
      },
      async fill(sink) {
        for (let start = 0; start < rows.length; start += BULK_BATCH_SIZE) {
          await sink.write(rows.slice(start, start + BULK_BATCH_SIZE));
        }
      },
      after: () => ({
        id,
        requestedBy: sending.requestedBy,
        recipients: rows.length,
        launchAt: sending.launchAt,
        via: apiActor(input.tokenName),
      }),
    },
    clock.now(),
  );

  log.info({ sendingId: id, recipients: rows.length, requestedBy: sending.requestedBy }, "sending created");
  // After commit: a Slack outage must never lose a sending (unposted ones are posted later).
  await notifyAfterCommit(deps, id, { kind: "created" });
  const analysis = await analysisAfterCommit(deps, id);
  return { id, status: "PENDING_APPROVAL", contentHash: hash, recipientCount: rows.length, analysis };
}
