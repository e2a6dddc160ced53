import { Parser } from "htmlparser2";
import { compile as compileHtmlToText } from "html-to-text";

/**
 * The text part of a message whose sending gives none: its HTML as html-to-text writes it (lines of
 * 78 characters, images left out). html-to-text builds a DOM and picks a formatter per element
 * through CSS selectors, which cost more CPU than the rest of a message's delivery; the same
 * conversion is done here from the parser's events, with html-to-text's own text-building rules
 * (whitespace, wrapping, blocks, links, headings, lists) for its default formatters. The first
 * message of each sending is converted both ways; should they ever differ, html-to-text converts
 * the whole sending.
 */

const WORDWRAP = 78;
const OPTIONS = { wordwrap: WORDWRAP, selectors: [{ selector: "img", format: "skip" }] };

// Compiled once: html-to-text's convert() rebuilds its converter on every call, which cost about
// seven times the conversion itself, per recipient.
const htmlToText = compileHtmlToText(OPTIONS);

/** html-to-text's conversion, as configured for derived text parts. */
export function textFromHtmlByHtmlToText(html: string): string {
  return htmlToText(html);
}

/** One sending's converter: checked against html-to-text on its first message, then trusted for the rest or not at all. */
export function createTextDeriver(convert: (html: string) => string | undefined = textFromHtml): (html: string) => string {
  let trusted: boolean | undefined;
  return (html) => {
    if (trusted === false) return htmlToText(html);
    const fast = convert(html);
    if (trusted === undefined) {
      const reference = htmlToText(html);
      trusted = fast === reference;
      return reference;
    }
    return fast ?? htmlToText(html);
  };
}

/** The derived text, or undefined for input html-to-text would truncate. */
export function textFromHtml(html: string): string | undefined {
  if (html.length > MAX_INPUT_LENGTH) return undefined;
  const builder = new BlockTextBuilder();
  walk(findBases(parseDocument(html)), builder);
  return builder.toString();
}

const MAX_INPUT_LENGTH = 1 << 24;

// ---------------------------------------------------------------------------------------------
// The document, as domhandler builds it for html-to-text: elements, text (adjacent pieces merged),
// and the rest (comments, directives), which html-to-text walks past but counts as list items.

interface ElementNode {
  type: "tag" | "script" | "style";
  name: string;
  attribs: Record<string, string>;
  children: DomNode[];
  parent: ElementNode | undefined;
}
interface TextNode {
  type: "text";
  data: string;
}
interface OtherNode {
  type: "other";
}
type DomNode = ElementNode | TextNode | OtherNode;

const OTHER: OtherNode = { type: "other" };

/** Builds the document from the parser's events; one instance serves every conversion (they never overlap). */
class DocumentHandler {
  root: DomNode[] = [];
  stack: ElementNode[] = [];
  /** What domhandler would extend with the next piece of text or comment. */
  last: TextNode | "comment" | undefined;

  reset() {
    this.root = [];
    this.stack = [];
    this.last = undefined;
  }

  siblings(): DomNode[] {
    const stack = this.stack;
    return stack.length > 0 ? (stack[stack.length - 1] as ElementNode).children : this.root;
  }

  onopentag(name: string, attribs: Record<string, string>) {
    this.last = undefined;
    const element: ElementNode = {
      type: name === "script" ? "script" : name === "style" ? "style" : "tag",
      name,
      attribs,
      children: [],
      parent: this.stack[this.stack.length - 1],
    };
    this.siblings().push(element);
    this.stack.push(element);
  }

  onclosetag() {
    this.last = undefined;
    this.stack.pop();
  }

  ontext(data: string) {
    const last = this.last;
    if (last !== undefined && last !== "comment") {
      last.data += data;
      return;
    }
    const node: TextNode = { type: "text", data };
    this.last = node;
    this.siblings().push(node);
  }

  oncomment() {
    if (this.last === "comment") return;
    this.last = "comment";
    this.siblings().push(OTHER);
  }

  oncommentend() {
    this.last = undefined;
  }

  onprocessinginstruction() {
    this.last = undefined;
    this.siblings().push(OTHER);
  }
}

const documentHandler = new DocumentHandler();

function parseDocument(html: string): DomNode[] {
  documentHandler.reset();
  // A parser for each document: htmlparser2's reset() leaves the tokenizer inside a <script> or <style> left open.
  // HTML mode: CDATA sections come as comments.
  new Parser(documentHandler, { decodeEntities: true }).end(html);
  const root = documentHandler.root;
  documentHandler.reset();
  return root;
}

/** The `body` elements (not one inside another), or the whole document when it has none. */
function findBases(dom: DomNode[]): DomNode[] {
  const bodies: ElementNode[] = [];
  const visit = (nodes: DomNode[]) => {
    for (const node of nodes) {
      if (node.type !== "tag") continue;
      if (node.name === "body") bodies.push(node);
      else visit(node.children);
    }
  };
  visit(dom);
  return bodies.length === 0 ? dom : bodies;
}

// ---------------------------------------------------------------------------------------------
// html-to-text's default formatters, chosen by element name as its default selectors choose them.

function walk(dom: DomNode[], builder: BlockTextBuilder) {
  for (const node of dom) {
    if (node.type === "text") builder.addInline(node.data);
    else if (node.type === "tag") format(node, builder);
  }
}

function format(elem: ElementNode, builder: BlockTextBuilder) {
  switch (elem.name) {
    case "a":
      return formatAnchor(elem, builder);
    case "article":
    case "aside":
    case "div":
    case "footer":
    case "form":
    case "header":
    case "main":
    case "nav":
    case "section":
      return formatBlock(elem, builder, 1, 1);
    case "blockquote":
      return formatBlockquote(elem, builder);
    case "br":
      return builder.addLineBreak();
    case "h1":
    case "h2":
    case "h3":
      return formatHeading(elem, builder, 3);
    case "h4":
    case "h5":
    case "h6":
      return formatHeading(elem, builder, 2);
    case "hr":
      builder.openBlock({ leadingLineBreaks: 2 });
      builder.addInline("-".repeat(WORDWRAP));
      return builder.closeBlock({ trailingLineBreaks: 2 });
    case "img":
      return;
    case "ol":
      return formatOrderedList(elem, builder);
    case "p":
      return formatBlock(elem, builder, 2, 2);
    case "pre":
      builder.openBlock({ isPre: true, leadingLineBreaks: 2 });
      walk(elem.children, builder);
      return builder.closeBlock({ trailingLineBreaks: 2 });
    case "table":
      // Not a data table (none is configured): a block.
      return formatBlock(elem, builder, 2, 2);
    case "ul":
      return formatList(elem, builder, () => " * ");
    case "wbr":
      return builder.addWordBreakOpportunity();
    default:
      return walk(elem.children, builder);
  }
}

function formatBlock(elem: ElementNode, builder: BlockTextBuilder, leadingLineBreaks: number, trailingLineBreaks: number) {
  builder.openBlock({ leadingLineBreaks });
  walk(elem.children, builder);
  builder.closeBlock({ trailingLineBreaks });
}

function formatHeading(elem: ElementNode, builder: BlockTextBuilder, leadingLineBreaks: number) {
  builder.openBlock({ leadingLineBreaks });
  builder.pushWordTransform("uppercase");
  walk(elem.children, builder);
  builder.popWordTransform();
  builder.closeBlock({ trailingLineBreaks: 2 });
}

function formatBlockquote(elem: ElementNode, builder: BlockTextBuilder) {
  builder.openBlock({ leadingLineBreaks: 2, reservedLineLength: 2 });
  walk(elem.children, builder);
  builder.closeBlock({
    trailingLineBreaks: 2,
    blockTransform: (str) =>
      trimCharacter(str, "\n")
        .split("\n")
        .map((line) => `> ${line}`)
        .join("\n"),
  });
}

function formatAnchor(elem: ElementNode, builder: BlockTextBuilder) {
  const raw = elem.attribs.href;
  let href = raw ? raw.replace(/^mailto:/, "") : "";
  if (href[0] === "#") href = "";
  if (!href) return walk(elem.children, builder);
  // The words of the link's text, as they come, before any transform of an enclosing element.
  const capture = builder.pushWordTransform("capture");
  walk(elem.children, builder);
  builder.popWordTransform();
  builder.addInline(!capture.captured ? href : ` [${href}]`, { noWordTransform: true });
}

function formatList(elem: ElementNode, builder: BlockTextBuilder, nextPrefix: () => string) {
  const isNestedList = elem.parent?.name === "li";
  let maxPrefixLength = 0;
  const listItems = elem.children
    .filter((child) => child.type !== "text" || !/^\s*$/.test(child.data))
    .map((child) => {
      if (child.type === "text" || child.type === "other" || child.name !== "li") return { node: child, prefix: "" };
      const prefix = isNestedList ? nextPrefix().trimStart() : nextPrefix();
      if (prefix.length > maxPrefixLength) maxPrefixLength = prefix.length;
      return { node: child, prefix };
    });
  if (!listItems.length) return;
  builder.openList({ leadingLineBreaks: isNestedList ? 1 : 2, maxPrefixLength });
  for (const { node, prefix } of listItems) {
    builder.openListItem({ prefix });
    walk([node], builder);
    builder.closeListItem();
  }
  builder.closeList({ trailingLineBreaks: isNestedList ? 1 : 2 });
}

function formatOrderedList(elem: ElementNode, builder: BlockTextBuilder) {
  let nextIndex = Number(elem.attribs.start || "1");
  const indexFunction = orderedListIndexFunction(elem.attribs.type);
  return formatList(elem, builder, () => ` ${indexFunction(nextIndex++)}. `);
}

function orderedListIndexFunction(olType = "1"): (i: number) => string {
  switch (olType) {
    case "a":
      return (i) => numberToLetterSequence(i, "a");
    case "A":
      return (i) => numberToLetterSequence(i, "A");
    case "i":
      return (i) => numberToRoman(i).toLowerCase();
    case "I":
      return (i) => numberToRoman(i);
    default:
      return (i) => i.toString();
  }
}

function numberToLetterSequence(num: number, baseChar: string, base = 26): string {
  const digits: number[] = [];
  do {
    num -= 1;
    digits.push(num % base);
    num = (num / base) >> 0;
  } while (num > 0);
  const baseCode = baseChar.charCodeAt(0);
  return digits
    .reverse()
    .map((n) => String.fromCharCode(baseCode + n))
    .join("");
}

const ROMAN_I = ["I", "X", "C", "M"];
const ROMAN_V = ["V", "L", "D"];
function numberToRoman(num: number): string {
  return [...`${num}`]
    .map((n) => +n)
    .reverse()
    .map((v, i) => (v % 5 < 4 ? (v < 5 ? "" : ROMAN_V[i]) + (ROMAN_I[i] as string).repeat(v % 5) : (ROMAN_I[i] as string) + (v < 5 ? ROMAN_V[i] : ROMAN_I[i + 1])))
    .reverse()
    .join("");
}

function trimCharacter(str: string, char: string): string {
  let start = 0;
  let end = str.length;
  while (start < end && str[start] === char) ++start;
  while (end > start && str[end - 1] === char) --end;
  return start > 0 || end < str.length ? str.substring(start, end) : str;
}

// ---------------------------------------------------------------------------------------------
// html-to-text's text builders, as they work with its default options.

class InlineTextBuilder {
  lines: string[][] = [];
  nextLineWords: string[] = [];
  readonly maxLineLength: number;
  nextLineAvailableChars: number;
  stashedSpace = false;
  wordBreakOpportunity = false;

  constructor(maxLineLength?: number) {
    this.maxLineLength = maxLineLength || WORDWRAP;
    this.nextLineAvailableChars = this.maxLineLength;
  }

  pushWord(word: string, noWrap = false) {
    if (this.nextLineAvailableChars <= 0 && !noWrap) this.startNewLine();
    const isLineStart = this.nextLineWords.length === 0;
    const cost = word.length + (isLineStart ? 0 : 1);
    if (cost <= this.nextLineAvailableChars || noWrap) {
      this.nextLineWords.push(word);
      this.nextLineAvailableChars -= cost;
    } else {
      const [first, ...rest] = this.splitLongWord(word);
      if (!isLineStart) this.startNewLine();
      this.nextLineWords.push(first as string);
      this.nextLineAvailableChars -= (first as string).length;
      for (const part of rest) {
        this.startNewLine();
        this.nextLineWords.push(part);
        this.nextLineAvailableChars -= part.length;
      }
    }
  }

  popWord(): string | undefined {
    const lastWord = this.nextLineWords.pop();
    if (lastWord !== undefined) {
      const isLineStart = this.nextLineWords.length === 0;
      this.nextLineAvailableChars += lastWord.length + (isLineStart ? 0 : 1);
    }
    return lastWord;
  }

  concatWord(word: string, noWrap = false) {
    if (this.wordBreakOpportunity && word.length > this.nextLineAvailableChars) {
      this.pushWord(word, noWrap);
      this.wordBreakOpportunity = false;
    } else {
      const lastWord = this.popWord();
      this.pushWord(lastWord ? lastWord.concat(word) : word, noWrap);
    }
  }

  startNewLine(n = 1) {
    this.lines.push(this.nextLineWords);
    for (let i = 1; i < n; i++) this.lines.push([]);
    this.nextLineWords = [];
    this.nextLineAvailableChars = this.maxLineLength;
  }

  isEmpty(): boolean {
    return this.lines.length === 0 && this.nextLineWords.length === 0;
  }

  clear() {
    this.lines.length = 0;
    this.nextLineWords.length = 0;
    this.nextLineAvailableChars = this.maxLineLength;
  }

  toString(): string {
    return [...this.lines, this.nextLineWords].map((words) => words.join(" ")).join("\n");
  }

  /**
   * Without wrap characters and without forcing a wrap (html-to-text's defaults), a long word stays
   * whole, except where html-to-text's search for its missing wrap character, which becomes the
   * string "undefined", finds that string within the line's length.
   */
  splitLongWord(word: string): string[] {
    const parts: string[] = [];
    while (word.length > this.maxLineLength) {
      const firstLine = word.substring(0, this.maxLineLength);
      const remainingChars = word.substring(this.maxLineLength);
      const splitIndex = firstLine.lastIndexOf("undefined");
      if (splitIndex > -1) {
        word = firstLine.substring(splitIndex + 1) + remainingChars;
        parts.push(firstLine.substring(0, splitIndex + 1));
      } else {
        word = firstLine + remainingChars;
        break;
      }
    }
    parts.push(word);
    return parts;
  }
}

class StackItem {
  constructor(readonly next: StackItem | undefined) {}
  getRoot(): StackItem {
    return this.next ? this.next : this;
  }
}

class BlockStackItem extends StackItem {
  readonly inlineTextBuilder: InlineTextBuilder;
  rawText = "";
  stashedLineBreaks = 0;
  isPre: boolean;
  isNoWrap: boolean;
  constructor(
    next: StackItem | undefined,
    public leadingLineBreaks = 1,
    maxLineLength?: number,
  ) {
    super(next);
    this.inlineTextBuilder = new InlineTextBuilder(maxLineLength);
    this.isPre = next instanceof BlockStackItem ? next.isPre : false;
    this.isNoWrap = next instanceof BlockStackItem ? next.isNoWrap : false;
  }
}

class ListStackItem extends BlockStackItem {
  constructor(
    next: StackItem | undefined,
    leadingLineBreaks: number,
    maxLineLength: number,
    readonly maxPrefixLength: number,
    readonly interRowLineBreaks: number,
  ) {
    super(next, leadingLineBreaks, maxLineLength);
  }
}

class ListItemStackItem extends BlockStackItem {
  constructor(
    next: StackItem | undefined,
    leadingLineBreaks: number,
    maxLineLength: number,
    readonly prefix: string,
  ) {
    super(next, leadingLineBreaks, maxLineLength);
  }
}

/** The word transforms html-to-text's formatters use: a heading's upper case, and a link's text being noted. */
type WordTransform = "uppercase" | "capture";

class TransformerStackItem {
  captured = "";
  constructor(
    readonly next: TransformerStackItem | undefined,
    readonly transform: WordTransform,
  ) {}
}

/** The innermost transform first, as html-to-text applies them. */
function applyTransformer(str: string, transformer: TransformerStackItem | undefined): string {
  for (let item = transformer; item; item = item.next) {
    if (item.transform === "uppercase") str = str.toUpperCase();
    else if (str) item.captured += str;
  }
  return str;
}

/** html-to-text's whitespace: ' \t\r\n\f\u200b'. A no-break space is part of a word. */
function isWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09 || code === 0x0c || code === 0x200b;
}

function hasWords(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (!isWhitespace(text.charCodeAt(i))) return true;
  return false;
}

/** Whitespace shrunk, words wrapped: html-to-text's shrinkWrapAdd, scanning characters instead of matching a pattern. */
function shrinkWrapAdd(text: string, builder: InlineTextBuilder, transformer: TransformerStackItem | undefined, noWrap: boolean) {
  const length = text.length;
  if (length === 0) return;
  const previouslyStashedSpace = builder.stashedSpace;
  let i = 0;
  while (i < length && isWhitespace(text.charCodeAt(i))) i++;
  const leadingWhitespace = i > 0;
  let anyMatch = false;
  while (i < length) {
    const start = i;
    while (i < length && !isWhitespace(text.charCodeAt(i))) i++;
    const word = transformer ? applyTransformer(text.slice(start, i), transformer) : text.slice(start, i);
    if (!anyMatch && !(previouslyStashedSpace || leadingWhitespace)) builder.concatWord(word, noWrap);
    else builder.pushWord(word, noWrap);
    anyMatch = true;
    while (i < length && isWhitespace(text.charCodeAt(i))) i++;
  }
  builder.stashedSpace = (previouslyStashedSpace && !anyMatch) || isWhitespace(text.charCodeAt(length - 1));
}

class BlockTextBuilder {
  #stackItem: BlockStackItem = new BlockStackItem(undefined);
  #wordTransformer: TransformerStackItem | undefined;

  pushWordTransform(wordTransform: WordTransform): TransformerStackItem {
    this.#wordTransformer = new TransformerStackItem(this.#wordTransformer, wordTransform);
    return this.#wordTransformer;
  }

  popWordTransform() {
    if (this.#wordTransformer) this.#wordTransformer = this.#wordTransformer.next;
  }

  #popStackItem(): BlockStackItem {
    const item = this.#stackItem;
    this.#stackItem = item.next as BlockStackItem;
    return item;
  }

  addLineBreak() {
    if (this.#stackItem.isPre) this.#stackItem.rawText += "\n";
    else this.#stackItem.inlineTextBuilder.startNewLine();
  }

  addWordBreakOpportunity() {
    this.#stackItem.inlineTextBuilder.wordBreakOpportunity = true;
  }

  addInline(str: string, { noWordTransform = false } = {}) {
    const item = this.#stackItem;
    if (item.isPre) {
      item.rawText += str;
      return;
    }
    if (str.length === 0 || (item.stashedLineBreaks && !hasWords(str))) return;
    if (item.stashedLineBreaks) item.inlineTextBuilder.startNewLine(item.stashedLineBreaks);
    shrinkWrapAdd(str, item.inlineTextBuilder, noWordTransform ? undefined : this.#wordTransformer, item.isNoWrap);
    item.stashedLineBreaks = 0;
  }

  openBlock({ leadingLineBreaks = 1, reservedLineLength = 0, isPre = false } = {}) {
    const maxLineLength = Math.max(20, this.#stackItem.inlineTextBuilder.maxLineLength - reservedLineLength);
    this.#stackItem = new BlockStackItem(this.#stackItem, leadingLineBreaks, maxLineLength);
    if (isPre) this.#stackItem.isPre = true;
  }

  closeBlock({ trailingLineBreaks = 1, blockTransform }: { trailingLineBreaks?: number; blockTransform?: (str: string) => string } = {}) {
    const block = this.#popStackItem();
    const blockText = blockTransform ? blockTransform(getText(block)) : getText(block);
    addText(this.#stackItem, blockText, block.leadingLineBreaks, Math.max(block.stashedLineBreaks, trailingLineBreaks));
  }

  openList({ maxPrefixLength = 0, leadingLineBreaks = 2 } = {}) {
    this.#stackItem = new ListStackItem(this.#stackItem, leadingLineBreaks, this.#stackItem.inlineTextBuilder.maxLineLength, maxPrefixLength, 1);
  }

  openListItem({ prefix = "" } = {}) {
    const list = this.#stackItem as ListStackItem;
    const prefixLength = Math.max(prefix.length, list.maxPrefixLength);
    const maxLineLength = Math.max(20, list.inlineTextBuilder.maxLineLength - prefixLength);
    this.#stackItem = new ListItemStackItem(list, list.interRowLineBreaks, maxLineLength, prefix);
  }

  closeListItem() {
    const listItem = this.#popStackItem() as ListItemStackItem;
    const list = listItem.next as ListStackItem;
    const prefixLength = Math.max(listItem.prefix.length, list.maxPrefixLength);
    const spacing = `\n${" ".repeat(prefixLength)}`;
    const text = listItem.prefix.padEnd(prefixLength) + getText(listItem).replace(/\n/g, spacing);
    addText(list, text, listItem.leadingLineBreaks, Math.max(listItem.stashedLineBreaks, list.interRowLineBreaks));
  }

  closeList({ trailingLineBreaks = 2 } = {}) {
    const list = this.#popStackItem();
    const text = getText(list);
    if (text) addText(this.#stackItem, text, list.leadingLineBreaks, trailingLineBreaks);
  }

  toString(): string {
    return getText(this.#stackItem.getRoot() as BlockStackItem);
  }
}

function getText(stackItem: BlockStackItem): string {
  return stackItem.inlineTextBuilder.isEmpty() ? stackItem.rawText : stackItem.rawText + stackItem.inlineTextBuilder.toString();
}

function addText(stackItem: BlockStackItem, text: string, leadingLineBreaks: number, trailingLineBreaks: number) {
  const parentText = getText(stackItem);
  const lineBreaks = Math.max(stackItem.stashedLineBreaks, leadingLineBreaks);
  stackItem.inlineTextBuilder.clear();
  if (parentText) {
    stackItem.rawText = parentText + "\n".repeat(lineBreaks) + text;
  } else {
    stackItem.rawText = text;
    stackItem.leadingLineBreaks = lineBreaks;
  }
  stackItem.stashedLineBreaks = trailingLineBreaks;
}
