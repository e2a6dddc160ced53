import { compile, type FormatCallback } from "html-to-text";
import { createBoundedCache } from "../../sendings/support/bounded-cache.js";
import { escapeMrkdwn } from "../format.js";

// Markers that survive html-to-text and escaping (private-use characters), replaced by mrkdwn after.
const LINK_OPEN = "\uE000";
const LINK_HREF = "\uE001";
const LINK_CLOSE = "\uE002";
const BOLD_OPEN = "\uE003";
const BOLD_CLOSE = "\uE004";

const strong: FormatCallback = (elem, walk, builder) => {
  builder.addInline(BOLD_OPEN);
  walk(elem.children, builder);
  builder.addInline(BOLD_CLOSE);
};

const heading: FormatCallback = (elem, walk, builder) => {
  builder.openBlock({ leadingLineBreaks: 2 });
  strong(elem, walk, builder, {});
  builder.closeBlock({ trailingLineBreaks: 1 });
};

const link: FormatCallback = (elem, walk, builder) => {
  const href = String((elem.attribs as Record<string, string> | undefined)?.href ?? "").trim();
  builder.addInline(LINK_OPEN);
  walk(elem.children, builder);
  builder.addInline(`${LINK_HREF}${href.replace(/[\uE000-\uE004]/g, "")}${LINK_CLOSE}`);
};

const toText = compile({
  wordwrap: false,
  formatters: { slackHeading: heading, slackStrong: strong, slackLink: link },
  selectors: [
    { selector: "img", format: "skip" },
    { selector: "a", format: "slackLink" },
    ...["h1", "h2", "h3", "h4", "h5", "h6"].map((selector) => ({ selector, format: "slackHeading" })),
    { selector: "strong", format: "slackStrong" },
    { selector: "b", format: "slackStrong" },
    { selector: "ul", options: { itemPrefix: " • " } },
    { selector: "hr", format: "skip" },
  ],
});

const SAFE_LINK = /^(https?:|mailto:)/i;

/**
 * The HTML of a message as an approver reads it in Slack: the paragraph breaks of the HTML, headings
 * and bold text in bold, links as Slack links with their own text. Every character of the content is
 * escaped first, so nothing in it can mention, ping or forge a link; only links written as `<a href>`
 * to http(s) or mailto become links, and a link's text can never hide a different address of its own.
 */
export function previewMrkdwn(html: string): string {
  let text = converted.get(html);
  if (text === undefined) {
    text = convert(html);
    converted.set(html, text);
  }
  return text;
}

/**
 * Converting 6 KB of HTML takes milliseconds; people opening the same preview together get the text
 * converted once. Keyed by the HTML itself, so it can only ever return the text of that very HTML.
 */
const converted = createBoundedCache<string, string>(256);

function convert(html: string): string {
  const text = escapeMrkdwn(toText(html))
    .replace(/\n{3,}/g, "\n\n")
    .trim();
  return text
    .replace(new RegExp(`${LINK_OPEN}([^${LINK_OPEN}${LINK_HREF}]*)${LINK_HREF}([^${LINK_CLOSE}]*)${LINK_CLOSE}`, "g"), (_, label: string, href: string) => {
      // href was escaped with the rest: &amp; stays, which Slack reads back as &.
      const words = label.replace(/\s+/g, " ").trim();
      if (!SAFE_LINK.test(href) || /[|\s]/.test(href)) return words;
      return words ? `<${href}|${words.replace(/\|/g, "¦")}>` : `<${href}>`;
    })
    .replace(new RegExp(`${BOLD_OPEN}\\s*([^${BOLD_CLOSE}]*?)\\s*${BOLD_CLOSE}`, "g"), (_, inner: string) => (inner ? `*${inner}*` : ""))
    .replace(/[\uE000-\uE004]/g, "");
}
