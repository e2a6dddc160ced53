import { createHmac, hkdfSync, timingSafeEqual } from "node:crypto";
import type { Config } from "../config.js";

/**
 * Signed, expiring links to a recipient's HTML preview:
 * `/preview/<sendingId>/<recipientId>?exp=<unix seconds>&sig=<HMAC-SHA256, base64url>`.
 * The MAC covers the sending, the recipient and the expiry, so changing any of them (or the
 * signature) makes the link worthless; the HTML server needs no session and keeps no state.
 */

export interface PreviewLinkTarget {
  sendingId: string;
  recipientId: number;
}

const PATH = /^\/preview\/([^/]+)\/([1-9]\d{0,15})$/;
const SIGNATURE = /^[A-Za-z0-9_-]{43}$/; // 32 bytes, base64url without padding
const EXPIRY = /^\d{1,12}$/;

/**
 * The signing key: PREVIEW_LINK_SECRET when set, otherwise derived from the Slack signing secret (or,
 * in Socket Mode without one, the bot token), so that links survive a restart without yet another
 * secret to configure. HKDF keeps the derived key unrelated to the Slack secret itself.
 */
export function previewLinkKey(config: Pick<Config, "preview" | "slack">): Buffer {
  const secret = config.preview.linkSecret ?? config.slack.signingSecret ?? config.slack.botToken;
  return Buffer.from(hkdfSync("sha256", secret, "sendgate", "sendgate preview links v1", 32));
}

function mac(key: Buffer, sendingId: string, recipientId: number | string, exp: string): Buffer {
  return createHmac("sha256", key).update(`preview\n${sendingId}\n${recipientId}\n${exp}`).digest();
}

/** The path and query of a link that shows this recipient's HTML until `expiresAt`. */
export function signPreviewLink(link: PreviewLinkTarget & { expiresAt: Date }, key: Buffer): string {
  const exp = String(Math.floor(link.expiresAt.getTime() / 1000));
  const sig = mac(key, link.sendingId, link.recipientId, exp).toString("base64url");
  return `/preview/${encodeURIComponent(link.sendingId)}/${link.recipientId}?exp=${exp}&sig=${sig}`;
}

/** The full link under PUBLIC_URL (which may carry a path of its own, e.g. behind a proxy). */
export function previewLinkUrl(publicUrl: string, link: PreviewLinkTarget & { expiresAt: Date }, key: Buffer): string {
  return `${publicUrl.replace(/\/+$/, "")}${signPreviewLink(link, key)}`;
}

/**
 * The sending and recipient a link names, or null when it is malformed, tampered with or expired.
 * Takes the request's URL, or its path and query as a string.
 */
export function verifyPreviewLink(link: string | URL, key: Buffer, now: Date): PreviewLinkTarget | null {
  let url: URL;
  try {
    url = typeof link === "string" ? new URL(link, "http://preview.invalid") : link;
  } catch {
    return null;
  }
  const path = PATH.exec(url.pathname);
  const exp = url.searchParams.get("exp") ?? "";
  const sig = url.searchParams.get("sig") ?? "";
  if (!path || !EXPIRY.test(exp) || !SIGNATURE.test(sig)) return null;
  let sendingId: string;
  try {
    sendingId = decodeURIComponent(path[1]!);
  } catch {
    return null;
  }
  const recipientId = Number(path[2]);
  if (!Number.isSafeInteger(recipientId)) return null;
  const expected = mac(key, sendingId, recipientId, exp);
  // Compared in constant time: how much of a guessed signature is right must not show in the timing.
  if (!timingSafeEqual(expected, Buffer.from(sig, "base64url"))) return null;
  if (Number(exp) * 1000 <= now.getTime()) return null;
  return { sendingId, recipientId };
}
