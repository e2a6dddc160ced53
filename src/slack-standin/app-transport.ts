import { createHmac } from "node:crypto";

/**
 * How Slack reaches the app: interaction payloads, slash commands and Events API callbacks, each
 * answered by the app's acknowledgement. Over HTTP (signed POSTs to the request URL) here; Socket
 * Mode implements the same.
 */
export interface AppTransport {
  /** block_actions, view_submission, view_closed, block_suggestion: the payload, and the ack body back. */
  interactive(payload: Record<string, unknown>): Promise<Ack>;
  /** A slash command's form fields, and the ack body back. */
  slashCommand(fields: Record<string, string>): Promise<Ack>;
  /** An Events API callback ({ type: "event_callback", event, … }); Slack ignores the ack's body. */
  event(body: Record<string, unknown>): Promise<Ack>;
}

export interface Ack {
  /** The acknowledgement body as JSON, or undefined when it was empty. */
  body: unknown;
  /** How long the app took to acknowledge; Slack gives up after 3 seconds. */
  elapsedMs: number;
  /** The HTTP status, where there is one. */
  status?: number;
}

/** Signs a body the way Slack does: v0 HMAC-SHA256 over "v0:timestamp:body" with the signing secret. */
export function signSlackRequest(body: string, secret: string, timestamp = Math.floor(Date.now() / 1000)) {
  const signature = `v0=${createHmac("sha256", secret).update(`v0:${timestamp}:${body}`).digest("hex")}`;
  return { "x-slack-signature": signature, "x-slack-request-timestamp": String(timestamp) };
}

/** Slack's side of HTTP mode: signed form posts to the app's request URL. */
export function httpTransport(requestUrl: string, signingSecret: string): AppTransport {
  async function post(body: string, contentType = "application/x-www-form-urlencoded"): Promise<Ack> {
    const started = Date.now();
    const res = await fetch(requestUrl, {
      method: "POST",
      headers: { "content-type": contentType, ...signSlackRequest(body, signingSecret) },
      body,
    });
    const text = await res.text();
    const elapsedMs = Date.now() - started;
    if (res.status !== 200) throw new Error(`the app answered HTTP ${res.status} to Slack: ${text.slice(0, 200)}`);
    return { body: text ? parseAck(text) : undefined, elapsedMs, status: res.status };
  }
  return {
    interactive: (payload) => post(`payload=${encodeURIComponent(JSON.stringify(payload))}`),
    slashCommand: (fields) => post(new URLSearchParams(fields).toString()),
    // The Events API posts JSON, where interactions and commands are form-encoded.
    event: (body) => post(JSON.stringify(body), "application/json"),
  };
}

/** Slack reads a plain-text ack of a slash command as the reply's text. */
function parseAck(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { text };
  }
}
