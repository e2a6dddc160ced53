import { randomBytes } from "node:crypto";
import { foldLines } from "nodemailer/lib/mime-funcs";
import MimeNode from "nodemailer/lib/mime-node";
import type { OutgoingMessage } from "../transport.js";
import { encodeBody, type EncodedBody } from "./body-encoding.js";

/**
 * One message as it goes on the wire: its envelope, its header lines and its body. Built directly,
 * not through a MIME tree and streams: nodemailer's composer cost more CPU per message than
 * everything else in a delivery. What needs care (encoded words, address quoting, punycode, folding)
 * still goes through nodemailer's own encoders, so the headers read as nodemailer would write them;
 * the common case (plain ASCII that fits a line) is written as is, which is what those encoders
 * return for it.
 */
export interface ComposedMessage {
  envelope: { from: string; to: string };
  /** Header lines, `Name: value`, folded with CRLF, without the line break that ends each. */
  headers: string[];
  /** Everything after the blank line: CRLF line breaks only, no line longer than 78 characters. */
  body: Buffer;
}

/** Fixed for the process. Base64 and quoted-printable cannot hold it (`=` is always escaped or padding); a 7bit part that does is sent quoted-printable. */
const BOUNDARY = `=_sendgate_${randomBytes(12).toString("hex")}`;
const MULTIPART = `Content-Type: multipart/alternative;\r\n boundary="${BOUNDARY}"`;
const CRLF = Buffer.from("\r\n", "latin1");
const MULTIPART_END = Buffer.from(`\r\n--${BOUNDARY}--\r\n`, "latin1");

function partHeaders(type: "plain" | "html", body: EncodedBody): string[] {
  return [`Content-Type: text/${type}; charset=utf-8`, `Content-Transfer-Encoding: ${body.encoding}`];
}

/** The boundary and headers that open each part, written once for every kind of part. */
const PART_STARTS = new Map<string, Buffer>();
for (const type of ["plain", "html"] as const) {
  for (const encoding of ["7bit", "quoted-printable", "base64"] as const) {
    for (const first of [true, false]) {
      const headers = partHeaders(type, { encoding, bytes: Buffer.alloc(0) }).join("\r\n");
      PART_STARTS.set(`${type} ${encoding} ${first}`, Buffer.from(`${first ? "" : "\r\n"}--${BOUNDARY}\r\n${headers}\r\n\r\n`, "latin1"));
    }
  }
}

function partStart(type: "plain" | "html", body: EncodedBody, first: boolean): Buffer {
  return PART_STARTS.get(`${type} ${body.encoding} ${first}`) as Buffer;
}

/** Longest header line written as is; nodemailer folds at 76 characters. */
const MAX_PLAIN_LINE = 75;
const PRINTABLE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;
/** A dot-atom address at a lower-case ASCII domain: nodemailer leaves it as it is, in the header and the envelope. */
const PLAIN_ADDRESS =
  /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/;

type AddressValue = string | { name: string; address: string };

/** `Name: value` as nodemailer writes it; undefined when the value is blank (nodemailer leaves such a header out). */
function headerLine(name: string, value: AddressValue): string | undefined {
  if (typeof value === "string" && name.length + 2 + value.length <= MAX_PLAIN_LINE && PRINTABLE.test(value)) {
    if (name === "To" || name === "From" || name === "Reply-To") {
      if (PLAIN_ADDRESS.test(value)) return `${name}: ${value}`;
    } else if (name !== "Message-ID" || (value.startsWith("<") && value.endsWith(">"))) {
      return `${name}: ${value}`;
    }
  }
  const encoded = MimeNode.encodeHeaderValue(name, value);
  return encoded.trim() ? foldLines(`${name}: ${encoded}`, 76) : undefined;
}

/** The From, Reply-To and envelope sender of a sending repeat for every recipient: encoded once. */
const senderCache = new Map<string, { from?: string; replyTo?: string; envelopeFrom: string }>();
const SENDER_CACHE_LIMIT = 1_000;

function senderOf(message: OutgoingMessage) {
  const { name, address } = message.from;
  const key = `${name ?? ""}\u0000${address}\u0000${message.replyTo ?? ""}`;
  let sender = senderCache.get(key);
  if (!sender) {
    const from: AddressValue = name ? { name, address } : address;
    sender = {
      from: headerLine("From", from),
      replyTo: message.replyTo ? headerLine("Reply-To", message.replyTo) : undefined,
      envelopeFrom: envelopeOf(from, message.to).from,
    };
    if (senderCache.size >= SENDER_CACHE_LIMIT) senderCache.clear();
    senderCache.set(key, sender);
  }
  return sender;
}

/** The envelope nodemailer would derive from the From and To headers (normalized addresses, punycoded domains). */
function envelopeOf(from: AddressValue, to: string): { from: string; to: string } {
  const node = new MimeNode();
  node.setHeader("From", from);
  node.setHeader("To", to);
  const envelope = node.getEnvelope();
  return { from: envelope.from || "", to: envelope.to[0] ?? "" };
}

let dateSecond = -1;
let dateValue = "";
/** The Date header's value, written once a second. */
function currentDate(now: number): string {
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateValue = new Date(second * 1000).toUTCString().replace(/GMT/, "+0000");
  }
  return dateValue;
}

const HEADER_NAME = /^[A-Za-z0-9-]+$/;

/**
 * The message nodemailer would compose from the same fields, equal as a mail client reads it:
 * multipart/alternative with the text and the HTML part (one part alone when the other is empty),
 * UTF-8, each part 7bit, quoted-printable or base64 as nodemailer would pick.
 */
export function composeMessage(message: OutgoingMessage, now = Date.now()): ComposedMessage {
  const sender = senderOf(message);
  const to = headerLine("To", message.to);
  const lines = [sender.from, to, sender.replyTo, headerLine("Subject", message.subject), headerLine("Message-ID", message.messageId)];
  const headers: string[] = [];
  for (const line of lines) if (line !== undefined) headers.push(line);
  headers.push(`Date: ${currentDate(now)}`, "MIME-Version: 1.0");
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    const line = HEADER_NAME.test(name) ? headerLine(name, value) : undefined;
    if (line !== undefined) headers.push(line);
  }

  const envelopeTo = to === `To: ${message.to}` ? message.to : envelopeOf(message.from.address, message.to).to;
  const envelope = { from: sender.envelopeFrom, to: envelopeTo };
  if (message.text && message.html) {
    headers.push(MULTIPART);
    const text = encodeBody(message.text, BOUNDARY);
    const html = encodeBody(message.html, BOUNDARY);
    const body = Buffer.concat([partStart("plain", text, true), text.bytes, partStart("html", html, false), html.bytes, MULTIPART_END]);
    return { envelope, headers, body };
  }
  const type = !message.text && message.html ? "html" : "plain";
  const single = encodeBody(type === "html" ? message.html : message.text);
  headers.push(...partHeaders(type, single));
  const { bytes } = single;
  // The message ends with a line break, as nodemailer ends it.
  const endsWithBreak = bytes.length >= 2 && bytes[bytes.length - 2] === 0x0d && bytes[bytes.length - 1] === 0x0a;
  return { envelope, headers, body: endsWithBreak ? bytes : Buffer.concat([bytes, CRLF]) };
}

/** The message as bytes: header lines (after any given first, such as a signature), a blank line, the body. */
export function messageBytes(message: ComposedMessage, first?: string): Buffer {
  const head = `${first ? `${first}\r\n` : ""}${message.headers.join("\r\n")}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, "utf8"), message.body]);
}
