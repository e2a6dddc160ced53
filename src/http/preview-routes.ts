import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { isAppError } from "../domain/errors.js";
import type { UseCaseDeps } from "../sendings/support/deps.js";
import { renderRecipientMessage } from "../sendings/render-recipient-message.js";
import { httpStatusOf } from "./errors.js";
import { verifyPreviewLink } from "./preview-links.js";
import type { Route } from "./router.js";

export interface PreviewRouteDeps extends Pick<UseCaseDeps, "db" | "clock"> {
  log: Logger;
  /** From previewLinkKey(config). */
  key: Buffer;
  /** The configured UNSUBSCRIBE_URL, so the message is built exactly as the engine builds it. */
  unsubscribeUrl?: string;
}

/**
 * The HTML is the sender's, and arbitrary: it may run nothing, load nothing but images and inline
 * styles, be framed by nobody, leak the link through no Referer, and stay in no cache.
 */
export const PREVIEW_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": "default-src 'none'; img-src * data:; style-src 'unsafe-inline'",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "private, no-store",
  "x-content-type-options": "nosniff",
  "x-robots-tag": "noindex",
};

export const PREVIEW_REFUSED = "This preview link is invalid or has expired. Open the preview again in Slack for a fresh link.";

/** `GET /preview/:sendingId/:recipientId?exp=…&sig=…`: the exact HTML that recipient will receive. */
export function previewRoutes(deps: PreviewRouteDeps): Route[] {
  return [
    {
      method: "GET",
      pattern: "/preview/:sendingId/:recipientId",
      // Links sendgate signs for approvers in Slack; nobody builds one from the document.
      doc: { notInApi: "Signed, expiring links to a recipient's HTML, made for approvers in Slack: never built by a client." },
      raw: (req, res) => void servePreview(deps, req, res),
    },
  ];
}

async function servePreview(deps: PreviewRouteDeps, req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? "/", "http://localhost");
  const target = verifyPreviewLink(url, deps.key, deps.clock.now());
  if (!target) return reply(res, 403, "text/plain; charset=utf-8", PREVIEW_REFUSED);
  try {
    const { message } = await renderRecipientMessage(deps.db, target, { unsubscribeUrl: deps.unsubscribeUrl });
    reply(res, 200, "text/html; charset=utf-8", message.html);
  } catch (error) {
    const status = httpStatusOf(error);
    if (status === 404) return reply(res, 404, "text/plain; charset=utf-8", "This sending or recipient no longer exists.");
    if (status !== undefined && isAppError(error)) return reply(res, status, "text/plain; charset=utf-8", error.message);
    deps.log.error({ err: error, ...target }, "serving an HTML preview failed");
    reply(res, 500, "text/plain; charset=utf-8", "The preview could not be shown.");
  }
}

function reply(res: ServerResponse, status: number, contentType: string, body: string) {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { ...PREVIEW_HEADERS, "content-type": contentType, "content-length": Buffer.byteLength(body) });
  res.end(body);
}
