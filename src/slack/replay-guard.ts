import type { RequestListener } from "node:http";
import type { Logger } from "pino";

/** Bolt refuses a request whose signed timestamp is older than this; a replay can only come within it. */
const SLACK_TIMESTAMP_WINDOW_MS = 5 * 60_000;
/** Signatures remembered at most: a flood of forged ones pushes out the oldest, never grows memory. */
const REMEMBERED = 100_000;

/**
 * Slack signs every request over its timestamp and body, and Bolt checks the signature and refuses
 * timestamps more than five minutes off. Within those five minutes a captured request could be sent
 * again: a Pause after the Resume that followed it, a second Cancel. A signature already seen (and
 * not refused) is answered 200 and not handled (Slack itself never sends one request twice: its retries of an event
 * are signed anew). Per process: each replica remembers what it received.
 */
export function refuseReplays(listener: RequestListener, log: Logger, now: () => number = Date.now): RequestListener {
  const seen = new Map<string, number>();
  return (req, res) => {
    const signature = req.headers["x-slack-signature"];
    if (typeof signature !== "string") return listener(req, res);
    const at = now();
    // Insertion order is expiry order: the oldest go first.
    for (const [old, expires] of seen) {
      if (expires > at && seen.size < REMEMBERED) break;
      seen.delete(old);
    }
    if (seen.has(signature)) {
      log.warn({ timestamp: req.headers["x-slack-request-timestamp"] }, "a Slack request arrived a second time with the same signature: not handled");
      // Drained so that the client sees the answer; nothing in it is read.
      req.resume();
      res.writeHead(200, { "content-type": "text/plain", "x-slack-no-retry": "1" }).end();
      return;
    }
    seen.set(signature, at + SLACK_TIMESTAMP_WINDOW_MS);
    // A forged signature is forgotten once Bolt refused it: it gets its 401 each time, never a 200.
    res.once("finish", () => {
      if (res.statusCode === 401) seen.delete(signature);
    });
    listener(req, res);
  };
}
