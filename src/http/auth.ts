import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { NamedToken } from "../config.js";
import { HttpError } from "./errors.js";

const digest = (value: string) => createHash("sha256").update(value).digest();

/**
 * Checks `Authorization: Bearer <token>` against the configured tokens and returns the name of the
 * one that matched. Comparing fixed-length digests in constant time, and every token each time,
 * leaks neither a token's prefix nor which one matched.
 */
export function createBearerCheck(tokens: readonly NamedToken[]) {
  const expected = tokens.map(({ name, token }) => ({ name, digest: digest(token) }));
  return (req: IncomingMessage): string => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
    let matched: string | undefined;
    if (match?.[1]) {
      const given = digest(match[1]);
      for (const candidate of expected) {
        const equal = timingSafeEqual(given, candidate.digest);
        matched = equal && matched === undefined ? candidate.name : matched;
      }
    }
    if (matched === undefined) {
      throw new HttpError(401, "unauthorized", "Send a valid API token as `Authorization: Bearer <token>`.");
    }
    return matched;
  };
}
