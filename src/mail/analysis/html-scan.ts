/**
 * Reading an email's HTML with careful regular expressions over tags (`<a …>`, `<img …>`), not a
 * parser: none is a dependency of sendgate. They honour quoted attribute values (a `>` inside quotes
 * does not end a tag), skip comments, `<script>` and `<style>`, and read Handlebars placeholders
 * inside attributes as data to be filled in.
 */

/** Stands in for a placeholder inside a link, so the rest of the address can still be checked. */
const PLACEHOLDER_HOST = "placeholder.sendgate";
const HANDLEBARS = /\{\{\{?[\s\S]*?\}?\}\}/g;

/** Why a link target is wrong in an email, or null. Placeholders (`{{url}}`, `…/u/{{id}}`) are data and fine. */
export function linkProblem(rawHref: string): string | null {
  const href = decodeEntities(rawHref).trim();
  if (href === "") return "empty";
  // Its scheme and host come from the recipient's data ({{url}}, {{baseUrl}}/offer): nothing to judge here.
  if (href.startsWith("{{")) return null;
  if (href.startsWith("#")) return null;
  const filled = href.replace(HANDLEBARS, PLACEHOLDER_HOST);
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(filled)?.[1]?.toLowerCase();
  if (!scheme) return filled.startsWith("//") ? "no scheme" : "relative: means nothing in an email";
  if (scheme === "mailto" || scheme === "tel" || scheme === "sms") {
    return filled.length > scheme.length + 1 ? null : "empty address";
  }
  if (["javascript", "data", "vbscript", "file"].includes(scheme)) return `${scheme}: link`;
  if (scheme !== "http" && scheme !== "https") return `${scheme}: is not https`;
  if (/\s/.test(filled)) return "contains spaces";
  // The URL parser forgives "https:/host" and "https:\\host"; mail clients do not.
  const authority = /^https?:\/\/([^/?#\\]+)/i.exec(filled)?.[1];
  if (!authority) return "malformed";
  let url: URL;
  try {
    url = new URL(filled);
  } catch {
    return "malformed";
  }
  if (!url.hostname.includes(PLACEHOLDER_HOST) && !url.hostname.includes(".")) return `no such host "${url.hostname}"`;
  return scheme === "http" ? "not https" : null;
}

/** Comments (but not Outlook's `<!--[if mso]>`), scripts and styles hold no tags an inbox shows. */
function visibleMarkup(html: string): string {
  return html
    .replace(/<!--(?!\[if)[\s\S]*?-->/g, "")
    .replace(/<(script|style)\b(?:[^>"']|"[^"]*"|'[^']*')*>[\s\S]*?<\/\1\s*>/gi, "");
}

/** A tag's attributes: a `>` inside a quoted value does not end the tag. */
const TAG_BODY = `((?:[^>"']|"[^"]*"|'[^']*')*)`;
const ATTRIBUTE = /([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;

function parseAttributes(body: string): Map<string, string> {
  const attributes = new Map<string, string>();
  // Placeholders such as {{#if x}}…{{/if}} between attributes are not attributes.
  for (const match of body.replace(HANDLEBARS, (p) => (/^\{\{[#/^]/.test(p) ? " " : p)).matchAll(ATTRIBUTE)) {
    const name = match[1]!.toLowerCase();
    if (!attributes.has(name)) attributes.set(name, match[2] ?? match[3] ?? match[4] ?? "");
  }
  return attributes;
}

/** The `<name …>` tags outside comments, scripts and styles: their attributes by lower-case name (the first of a name wins). */
export function tags(html: string, name: string): Map<string, string>[] {
  const pattern = new RegExp(`<${name}(?=[\\s/>])${TAG_BODY}>`, "gi");
  return [...visibleMarkup(html).matchAll(pattern)].map((match) => parseAttributes(match[1] ?? ""));
}

/** `<a>` and `<area>` elements: their href and, for `<a>`, their text. */
export function anchors(html: string): { href?: string; text: string }[] {
  const markup = visibleMarkup(html);
  const links = [...markup.matchAll(new RegExp(`<a(?=[\\s/>])${TAG_BODY}>([\\s\\S]*?)</a\\s*>`, "gi"))].map((match) => ({
    href: parseAttributes(match[1] ?? "").get("href"),
    text: (match[2] ?? "").replace(/<[^>]*>/g, " "),
  }));
  const areas = tags(markup, "area").map((attributes) => ({ href: attributes.get("href"), text: attributes.get("alt") ?? "" }));
  return [...links, ...areas];
}

function decodeEntities(text: string): string {
  return text
    .replace(/&#x([0-9a-f]+);/gi, (_, hex: string) => String.fromCodePoint(Number.parseInt(hex, 16)))
    .replace(/&#(\d+);/g, (_, dec: string) => String.fromCodePoint(Number(dec)))
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
}
