import { compile as compileHtmlToText } from "html-to-text";
import { findBases, parseDocument } from "./document.js";
import { walk } from "./formatters.js";
import { BlockTextBuilder, WORDWRAP } from "./text-builder.js";

/**
 * The text part of a message whose sending gives none: its HTML as html-to-text writes it (lines of
 * 78 characters, images left out). html-to-text builds a DOM and picks a formatter per element
 * through CSS selectors, which cost more CPU than the rest of a message's delivery; the same
 * conversion is done here from the parser's events, with html-to-text's own text-building rules
 * (whitespace, wrapping, blocks, links, headings, lists) for its default formatters. The first
 * message of each sending is converted both ways; should they ever differ, html-to-text converts
 * the whole sending.
 */

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

