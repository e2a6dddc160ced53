import { randomBytes } from "node:crypto";

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"; // Crockford base32: no i, l, o, u to misread

/** Short, typeable ids for `/sendings show <id>`: "snd_" and 10 base32 characters (50 bits). */
export function newSendingId(): string {
  const bytes = randomBytes(10);
  let id = "snd_";
  for (const byte of bytes) id += ALPHABET[byte & 31];
  return id;
}

export const SENDING_ID = /^snd_[0-9a-z]{10}$/;
