import type { IncomingMessage, ServerResponse } from "node:http";
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

export type Route =
  /** `auth` names the token list the route takes: API_TOKENS (intake) or OPERATOR_TOKENS (operator). */
  | { method: string; pattern: string; auth: TokenKind; handle(context: AuthorizedContext): Promise<Reply> }
  | { method: string; pattern: string; auth: false; handle(context: RequestContext): Promise<Reply> }
  /** Handed the raw request and response (Bolt's receiver reads and answers them itself). */
  | { method: string; pattern: string; raw(req: IncomingMessage, res: ServerResponse): void };

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
