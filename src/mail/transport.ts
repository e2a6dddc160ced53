import { mkdirSync } from "node:fs";
import { rename, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import nodemailer from "nodemailer";
import type { Logger } from "pino";
import type { Config, SmtpTimeouts } from "../config.js";
import { composeMessage, messageBytes, type ComposedMessage } from "./mime/compose-message.js";
import { createDkimSigner } from "./mime/dkim-signature.js";
import type { Envelope, SmtpConnectionOptions } from "./smtp/smtp-connection.js";
import { createSmtpPool } from "./smtp/smtp-pool.js";

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

/** The waits when the configuration names none (SMTP_*_TIMEOUT_SECONDS' defaults). */
export const DEFAULT_SMTP_TIMEOUTS: SmtpTimeouts = { connectionMs: 30_000, greetingMs: 30_000, socketMs: 60_000 };

/** Options shared by sendgate's pool and the delivery benchmark's bare pool, so both compare alike. */
export function poolOptions(mail: Pick<Config["mail"], "concurrency" | "timeouts">) {
  const timeouts = mail.timeouts ?? DEFAULT_SMTP_TIMEOUTS;
  return {
    pool: true as const,
    maxConnections: mail.concurrency,
    // A fresh connection every thousand messages: some servers cap a session, and none minds this.
    maxMessages: 1000,
    // The engine retries, with backoff, the error budget and the same Message-ID. The pool's own
    // silent re-queueing could also hand over a message whose failure the engine was already told of.
    maxRequeues: 0,
    connectionTimeout: timeouts.connectionMs,
    greetingTimeout: timeouts.greetingMs,
    socketTimeout: timeouts.socketMs,
  };
}

/** An idle pooled connection is closed after this long; the next message opens a new one. */
const IDLE_TIMEOUT_MS = 30_000;

/**
 * The mailer sendgate delivers through: a pooled SMTP transport when SMTP_URL is set (rate and
 * concurrency are paced by the engine; the pool holds SEND_CONCURRENCY connections), otherwise an
 * outbox directory of `.eml` files, one per message, named by its Message-ID. Either way each message
 * is composed here (and signed when DKIM is configured), as the bytes that go out.
 */
export function createMailer(mail: Config["mail"], log: Logger): Mailer {
  if (mail.smtpUrl) return createSmtpMailer(mail.smtpUrl, mail, log);
  return createOutboxMailer(mail.outboxDir, log, mail.dkim);
}

/** The message's bytes and envelope, signed first when DKIM is configured. */
function createComposer(dkim: Config["mail"]["dkim"]) {
  const sign = dkim ? createDkimSigner(dkim) : undefined;
  return (message: OutgoingMessage): { envelope: Envelope; raw: Buffer } => {
    const composed: ComposedMessage = composeMessage(message);
    return { envelope: composed.envelope, raw: messageBytes(composed, sign?.(composed)) };
  };
}

/** What hands composed messages to the SMTP server: resolves with its reply, throws what classifySmtpError reads. */
interface Carrier {
  send(envelope: Envelope, raw: Buffer): Promise<string>;
  close(): Promise<void>;
}

/** SMTP_URL query options the built-in pool understands (nodemailer's names); any other one is handed to nodemailer's pool. */
const POOL_URL_OPTIONS = new Set(["secure", "requireTLS", "ignoreTLS", "name", "tls.rejectUnauthorized", "tls.servername"]);

/** The SMTP_URL as the built-in pool's settings, or why nodemailer's pool has to serve it. */
export function smtpConnectionOptions(smtpUrl: string, timeouts: SmtpTimeouts = DEFAULT_SMTP_TIMEOUTS): SmtpConnectionOptions | { unsupported: string } {
  const url = new URL(smtpUrl);
  const unsupported = [...url.searchParams.keys()].filter((key) => !POOL_URL_OPTIONS.has(key));
  if (unsupported.length > 0) return { unsupported: unsupported.join(", ") };
  const flag = (name: string) => url.searchParams.get(name) === "true";
  const secure = url.searchParams.has("secure") ? flag("secure") : url.protocol === "smtps:";
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const tlsOptions: SmtpConnectionOptions["tls"] = {};
  if (url.searchParams.has("tls.rejectUnauthorized")) tlsOptions.rejectUnauthorized = flag("tls.rejectUnauthorized");
  const servername = url.searchParams.get("tls.servername");
  if (servername) tlsOptions.servername = servername;
  const machine = hostname();
  return {
    host,
    port: Number(url.port) || (secure ? 465 : 587),
    secure,
    requireTLS: flag("requireTLS"),
    ignoreTLS: flag("ignoreTLS"),
    tls: tlsOptions,
    auth: url.username || url.password ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } : undefined,
    // What nodemailer says in EHLO: the machine's name when it is fully qualified, else an address literal.
    clientName: (url.searchParams.get("name") || (machine.includes(".") ? (/^\d{1,3}(\.\d{1,3}){3}$/.test(machine) ? `[${machine}]` : machine) : "[127.0.0.1]")).replace(/[\r\n]+/g, ""),
    connectionTimeoutMs: timeouts.connectionMs,
    greetingTimeoutMs: timeouts.greetingMs,
    socketTimeoutMs: timeouts.socketMs,
  };
}

function createCarrier(smtpUrl: string, mail: Config["mail"], log: Logger): Carrier {
  const options = smtpConnectionOptions(smtpUrl, mail.timeouts);
  if ("unsupported" in options) {
    log.info({ options: options.unsupported }, "SMTP_URL has options only nodemailer's pool understands: messages go through it");
    const transport = nodemailer.createTransport({ url: smtpUrl, ...poolOptions(mail) });
    return {
      async send(envelope, raw) {
        const info = await transport.sendMail({ envelope: { from: envelope.from, to: [envelope.to] }, raw });
        if (info.rejected.length > 0) {
          throw Object.assign(new Error(String(info.response ?? "recipient rejected")), { code: "EENVELOPE", response: String(info.response ?? "recipient rejected") });
        }
        return String(info.response ?? "");
      },
      async close() {
        transport.close();
      },
    };
  }
  const { maxConnections, maxMessages } = poolOptions(mail);
  return createSmtpPool({ ...options, maxConnections, maxMessages, idleTimeoutMs: IDLE_TIMEOUT_MS });
}

function createSmtpMailer(smtpUrl: string, mail: Config["mail"], log: Logger): Mailer {
  const carrier = createCarrier(smtpUrl, mail, log);
  const compose = createComposer(mail.dkim);
  const url = new URL(smtpUrl);
  const target = `${url.protocol}//${url.hostname}${url.port ? `:${url.port}` : ""}`;
  log.info({ target, connections: mail.concurrency, rate: mail.rate, dkim: mail.dkim ? `${mail.dkim.keySelector}._domainkey.${mail.dkim.domainName}` : "off" }, "mail goes out over SMTP");
  return {
    target,
    async send(message) {
      try {
        const { envelope, raw } = compose(message);
        const response = await carrier.send(envelope, raw);
        return { accepted: true, response: response.slice(0, MAX_RESPONSE_LENGTH) };
      } catch (error) {
        return { accepted: false, ...classifySmtpError(error) };
      }
    },
    close: () => carrier.close(),
  };
}

/** Writes each message as `<outbox>/<message-id>.eml`; a re-send after a crash overwrites the same file. */
export function createOutboxMailer(outboxDir: string, log: Logger, dkim?: Config["mail"]["dkim"]): Mailer {
  const directory = resolve(outboxDir);
  mkdirSync(directory, { recursive: true });
  // Composed and signed like the real thing, so that what the outbox shows is what a server would receive.
  const compose = createComposer(dkim);
  log.warn({ outbox: directory }, "SMTP_URL is not set: mail is written as .eml files to the outbox, nothing is sent");
  return {
    target: directory,
    async send(message) {
      try {
        const { raw } = compose(message);
        const name = message.messageId.replace(/^<|>$/g, "").replace(/[^A-Za-z0-9._@+-]/g, "_");
        const file = join(directory, `${name}.eml`);
        // Written aside and renamed, so a reader of the outbox never sees half a message.
        const partial = `${file}.partial`;
        await writeFile(partial, raw);
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
