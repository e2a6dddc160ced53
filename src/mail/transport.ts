import { mkdirSync } from "node:fs";
import { rename, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import nodemailer from "nodemailer";
import type { Logger } from "pino";
import type { Config } from "../config.js";

/** One personalized message, ready for the wire. */
export interface OutgoingMessage {
  from: { name?: string | null; address: string };
  to: string;
  replyTo?: string | null;
  subject: string;
  html: string;
  text: string;
  /** With angle brackets, e.g. `<snd_x.r12@acme.test>`; the same on every attempt. */
  messageId: string;
  headers?: Record<string, string>;
}

/** What the server made of one message. Sending never throws for a refusal; it says which kind it was. */
export type DeliveryOutcome =
  | { accepted: true; response: string }
  | { accepted: false; temporary: boolean; reason: string; response: string };

/** The port the delivery engine hands messages to. */
export interface Mailer {
  /** Where mail goes, for the logs: `smtp://host:port` or the outbox directory. */
  readonly target: string;
  send(message: OutgoingMessage): Promise<DeliveryOutcome>;
  close(): Promise<void>;
}

const MAX_REASON_LENGTH = 200;
const MAX_RESPONSE_LENGTH = 1000;

/** Connection-level failures: nothing says the server refused the message, so it is worth another try. */
const TEMPORARY_CODES = new Set([
  "ECONNECTION",
  "ETIMEDOUT",
  "ESOCKET",
  "EDNS",
  "ETLS",
  "EPROTOCOL",
  "EAUTH", // a credentials problem fails every message alike; the error budget pauses the sending
  "ENOAUTH",
  "EMAXLIMIT",
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
]);

/** Masks addresses so that one reason groups the failures of many recipients. */
function generalize(text: string): string {
  return text
    .replace(/[^\s<>"'()[\]]+@[^\s<>"'()[\]]+/g, "…")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, MAX_REASON_LENGTH);
}

/**
 * Sorts an SMTP failure into temporary (4xx replies, lost connections, timeouts: retried later)
 * and permanent (5xx replies, malformed messages: that recipient fails).
 */
export function classifySmtpError(error: unknown): { temporary: boolean; reason: string; response: string } {
  const e = (error ?? {}) as { code?: string; responseCode?: number; response?: string; message?: string };
  const response = (e.response ?? e.message ?? String(error)).slice(0, MAX_RESPONSE_LENGTH);
  if (typeof e.responseCode === "number" && e.responseCode >= 400) {
    const reason = generalize(e.response ?? `${e.responseCode} ${e.message ?? ""}`);
    return { temporary: e.responseCode < 500, reason, response };
  }
  const code = e.code ?? "";
  const reason = generalize(code ? `${code}: ${e.message ?? ""}` : (e.message ?? String(error)));
  if (TEMPORARY_CODES.has(code)) return { temporary: true, reason, response };
  // A refused envelope or message without a reply code (an invalid address, say) will not improve with time.
  if (code === "EENVELOPE" || code === "EMESSAGE" || code === "EMAXRECIPIENTS") return { temporary: false, reason, response };
  return { temporary: true, reason, response };
}

function toNodemailer(message: OutgoingMessage) {
  return {
    from: message.from.name ? { name: message.from.name, address: message.from.address } : message.from.address,
    to: message.to,
    replyTo: message.replyTo ?? undefined,
    subject: message.subject,
    html: message.html,
    text: message.text,
    messageId: message.messageId,
    headers: message.headers,
  };
}

/** Options shared by sendgate's pool and the delivery benchmark's bare pool, so both compare alike. */
export function poolOptions(mail: Pick<Config["mail"], "concurrency">) {
  return {
    pool: true as const,
    maxConnections: mail.concurrency,
    // A fresh connection every thousand messages: some servers cap a session, and none minds this.
    maxMessages: 1000,
    // The engine retries, with backoff, the error budget and the same Message-ID. The pool's own
    // silent re-queueing could also hand over a message whose failure the engine was already told of.
    maxRequeues: 0,
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 60_000,
  };
}

/**
 * The mailer sendgate delivers through: a pooled SMTP transport when SMTP_URL is set (rate and
 * concurrency are paced by the engine; the pool holds SEND_CONCURRENCY connections), otherwise an
 * outbox directory of `.eml` files, one per message, named by its Message-ID.
 */
export function createMailer(mail: Config["mail"], log: Logger): Mailer {
  if (mail.smtpUrl) return createSmtpMailer(mail.smtpUrl, mail, log);
  return createOutboxMailer(mail.outboxDir, log, mail.dkim);
}

function createSmtpMailer(smtpUrl: string, mail: Config["mail"], log: Logger): Mailer {
  const transport = nodemailer.createTransport({ url: smtpUrl, ...poolOptions(mail), ...(mail.dkim ? { dkim: mail.dkim } : {}) });
  const url = new URL(smtpUrl);
  const target = `${url.protocol}//${url.hostname}${url.port ? `:${url.port}` : ""}`;
  log.info({ target, connections: mail.concurrency, rate: mail.rate, dkim: mail.dkim ? `${mail.dkim.keySelector}._domainkey.${mail.dkim.domainName}` : "off" }, "mail goes out over SMTP");
  return {
    target,
    async send(message) {
      try {
        const info = await transport.sendMail(toNodemailer(message));
        if (info.rejected.length > 0) {
          const response = String(info.response ?? "recipient rejected").slice(0, MAX_RESPONSE_LENGTH);
          return { accepted: false, temporary: false, reason: generalize(response), response };
        }
        return { accepted: true, response: String(info.response ?? "").slice(0, MAX_RESPONSE_LENGTH) };
      } catch (error) {
        return { accepted: false, ...classifySmtpError(error) };
      }
    },
    async close() {
      transport.close();
    },
  };
}

/** Writes each message as `<outbox>/<message-id>.eml`; a re-send after a crash overwrites the same file. */
export function createOutboxMailer(outboxDir: string, log: Logger, dkim?: Config["mail"]["dkim"]): Mailer {
  const directory = resolve(outboxDir);
  mkdirSync(directory, { recursive: true });
  // Signed like the real thing, so that what the outbox shows is what a server would receive.
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: "windows", ...(dkim ? { dkim } : {}) });
  log.warn({ outbox: directory }, "SMTP_URL is not set: mail is written as .eml files to the outbox, nothing is sent");
  return {
    target: directory,
    async send(message) {
      try {
        const info = await transport.sendMail(toNodemailer(message));
        const name = message.messageId.replace(/^<|>$/g, "").replace(/[^A-Za-z0-9._@+-]/g, "_");
        const file = join(directory, `${name}.eml`);
        // Written aside and renamed, so a reader of the outbox never sees half a message.
        const partial = `${file}.partial`;
        await writeFile(partial, info.message as Buffer);
        await rename(partial, file);
        return { accepted: true, response: `written to ${file}` };
      } catch (error) {
        // A full disk or a permission problem: nothing about the recipient, so it is worth another try.
        const reason = generalize(`outbox: ${(error as Error).message}`);
        return { accepted: false, temporary: true, reason, response: reason };
      }
    },
    async close() {},
  };
}

/** The same mailer, telling `observe` how each handoff went and how long it took (the metrics). */
export function measuredMailer(mailer: Mailer, observe: (outcome: "sent" | "failed" | "retried", seconds: number) => void): Mailer {
  return {
    target: mailer.target,
    async send(message) {
      const started = performance.now();
      const outcome = await mailer.send(message);
      observe(outcome.accepted ? "sent" : outcome.temporary ? "retried" : "failed", (performance.now() - started) / 1000);
      return outcome;
    },
    close: () => mailer.close(),
  };
}
