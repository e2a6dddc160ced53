import { createHmac } from "node:crypto";

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): each secret is `whsec_` and the
 * base64 of its key; a request carries one `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` per
 * secret, space-separated, so a receiver that knows either the old or the new secret accepts it
 * while secrets rotate.
 */
export interface WebhookSecret {
  key: Buffer;
}

const SECRET = /^whsec_([A-Za-z0-9+/]+={0,2})$/;
/** The specification asks for keys of 24 to 64 bytes. */
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;

/** Parses WEBHOOK_SECRET; problems name the entry by position, never its value. */
export function parseWebhookSecrets(text: string): { secrets: WebhookSecret[]; problems: string[] } {
  const secrets: WebhookSecret[] = [];
  const problems: string[] = [];
  text
    .split(/\s+/)
    .filter(Boolean)
    .forEach((entry, index) => {
      const match = SECRET.exec(entry);
      const key = match ? Buffer.from(match[1]!, "base64") : undefined;
      if (!key) problems.push(`entry ${index + 1} must be whsec_ followed by base64, e.g. whsec_$(openssl rand -base64 32)`);
      else if (key.length < MIN_KEY_BYTES || key.length > MAX_KEY_BYTES) {
        problems.push(`entry ${index + 1} holds a ${key.length}-byte key; use ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} random bytes, e.g. whsec_$(openssl rand -base64 32)`);
      } else secrets.push({ key });
    });
  return { secrets, problems };
}

/** The `webhook-signature` header's value for one request. */
export function webhookSignature(secrets: readonly WebhookSecret[], id: string, timestampSeconds: number, body: string): string {
  const signed = `${id}.${timestampSeconds}.${body}`;
  return secrets.map(({ key }) => `v1,${createHmac("sha256", key).update(signed).digest("base64")}`).join(" ");
}
