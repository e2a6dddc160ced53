// html-to-text's text builders, as they work with its default options and a word wrap of 78.

export const WORDWRAP = 78;

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
    let text = "";
    for (const words of this.lines) text += `${words.join(" ")}\n`;
    return text + this.nextLineWords.join(" ");
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

export class BlockTextBuilder {
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
