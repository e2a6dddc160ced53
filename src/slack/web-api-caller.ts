import { webApi } from "@slack/bolt";
// The modules themselves, not their named exports: request is looked up at each call, so that a test's
// interceptor (nock) installed after this module was loaded still sees every request.
import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import { outcomeOf, type WebApiObserver } from "./web-api-fetch.js";

/** Slack's answer to a call that succeeded. */
export type WebApiAnswer = { ok: true } & Record<string, unknown>;

/**
 * The Slack Web API for what listeners send after an acknowledgement (the modals people open by
 * clicking), on a lean path: the body is JSON the caller has already serialized, sent with Node's
 * HTTP client on kept-alive connections. Slack's client, for the same call, logs nothing yet copies
 * and serializes the whole modal four times over (two redacted copies for debug lines, the form
 * encoding, the answer read back) and queues it through its retry and concurrency machinery: when two
 * hundred people click Preview at once, that was most of what a click cost after its acknowledgement.
 *
 * Errors are @slack/web-api's own, so that everything that reads them (the outage reporter, the
 * user's error message) reads these alike: a refusal is a platform error carrying Slack's answer;
 * no answer, an HTTP error or a request error, retried like the Slack client's (`retries` times,
 * 200 ms then twice as long); a rate limit is not waited out, since a trigger id lasts 3 seconds.
 */
export interface WebApiCaller {
  /** Calls `method` with `body`, a JSON object as text; `read: false` skips parsing an answer nobody reads. */
  call(method: string, body: string, options?: { read?: boolean }): Promise<WebApiAnswer>;
  /** Closes the kept-alive connections. */
  close(): void;
}

export interface WebApiCallerOptions {
  /** The Web API base, `https://slack.com/api/` or SLACK_API_URL. */
  apiUrl: string;
  token: string;
  observe?: WebApiObserver;
  retries?: number;
  /** No answer within this long counts as Slack unreachable (and is retried). */
  timeoutMs?: number;
  /** Kept-alive connections at most: a burst's calls queue for them rather than open hundreds. */
  maxSockets?: number;
}

const RETRY_FIRST_MS = 200;
const RETRY_MAX_MS = 2000;

export function createWebApiCaller({ apiUrl, token, observe, retries = 2, timeoutMs = 10_000, maxSockets = 32 }: WebApiCallerOptions): WebApiCaller {
  const base = new URL(apiUrl.endsWith("/") ? apiUrl : `${apiUrl}/`);
  const secure = base.protocol === "https:";
  const transport = secure ? https : http;
  const agent = new transport.Agent({ keepAlive: true, maxSockets });
  const target = { protocol: base.protocol, hostname: base.hostname, port: base.port || undefined, agent, timeout: timeoutMs };
  const authorization = `Bearer ${token}`;

  /** One attempt: Slack's answer as text, or an error that says whether another attempt may help. */
  const attempt = (method: string, body: string) =>
    new Promise<string>((resolve, reject) => {
      const req = transport.request(
        {
          ...target,
          method: "POST",
          path: `${base.pathname}${method}`,
          headers: {
            authorization,
            "content-type": "application/json; charset=utf-8",
            "content-length": Buffer.byteLength(body),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("error", (error) => reject(requestError(error)));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            if (res.statusCode === 200) resolve(text);
            else reject(httpError(res, text));
          });
        },
      );
      // A connection fault arrives as anything a socket (or a test's fault injection) emits, not always an Error.
      req.on("error", (error: unknown) => reject(requestError(error)));
      req.on("timeout", () => req.destroy(Object.assign(new Error(`no answer from Slack within ${timeoutMs} ms`), { code: "ETIMEDOUT" })));
      req.end(body);
    });

  return {
    async call(method, body, { read = true } = {}) {
      for (let tries = 0; ; tries++) {
        let text: string;
        try {
          text = await attempt(method, body);
        } catch (error) {
          observe?.(method, error instanceof webApi.WebAPIHTTPError ? `http_${error.statusCode}` : error instanceof webApi.WebAPIRateLimitedError ? "http_429" : "unreachable");
          if (tries >= retries || error instanceof webApi.WebAPIRateLimitedError) throw error;
          await new Promise((resolve) => setTimeout(resolve, Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** tries)));
          continue;
        }
        const outcome = outcomeOf(text);
        observe?.(method, outcome);
        if (outcome !== "ok") throw new webApi.WebAPIPlatformError(parseAnswer(text) as unknown as webApi.WebAPICallResult & { error: string });
        return read ? (parseAnswer(text) as WebApiAnswer) : { ok: true };
      }
    },
    close: () => agent.destroy(),
  };
}

function parseAnswer(text: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === "object") return parsed as Record<string, unknown>;
  } catch {
    // Not JSON: Slack's client reports such an answer as the error itself.
  }
  return { ok: false, error: text };
}

function requestError(error: unknown): Error {
  if (error instanceof Error) return new webApi.WebAPIRequestError(error);
  const fields = typeof error === "object" && error !== null ? (error as { message?: unknown }) : {};
  return new webApi.WebAPIRequestError(Object.assign(new Error(String(fields.message ?? error)), fields));
}

function httpError(res: IncomingMessage, text: string): Error {
  if (res.statusCode === 429) return new webApi.WebAPIRateLimitedError(Number.parseInt(String(res.headers["retry-after"] ?? ""), 10) || 1);
  const headers = Object.fromEntries(Object.entries(res.headers).map(([name, value]) => [name, String(value)]));
  return new webApi.WebAPIHTTPError(res.statusCode ?? 0, res.statusMessage ?? "", headers, text);
}
