import type { IncomingMessage, ServerResponse } from "node:http";
import type { z } from "zod";
import type { ErrorCode } from "../domain/errors.js";
import type { TokenKind } from "./auth.js";

export interface Reply {
  status: number;
  body: unknown;
  /** Plain text instead of JSON (the metrics). */
  contentType?: string;
}

export interface RequestContext {
  req: IncomingMessage;
  url: URL;
  params: Record<string, string>;
}

/** A request whose bearer token was accepted. */
export interface AuthorizedContext extends RequestContext {
  /** The name of the token it came with (`name:token` in API_TOKENS or OPERATOR_TOKENS, as the route's `auth` says). */
  tokenName: string;
}

/** A JSON value and its zod schema, shown in the API document as a named schema (components.schemas). */
export interface NamedSchema {
  name: string;
  schema: z.ZodType;
}

/** How the API document (GET /api/openapi.json) shows a route. */
export interface OperationDoc {
  /** A stable name for generated clients, verb first: createSending. */
  operationId: string;
  summary: string;
  description?: string;
  /** The group it is listed in: Intake, Operator or Service. */
  tag: string;
  /** What each `:name` segment of the pattern is. */
  params?: Record<string, string>;
  /** The query parameters the route reads: the schema of each value, and what it does. */
  query?: Record<string, { schema: z.ZodType; description: string; explode?: boolean }>;
  /**
   * The body the route reads, with the content types it accepts (others get 415). A JSON body is
   * checked against its schema by the use case; NDJSON is one `line` value a line.
   */
  body?:
    | { types: readonly string[]; json: NamedSchema; required: boolean; description?: string }
    | { types: readonly string[]; ndjson: NamedSchema; description?: string };
  /** The answers that are not refusals, by status. */
  answers: Partial<Record<200 | 201 | 503, { description: string } & ({ json: NamedSchema } | { text: string })>>;
  /** The refusals the route's use case may make, by code (errors.ts says which status each gets), and when. */
  refusals?: Partial<Record<ErrorCode, string>>;
}

/** A route's place in the API document: an operation, or why it is not part of the API (Slack's, the playground's). */
export type RouteDoc = OperationDoc | { notInApi: string };

export type Route =
  /** `auth` names the token list the route takes: API_TOKENS (intake) or OPERATOR_TOKENS (operator). */
  | { method: string; pattern: string; doc: RouteDoc; auth: TokenKind; handle(context: AuthorizedContext): Promise<Reply> }
  | { method: string; pattern: string; doc: RouteDoc; auth: false; handle(context: RequestContext): Promise<Reply> }
  /** Handed the raw request and response (Bolt's receiver reads and answers them itself). */
  | { method: string; pattern: string; doc: RouteDoc; raw(req: IncomingMessage, res: ServerResponse): void };

export type RouteMatch = { route: Route; params: Record<string, string> };

/** Patterns are paths with `:name` segments, e.g. `/api/sendings/:id/recipients`. */
export function matchRoute(routes: readonly Route[], method: string, pathname: string): RouteMatch | "wrong-method" | undefined {
  const segments = pathname.split("/").filter(Boolean);
  let pathMatched = false;
  for (const route of routes) {
    const parts = route.pattern.split("/").filter(Boolean);
    if (parts.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const matches = parts.every((part, index) => {
      const segment = segments[index] ?? "";
      if (part.startsWith(":")) {
        params[part.slice(1)] = safeDecode(segment);
        return true;
      }
      return part === segment;
    });
    if (!matches) continue;
    if (route.method === method) return { route, params };
    pathMatched = true;
  }
  return pathMatched ? "wrong-method" : undefined;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
