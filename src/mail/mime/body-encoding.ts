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

/** What quoted-printable cannot write as it is: `=`, control characters (line breaks included), DEL and everything outside ASCII. */
const QP_SPECIAL = /[^\t\x20-\x3c\x3e-\x7e]/g;
/** Characters on a line before its soft break's `=`. */
const QP_ROOM = MAX_LINE - 1;

/**
 * Quoted-printable (RFC 2045 §6.7) of the text's UTF-8 bytes: lines kept to 76 characters with soft
 * breaks that never split an escaped character; whitespace before a line break and a dot at the start
 * of a line are encoded, so no line ends in whitespace a server may strip and none needs dot-stuffing.
 * Runs of characters written as they are (most of a message) are found by a pattern and copied whole.
 */
export function encodeQuotedPrintable(text: string): Buffer {
  const length = text.length;
  // A UTF-16 unit takes at most 9 characters (3 bytes, each =XX); a soft break adds 3 every 25 of those.
  const output = scratch(length * 9 + Math.ceil((length * 9) / 25) * 3 + 3);
  let out = 0;
  let column = 0;
  const softBreak = () => {
    output[out++] = EQUALS;
    output[out++] = CR;
    output[out++] = LF;
    column = 0;
  };
  const escape = (byte: number) => {
    output[out++] = EQUALS;
    output[out++] = HEX[byte >> 4] as number;
    output[out++] = HEX[byte & 0x0f] as number;
    column += 3;
  };
  let i = 0;
  while (i < length) {
    QP_SPECIAL.lastIndex = i;
    const special = QP_SPECIAL.exec(text);
    const runEnd = special ? special.index : length;
    const next = special ? text.charCodeAt(runEnd) : -1;
    const endsLine = next === -1 || next === CR || next === LF;
    // The run of characters written as they are, in pieces that fit the line.
    while (i < runEnd) {
      if (column >= QP_ROOM) softBreak();
      const code = text.charCodeAt(i);
      if (column === 0 && code === DOT) {
        escape(DOT);
        i++;
        continue;
      }
      let end = Math.min(runEnd, i + QP_ROOM - column);
      if (end === runEnd && endsLine) {
        const last = text.charCodeAt(end - 1);
        // Whitespace that would end a line is escaped.
        if (last === SPACE || last === TAB) end--;
      }
      if (end > i) {
        out += output.write(text.slice(i, end), out, "latin1");
        column += end - i;
        i = end;
      } else {
        if (column + 3 > QP_ROOM) softBreak();
        escape(code);
        i++;
      }
    }
    if (!special) break;
    const code = next;
    if (code === CR || code === LF) {
      i += code === CR && text.charCodeAt(i + 1) === LF ? 2 : 1;
      output[out++] = CR;
      output[out++] = LF;
      column = 0;
      continue;
    }
    i++;
    if (code < 0x80) {
      if (column + 3 > QP_ROOM) softBreak();
      escape(code);
      continue;
    }
    // Outside ASCII: the character's UTF-8 bytes, as Buffer.from writes them (a lone surrogate as U+FFFD), on one line.
    let point = code;
    if (code >= 0xd800 && code <= 0xdbff) {
      const low = text.charCodeAt(i);
      if (low >= 0xdc00 && low <= 0xdfff) {
        point = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        i++;
      } else {
        point = 0xfffd;
      }
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      point = 0xfffd;
    }
    const bytes = point < 0x800 ? 2 : point < 0x10000 ? 3 : 4;
    if (column + 3 * bytes > QP_ROOM) softBreak();
    if (bytes === 2) {
      escape(0xc0 | (point >> 6));
    } else if (bytes === 3) {
      escape(0xe0 | (point >> 12));
      escape(0x80 | ((point >> 6) & 0x3f));
    } else {
      escape(0xf0 | (point >> 18));
      escape(0x80 | ((point >> 12) & 0x3f));
      escape(0x80 | ((point >> 6) & 0x3f));
    }
    escape(0x80 | (point & 0x3f));
  }
  return Buffer.from(output.subarray(0, out));
}

let scratchBuffer = Buffer.allocUnsafe(64 * 1024);
/** One working buffer for every encoding (they never overlap): no large allocation a message. */
function scratch(size: number): Buffer {
  if (scratchBuffer.length < size) scratchBuffer = Buffer.allocUnsafe(size);
  return scratchBuffer;
}
