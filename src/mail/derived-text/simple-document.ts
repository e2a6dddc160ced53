import type { DocumentHandler, DomNode } from "./nodes.js";

/**
 * Reads plain HTML (what templates are made of) into the document htmlparser2 and domhandler would
 * build, several times faster than htmlparser2's character-by-character tokenizer: tags with
 * well-formed attributes, text, the common character references, comments, doctypes, and raw text
 * in script, style, title and textarea, with htmlparser2's rules for what closes what. Anything else
 * (a stray `<`, an unknown or unterminated reference, SVG or MathML, CDATA, an unclosed comment…)
 * answers undefined, and htmlparser2 reads the document instead.
 */
export function readSimpleDocument(html: string, handler: DocumentHandler): DomNode[] | undefined {
  handler.reset();
  const stack: string[] = [];

  const length = html.length;
  let i = 0;
  while (i < length) {
    const lt = html.indexOf("<", i);
    const textEnd = lt === -1 ? length : lt;
    if (textEnd > i) {
      const text = decodeText(html, i, textEnd);
      if (text === undefined) return undefined;
      handler.ontext(text);
    }
    if (lt === -1) break;
    i = lt;
    const next = html.charCodeAt(i + 1);
    if (isAsciiAlpha(next)) {
      const tag = readOpenTag(html, i + 1);
      if (!tag) return undefined;
      const { name, attribs } = tag;
      if (FOREIGN_OR_UNSUPPORTED.has(name)) return undefined;
      open(name, attribs, stack, handler);
      i = tag.end;
      const raw = RAW_TEXT_ELEMENTS.get(name);
      if (raw) {
        // Raw text up to the element's end tag; only a title's has character references.
        raw.lastIndex = i;
        const end = raw.exec(html);
        if (!end) return undefined;
        if (end.index > i) {
          const text = name === "title" ? decodeText(html, i, end.index) : html.slice(i, end.index);
          if (text === undefined) return undefined;
          handler.ontext(text);
        }
        i = end.index;
      }
    } else if (next === SLASH) {
      END_TAG.lastIndex = i;
      const end = END_TAG.exec(html);
      if (!end) return undefined;
      const name = (end[1] as string).toLowerCase();
      if (FOREIGN_OR_UNSUPPORTED.has(name)) return undefined;
      i = END_TAG.lastIndex;
      if (VOID_ELEMENTS.has(name)) {
        // `</br>` is a line break; other void elements' end tags are dropped.
        if (name === "br") {
          handler.onopentag("br", {});
          handler.onclosetag();
        }
        continue;
      }
      const at = stack.lastIndexOf(name);
      if (at !== -1) {
        while (stack.length > at) {
          stack.pop();
          handler.onclosetag();
        }
      } else if (name === "p") {
        // `</p>` with no paragraph open is an empty one.
        open("p", {}, stack, handler);
        stack.pop();
        handler.onclosetag();
      }
    } else if (html.startsWith("<!--", i)) {
      if (html.charCodeAt(i + 4) === GT || html.startsWith("->", i + 4)) return undefined;
      const end = html.indexOf("-->", i + 4);
      if (end === -1) return undefined;
      handler.oncomment();
      handler.oncommentend();
      i = end + 3;
    } else if ((next === BANG && isAsciiAlpha(html.charCodeAt(i + 2))) || next === QUESTION) {
      // <!DOCTYPE …> and <?xml …?>: nodes html-to-text passes by.
      const end = html.indexOf(">", i + 2);
      if (end === -1) return undefined;
      handler.onprocessinginstruction();
      i = end + 1;
    } else {
      return undefined;
    }
  }
  for (let open = stack.length; open > 0; open--) handler.onclosetag();
  return handler.take();
}

/** An element starts: those it closes first (htmlparser2's rules), then it, at once closed if void. */
function open(name: string, attribs: Record<string, string>, stack: string[], handler: DocumentHandler) {
  const impliesClose = OPEN_IMPLIES_CLOSE.get(name);
  if (impliesClose) {
    while (stack.length > 0 && impliesClose.has(stack[stack.length - 1] as string)) {
      stack.pop();
      handler.onclosetag();
    }
  }
  handler.onopentag(name, attribs);
  if (VOID_ELEMENTS.has(name)) handler.onclosetag();
  else stack.push(name);
}

const SLASH = 0x2f;
const GT = 0x3e;
const BANG = 0x21;
const QUESTION = 0x3f;
const EQUALS = 0x3d;
const QUOTE = 0x22;
const APOSTROPHE = 0x27;

function isAsciiAlpha(code: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a);
}

/** htmlparser2's whitespace: space, tab, line feed, form feed, carriage return. */
function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x0a || code === 0x09 || code === 0x0c || code === 0x0d;
}

const TAG_NAME = /[a-zA-Z][a-zA-Z0-9-]*/y;
const ATTRIBUTE_NAME = /[a-zA-Z_:][-a-zA-Z0-9_:.]*/y;
const UNQUOTED_VALUE = /[^\t\n\f\r "'<=>`]+/y;
const END_TAG = /<\/([a-zA-Z][a-zA-Z0-9-]*)[\t\n\f\r ]*>/y;

/**
 * `<name attr="value" other=value flag>`, from just after the `<`: the name and attributes lower-cased
 * (the first of a repeated one kept), values decoded; `/>` changes nothing, as in HTML. Undefined for
 * anything less regular.
 */
function readOpenTag(html: string, start: number): { name: string; attribs: Record<string, string>; end: number } | undefined {
  TAG_NAME.lastIndex = start;
  if (!TAG_NAME.test(html)) return undefined;
  let i = TAG_NAME.lastIndex;
  const name = html.slice(start, i).toLowerCase();
  const attribs: Record<string, string> = {};
  for (;;) {
    const before = i;
    while (isSpace(html.charCodeAt(i))) i++;
    const code = html.charCodeAt(i);
    if (code === GT) return { name, attribs, end: i + 1 };
    if (code === SLASH && html.charCodeAt(i + 1) === GT) return { name, attribs, end: i + 2 };
    // An attribute starts after whitespace, or straight after a quoted value.
    if (i === before && !(before > start && (html.charCodeAt(before - 1) === QUOTE || html.charCodeAt(before - 1) === APOSTROPHE))) return undefined;
    ATTRIBUTE_NAME.lastIndex = i;
    if (!ATTRIBUTE_NAME.test(html)) return undefined;
    const attribute = html.slice(i, ATTRIBUTE_NAME.lastIndex).toLowerCase();
    i = ATTRIBUTE_NAME.lastIndex;
    let value = "";
    let j = i;
    while (isSpace(html.charCodeAt(j))) j++;
    if (html.charCodeAt(j) === EQUALS) {
      j++;
      while (isSpace(html.charCodeAt(j))) j++;
      const quote = html.charCodeAt(j);
      if (quote === QUOTE || quote === APOSTROPHE) {
        const close = html.indexOf(quote === QUOTE ? '"' : "'", j + 1);
        if (close === -1) return undefined;
        const decoded = decodeText(html, j + 1, close);
        if (decoded === undefined) return undefined;
        value = decoded;
        i = close + 1;
      } else {
        UNQUOTED_VALUE.lastIndex = j;
        if (!UNQUOTED_VALUE.test(html)) return undefined;
        const decoded = decodeText(html, j, UNQUOTED_VALUE.lastIndex);
        if (decoded === undefined) return undefined;
        value = decoded;
        i = UNQUOTED_VALUE.lastIndex;
        // A value htmlparser2 would read on (through a quote, `=`, `<` or a backtick) is not plain.
        const after = html.charCodeAt(i);
        if (!(isSpace(after) || after === GT)) return undefined;
      }
    }
    if (!Object.prototype.hasOwnProperty.call(attribs, attribute)) attribs[attribute] = value;
  }
}

/**
 * Text with its character references decoded: the named ones below and numeric ones, each ended by
 * `;`. A `&` that starts anything else that could be a reference makes the document not plain
 * (htmlparser2 knows two thousand names, some without the `;`); one that cannot (`& `, `&=`) stays.
 */
function decodeText(html: string, start: number, end: number): string | undefined {
  let amp = html.indexOf("&", start);
  if (amp === -1 || amp >= end) return html.slice(start, end);
  let text = "";
  let from = start;
  while (amp !== -1 && amp < end) {
    REFERENCE.lastIndex = amp;
    const match = REFERENCE.exec(html);
    if (match && REFERENCE.lastIndex <= end) {
      const decoded = match[1] !== undefined ? NAMED_REFERENCES.get(match[1]) : numericReference(match[2], match[3]);
      if (decoded === undefined) return undefined;
      text += html.slice(from, amp) + decoded;
      from = REFERENCE.lastIndex;
    } else if (/[a-zA-Z0-9#]/.test(html.charAt(amp + 1))) {
      return undefined;
    }
    amp = html.indexOf("&", amp + 1);
  }
  return text + html.slice(from, end);
}

const REFERENCE = /&(?:([a-zA-Z][a-zA-Z0-9]*)|#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6}));/y;

/** A code point htmlparser2 passes through as it is (not NUL, a surrogate, a C1 control it remaps, or beyond Unicode). */
function numericReference(decimal: string | undefined, hex: string | undefined): string | undefined {
  const point = decimal !== undefined ? Number.parseInt(decimal, 10) : Number.parseInt(hex as string, 16);
  if (point === 0 || (point >= 0x80 && point <= 0x9f) || (point >= 0xd800 && point <= 0xdfff) || point > 0x10ffff) return undefined;
  return String.fromCodePoint(point);
}

const NAMED_REFERENCES = new Map<string, string>([
  ["amp", "&"],
  ["lt", "<"],
  ["gt", ">"],
  ["quot", '"'],
  ["apos", "'"],
  ["nbsp", "\u00a0"],
  ["copy", "\u00a9"],
  ["reg", "\u00ae"],
  ["trade", "\u2122"],
  ["hellip", "\u2026"],
  ["mdash", "\u2014"],
  ["ndash", "\u2013"],
  ["lsquo", "\u2018"],
  ["rsquo", "\u2019"],
  ["ldquo", "\u201c"],
  ["rdquo", "\u201d"],
  ["laquo", "\u00ab"],
  ["raquo", "\u00bb"],
  ["bull", "\u2022"],
  ["middot", "\u00b7"],
  ["euro", "\u20ac"],
  ["pound", "\u00a3"],
  ["cent", "\u00a2"],
  ["yen", "\u00a5"],
  ["deg", "\u00b0"],
  ["times", "\u00d7"],
  ["zwnj", "\u200c"],
  ["zwj", "\u200d"],
  ["shy", "\u00ad"],
  ["ensp", "\u2002"],
  ["emsp", "\u2003"],
  ["thinsp", "\u2009"],
]);

/** Elements whose content is raw text up to their end tag, as htmlparser2 reads them. */
const RAW_TEXT_ELEMENTS = new Map<string, RegExp>(
  ["script", "style", "title", "textarea"].map((name) => [name, new RegExp(`</${name}(?=[\\t\\n\\f\\r >])`, "gi")]),
);

/** Read by htmlparser2 by other rules: foreign content (self-closing tags count there) and xmp's raw text. */
const FOREIGN_OR_UNSUPPORTED = new Set(["svg", "math", "xmp"]);

/** htmlparser2's void elements: never open. */
const VOID_ELEMENTS = new Set(["area", "base", "basefont", "br", "col", "command", "embed", "frame", "hr", "img", "input", "isindex", "keygen", "link", "meta", "param", "source", "track", "wbr"]);

const P = new Set(["p"]);
const FORM = new Set(["input", "option", "optgroup", "select", "button", "datalist", "textarea"]);
/** htmlparser2's elements that close others still open when they start: `<p>` closes an open `<p>`, `<li>` an `<li>`… */
const OPEN_IMPLIES_CLOSE = new Map<string, Set<string>>([
  ["tr", new Set(["tr", "th", "td"])],
  ["th", new Set(["th"])],
  ["td", new Set(["thead", "th", "td"])],
  ["body", new Set(["head", "link", "script"])],
  ["li", new Set(["li"])],
  ["select", FORM],
  ["input", FORM],
  ["output", FORM],
  ["button", FORM],
  ["datalist", FORM],
  ["textarea", FORM],
  ["option", new Set(["option"])],
  ["optgroup", new Set(["optgroup", "option"])],
  ["dd", new Set(["dd", "dt"])],
  ["dt", new Set(["dd", "dt"])],
  ["rt", new Set(["rt", "rp"])],
  ["rp", new Set(["rt", "rp"])],
  ["tbody", new Set(["thead", "tbody"])],
  ["tfoot", new Set(["thead", "tbody"])],
  ...[
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "address", "article", "aside", "blockquote", "details", "div", "dl", "fieldset",
    "figcaption", "figure", "footer", "form", "header", "hr", "main", "nav", "ol", "pre", "section", "table", "ul",
  ].map((name) => [name, P] as [string, Set<string>]),
]);
