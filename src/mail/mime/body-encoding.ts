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
  if (isSevenBit(text) && !(boundary && text.includes(boundary))) return { encoding: "7bit", bytes: withCrlf(text) };
  if (isMostlyLatin(text)) return { encoding: "quoted-printable", bytes: encodeQuotedPrintable(text) };
  return { encoding: "base64", bytes: encodeBase64(text) };
}

/** Printable ASCII, tab and line breaks (DEL too, as nodemailer counts it). */
const PLAIN_ASCII = /^[\t\n\r\x20-\x7f]*$/;
const LATIN_LETTER = /[A-Za-z]/;

/** ASCII without control characters other than tab and line breaks, no line over 76 characters: sent as it is. */
function isSevenBit(text: string): boolean {
  return PLAIN_ASCII.test(text) && !hasLongLine(text);
}

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
function isMostlyLatin(text: string): boolean {
  // Plain ASCII has nothing of the other kind: a single letter decides.
  if (PLAIN_ASCII.test(text)) return LATIN_LETTER.test(text);
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

function withCrlf(text: string): Buffer {
  return Buffer.from(/\r(?!\n)|(?<!\r)\n/.test(text) ? text.replace(/\r\n|\r|\n/g, "\r\n") : text, "latin1");
}

/**
 * Quoted-printable (RFC 2045 §6.7) of the UTF-8 bytes: lines kept to 76 characters with soft breaks
 * that never split an `=XX`; whitespace before a line break and a dot at the start of a line are
 * encoded, so no line ends in whitespace a server may strip and none needs dot-stuffing.
 */
export function encodeQuotedPrintable(text: string): Buffer {
  const input = Buffer.from(text, "utf8");
  const length = input.length;
  // Each byte takes three characters at most, and each soft break three more every 73 or so.
  const output = Buffer.allocUnsafe(length * 3 + Math.ceil((length * 3) / 72) * 3 + 2);
  let out = 0;
  let column = 0;
  for (let i = 0; i < length; i++) {
    const byte = input[i] as number;
    if (byte === CR || byte === LF) {
      if (byte === CR && input[i + 1] === LF) i++;
      output[out++] = CR;
      output[out++] = LF;
      column = 0;
      continue;
    }
    const next = input[i + 1];
    const lineEnds = next === undefined || next === CR || next === LF;
    const literal = LITERAL[byte] === 1 && !((byte === SPACE || byte === TAB) && lineEnds);
    // Room for what follows and, unless the line ends here, the `=` of a soft break.
    if (column + (literal ? 1 : 3) > (lineEnds ? MAX_LINE : MAX_LINE - 1)) {
      output[out++] = EQUALS;
      output[out++] = CR;
      output[out++] = LF;
      column = 0;
    }
    if (literal && !(byte === DOT && column === 0)) {
      output[out++] = byte;
      column += 1;
    } else {
      output[out++] = EQUALS;
      output[out++] = HEX[byte >> 4] as number;
      output[out++] = HEX[byte & 0x0f] as number;
      column += 3;
    }
  }
  return output.subarray(0, out);
}
