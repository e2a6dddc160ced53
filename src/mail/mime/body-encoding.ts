/**
 * Content-Transfer-Encoding of a text part, chosen as nodemailer chooses it, so that every mail
 * client reads the same text either way: 7bit when the text is plain ASCII with lines of 76
 * characters at most; quoted-printable when it is mostly Latin letters; base64 otherwise. 7bit and
 * quoted-printable write line breaks of any kind (CRLF, LF, a lone CR) as CRLF, as nodemailer's SMTP
 * connection did; base64 carries the text's bytes as they are.
 */
export interface EncodedBody {
  encoding: "7bit" | "quoted-printable" | "base64";
  bytes: Buffer;
}

const MAX_LINE = 76;

/** 1 for the bytes quoted-printable writes as they are: printable ASCII except `=`, and tab. */
const LITERAL = new Uint8Array(256);
for (let byte = 0x20; byte <= 0x7e; byte++) LITERAL[byte] = byte === 0x3d ? 0 : 1;
LITERAL[0x09] = 1;
const HEX = Buffer.from("0123456789ABCDEF", "latin1");

const CR = 0x0d;
const LF = 0x0a;
const SPACE = 0x20;
const TAB = 0x09;
const DOT = 0x2e;
const EQUALS = 0x3d;

/** `boundary`: a multipart boundary the text must not hold; one that holds it is quoted-printable, which escapes every `=`. */
export function encodeBody(text: string, boundary?: string): EncodedBody {
  // Scanned once: both choices below start from it.
  const ascii = PLAIN_ASCII.test(text);
  if (ascii && !hasLongLine(text) && !(boundary && text.includes(boundary))) return { encoding: "7bit", bytes: withCrlf(text) };
  if (isMostlyLatin(text, ascii)) return { encoding: "quoted-printable", bytes: encodeQuotedPrintable(text) };
  return { encoding: "base64", bytes: encodeBase64(text) };
}

/** Printable ASCII, tab and line breaks (DEL too, as nodemailer counts it). */
const PLAIN_ASCII = /^[\t\n\r\x20-\x7f]*$/;
const LATIN_LETTER = /[A-Za-z]/;

function hasLongLine(text: string): boolean {
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf("\n", start);
    if (end === -1) end = text.length;
    // A lone CR breaks a line too; only a long stretch needs the closer look.
    if (end - start > MAX_LINE) {
      let column = 0;
      for (let i = start; i < end; i++) {
        if (text.charCodeAt(i) === CR) column = 0;
        else if (++column > MAX_LINE) return true;
      }
    }
    start = end + 1;
  }
  return false;
}

/** More Latin letters than other characters outside ASCII and control characters: nodemailer's pick of quoted-printable over base64. */
function isMostlyLatin(text: string, ascii: boolean): boolean {
  // Plain ASCII has nothing of the other kind: a single letter decides.
  if (ascii) return LATIN_LETTER.test(text);
  let latin = 0;
  let other = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x80 || (code < SPACE && code !== TAB && code !== CR && code !== LF)) other++;
    else if ((code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a)) latin++;
  }
  return other < latin;
}

function encodeBase64(text: string): Buffer {
  const encoded = Buffer.from(text, "utf8").toString("base64");
  const lines: string[] = [];
  for (let at = 0; at < encoded.length; at += MAX_LINE) lines.push(encoded.slice(at, at + MAX_LINE));
  return Buffer.from(lines.join("\r\n"), "latin1");
}

/** ASCII text with CRLF line breaks; text that has no CR (a derived text part) gets one before each LF, copied in runs. */
function withCrlf(text: string): Buffer {
  if (text.includes("\r")) return Buffer.from(/\r(?!\n)|(?<!\r)\n/.test(text) ? text.replace(/\r\n|\r|\n/g, "\r\n") : text, "latin1");
  const input = Buffer.from(text, "latin1");
  let breaks = 0;
  for (let at = input.indexOf(LF); at !== -1; at = input.indexOf(LF, at + 1)) breaks++;
  if (breaks === 0) return input;
  const output = Buffer.allocUnsafe(input.length + breaks);
  let out = 0;
  let start = 0;
  for (let at = input.indexOf(LF); at !== -1; at = input.indexOf(LF, at + 1)) {
    out += input.copy(output, out, start, at);
    output[out++] = CR;
    output[out++] = LF;
    start = at + 1;
  }
  input.copy(output, out, start);
  return output;
}

/** Characters on a line before its soft break's `=`. */
const QP_ROOM = MAX_LINE - 1;

/** UTF-8 bytes of the character a lead byte starts, from its high bits (only valid UTF-8 comes in: Buffer.from writes it). */
function sequenceLength(lead: number): number {
  return lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
}

/**
 * Quoted-printable (RFC 2045 §6.7) of the text's UTF-8 bytes: lines kept to 76 characters with soft
 * breaks that never split an escaped character; whitespace before a line break and a dot at the start
 * of a line are encoded, so no line ends in whitespace a server may strip and none needs dot-stuffing.
 * One pass over the bytes with a table of those written as they are: a per-run pattern search and a
 * string slice per piece cost several times more for a message's few kilobytes.
 */
export function encodeQuotedPrintable(text: string): Buffer {
  const input = Buffer.from(text, "utf8");
  const length = input.length;
  // Each byte takes at most 3 characters; a line holds at least 21 bytes' worth before its soft break.
  const output = scratch(length * 3 + Math.ceil(length / 20) * 3 + 3);
  let out = 0;
  let column = 0;
  let i = 0;
  while (i < length) {
    const byte = input[i] as number;
    if (byte === CR || byte === LF) {
      i += byte === CR && input[i + 1] === LF ? 2 : 1;
      output[out++] = CR;
      output[out++] = LF;
      column = 0;
      continue;
    }
    if (LITERAL[byte] === 1 && !(byte === DOT && column === 0)) {
      if (column >= QP_ROOM) {
        output[out++] = EQUALS;
        output[out++] = CR;
        output[out++] = LF;
        column = 0;
        // A dot the soft break brought to the start of a line is escaped below.
        if (byte === DOT) continue;
      }
      // The run of bytes written as they are, as far as the line has room, copied whole.
      const limit = Math.min(length, i + QP_ROOM - column);
      let end = i + 1;
      while (end < limit && LITERAL[input[end] as number] === 1) end++;
      // Whitespace before a line break (or the end) is escaped.
      const after = end === length ? LF : (input[end] as number);
      const last = input[end - 1] as number;
      if ((after === CR || after === LF) && (last === SPACE || last === TAB)) end--;
      if (end > i) {
        input.copy(output, out, i, end);
        out += end - i;
        column += end - i;
        i = end;
        continue;
      }
    }
    // Escaped: `=`, control characters, DEL, whitespace ending a line, a leading dot, and each character outside ASCII whole.
    const count = byte >= 0xc0 ? sequenceLength(byte) : 1;
    if (column + 3 * count > QP_ROOM) {
      output[out++] = EQUALS;
      output[out++] = CR;
      output[out++] = LF;
      column = 0;
    }
    for (let k = 0; k < count; k++) out = escapeByte(output, out, input[i + k] as number);
    column += 3 * count;
    i += count;
  }
  return Buffer.from(output.subarray(0, out));
}

function escapeByte(output: Buffer, out: number, byte: number): number {
  output[out] = EQUALS;
  output[out + 1] = HEX[byte >> 4] as number;
  output[out + 2] = HEX[byte & 0x0f] as number;
  return out + 3;
}

let scratchBuffer = Buffer.allocUnsafe(64 * 1024);
/** One working buffer for every encoding (they never overlap): no large allocation a message. */
function scratch(size: number): Buffer {
  if (scratchBuffer.length < size) scratchBuffer = Buffer.allocUnsafe(size);
  return scratchBuffer;
}
