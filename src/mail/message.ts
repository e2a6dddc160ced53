import type { SendingContent } from "../domain/content-hash.js";
import type { CompiledSending, RenderedMessage } from "./templates.js";
import type { OutgoingMessage } from "./transport.js";

/**
 * The same for every attempt at one recipient of one sending, so a message re-sent after a crash
 * carries the Message-ID of the first one and receiving systems can tell them apart from new mail.
 */
export function messageIdFor(sendingId: string, recipientId: number, fromEmail: string): string {
  const domain = fromEmail.slice(fromEmail.lastIndexOf("@") + 1) || "sendgate.invalid";
  return `<${sendingId}.r${recipientId}@${domain}>`;
}

/** Recipient variables as stored (JSON object text); anything else counts as none. */
export function parseVars(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const UNSUBSCRIBE_TARGET = /^(https?:\/\/|mailto:)\S+$/i;

/** The recipient's own `unsubscribeUrl` variable, or the configured template with its placeholders filled in. */
export function unsubscribeUrlFor(
  vars: Record<string, unknown>,
  template: string | undefined,
  ids: { sendingId: string; recipientId: number; email: string },
): string | undefined {
  const own = vars.unsubscribeUrl;
  if (typeof own === "string" && UNSUBSCRIBE_TARGET.test(own.trim())) return own.trim();
  if (!template) return undefined;
  const url = template
    .replaceAll("{email}", encodeURIComponent(ids.email))
    .replaceAll("{sendingId}", encodeURIComponent(ids.sendingId))
    .replaceAll("{recipientId}", String(ids.recipientId));
  return UNSUBSCRIBE_TARGET.test(url) ? url : undefined;
}

/** RFC 2369 List-Unsubscribe, and RFC 8058 one-click when the target is a web address. */
export function unsubscribeHeaders(url: string | undefined): Record<string, string> {
  if (!url) return {};
  const headers: Record<string, string> = { "List-Unsubscribe": `<${url}>` };
  if (/^https?:/i.test(url)) headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click";
  return headers;
}

export function buildMessage(input: {
  sendingId: string;
  content: SendingContent;
  recipient: { id: number; email: string };
  rendered: RenderedMessage;
  unsubscribeUrl?: string;
}): OutgoingMessage {
  const { sendingId, content, recipient, rendered } = input;
  return {
    from: { name: content.fromName, address: content.fromEmail },
    to: recipient.email,
    replyTo: content.replyTo,
    subject: rendered.subject,
    html: rendered.html,
    text: rendered.text,
    messageId: messageIdFor(sendingId, recipient.id, content.fromEmail),
    headers: unsubscribeHeaders(input.unsubscribeUrl),
  };
}

/**
 * One recipient's message, exactly as the engine sends it: the sending's compiled template with the
 * recipient's variables (and `email`), its unsubscribe target and its Message-ID. Throws when the
 * template does not render for this recipient.
 */
export function personalize(input: {
  compiled: CompiledSending;
  sendingId: string;
  content: SendingContent;
  recipient: { id: number; email: string; vars: string };
  /** The configured UNSUBSCRIBE_URL template, if any. */
  unsubscribeUrl?: string;
}): OutgoingMessage {
  const { compiled, sendingId, content, recipient } = input;
  const vars = parseVars(recipient.vars);
  const rendered = compiled.render({ email: recipient.email, ...vars });
  const unsubscribeUrl = unsubscribeUrlFor(vars, input.unsubscribeUrl, { sendingId, recipientId: recipient.id, email: recipient.email });
  return buildMessage({ sendingId, content, recipient, rendered, unsubscribeUrl });
}
