import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { HttpError } from "./errors.js";

const digest = (value: string) => createHash("sha256").update(value).digest();

/**
 * Checks `Authorization: Bearer <token>` against the configured tokens. Comparing fixed-length
 * digests in constant time, and every token each time, leaks neither a token's prefix nor which one matched.
 */
export function createBearerCheck(tokens: readonly string[]) {
  const expected = tokens.map(digest);
  return (req: IncomingMessage): void => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
    let valid = false;
    if (match?.[1]) {
      const given = digest(match[1]);
      for (const candidate of expected) valid = timingSafeEqual(given, candidate) || valid;
    }
    if (!valid) {
      throw new HttpError(401, "unauthorized", "Send a valid API token as `Authorization: Bearer <token>`.");
    }
  };
}
