import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { NamedToken } from "../config.js";
import { HttpError } from "./errors.js";

const digest = (value: string) => createHash("sha256").update(value).digest();

/** Which list a bearer token comes from: API_TOKENS (hand sendings in) or OPERATOR_TOKENS (steer deliveries). */
export type TokenKind = "intake" | "operator";

export interface Credential {
  kind: TokenKind;
  /** The token's name, what the audit shows (`api:<name>`, `operator:<name>`). */
  name: string;
}

/**
 * Finds the configured token that `Authorization: Bearer <token>` carries. Comparing fixed-length
 * digests in constant time, and every token each time, leaks neither a token's prefix nor which
 * one matched.
 */
function createTokenLookup(tokens: readonly (NamedToken & { kind: TokenKind })[]) {
  const expected = tokens.map(({ kind, name, token }) => ({ credential: { kind, name }, digest: digest(token) }));
  return (req: IncomingMessage): Credential | undefined => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
    let matched: Credential | undefined;
    if (match?.[1]) {
      const given = digest(match[1]);
      for (const candidate of expected) {
        const equal = timingSafeEqual(given, candidate.digest);
        matched = equal && matched === undefined ? candidate.credential : matched;
      }
    }
    return matched;
  };
}

/**
 * The one check of every authenticated route: the token must come from the list the route needs.
 * A token from the other list is refused with 403 (its holder is known, the route is not theirs);
 * no token or an unknown one with 401. Routes whose list is unset (API_TOKENS, OPERATOR_TOKENS)
 * answer 503: the server is not set up for them, which is no fault of the caller's.
 */
export function createAccessCheck(http: { apiTokens: readonly NamedToken[]; operatorTokens: readonly NamedToken[] }) {
  const lookup = createTokenLookup([
    ...http.apiTokens.map((token) => ({ ...token, kind: "intake" as const })),
    ...http.operatorTokens.map((token) => ({ ...token, kind: "operator" as const })),
  ]);
  const operatorsConfigured = http.operatorTokens.length > 0;
  const intakeConfigured = http.apiTokens.length > 0;
  return (req: IncomingMessage, needed: TokenKind): string => {
    if (needed === "intake" && !intakeConfigured) {
      throw new HttpError(503, "intake_api_disabled", "The intake API is disabled until API_TOKENS is set on the server.");
    }
    if (needed === "operator" && !operatorsConfigured) {
      throw new HttpError(
        503,
        "operator_api_disabled",
        "Listing, pausing, resuming and cancelling sendings through the API are disabled until OPERATOR_TOKENS is set on the server.",
      );
    }
    const credential = lookup(req);
    if (!credential) {
      throw new HttpError(
        401,
        "unauthorized",
        needed === "operator"
          ? "Send an operator token (one of OPERATOR_TOKENS) as `Authorization: Bearer <token>`."
          : "Send a valid API token as `Authorization: Bearer <token>`.",
      );
    }
    if (credential.kind !== needed) {
      throw new HttpError(
        403,
        "forbidden",
        needed === "operator"
          ? "Listing, pausing, resuming and cancelling sendings need a token from OPERATOR_TOKENS; this is an intake token (API_TOKENS)."
          : "This route needs a token from API_TOKENS; this is an operator token (OPERATOR_TOKENS), which only lists, pauses, resumes and cancels sendings.",
      );
    }
    return credential.name;
  };
}
