import { createHash } from "node:crypto";

export interface SendingContent {
  subject: string;
  fromName: string | null;
  fromEmail: string;
  replyTo: string | null;
  html: string;
  text: string | null;
}

export const EMPTY_RECIPIENTS_DIGEST = createHash("sha256").update("recipients").digest("hex");

/** Approvals are bound to this hash: any change of content or recipients makes it differ. */
export function contentHash(content: SendingContent, recipientsDigest: string): string {
  const canonical = JSON.stringify([
    content.subject,
    content.fromName,
    content.fromEmail,
    content.replyTo,
    content.html,
    content.text,
    recipientsDigest,
  ]);
  return createHash("sha256").update(canonical).digest("hex");
}

/** Chains the digest of one appended batch onto the digest of everything appended before it. */
export function chainRecipientsDigest(previous: string, batchDigest: string): string {
  return createHash("sha256").update(previous).update(batchDigest).digest("hex");
}
