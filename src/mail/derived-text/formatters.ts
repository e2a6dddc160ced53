import { BlockTextBuilder, WORDWRAP } from "./text-builder.js";
import type { DomNode, ElementNode } from "./nodes.js";

// html-to-text's default formatters, chosen by element name as its default selectors choose them.

export function walk(dom: DomNode[], builder: BlockTextBuilder) {
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

