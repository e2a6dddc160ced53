import { createHash } from "node:crypto";
import type { RecipientRow } from "../../db/recipient-bulk.js";
import type { RecipientInput } from "./sending-input.js";

export function toRecipientRow(recipient: RecipientInput): RecipientRow {
  return { email: recipient.email, vars: JSON.stringify(recipient.vars ?? {}) };
}

/**
 * The digest of one batch of recipients, in the order they were handed in; it is chained onto the
 * sending's recipientsDigest (chainRecipientsDigest), which the content hash covers.
 */
export interface BatchDigest {
  add(row: RecipientRow): void;
  digest(): string;
}

export function createBatchDigest(): BatchDigest {
  const hash = createHash("sha256");
  return {
    add(row: RecipientRow) {
      // Addresses hold no tab or newline and the JSON text no raw newline, so rows cannot run together.
      // One update a row: each update crosses into native code, and a million rows pay it a million times.
      hash.update(`${row.email}\t${row.vars}\n`);
    },
    digest: () => hash.digest("hex"),
  };
}
