import Handlebars from "handlebars";
import { z } from "zod";
import { unsubscribeUrlFor } from "./message.js";
import { checkTemplates, compileSending, templateVariables, type RecipientContext, type TemplateSources } from "./templates.js";

/**
 * The analysis an approver reads before approving: pure over a sending's content and statistics
 * of its recipients (gathered in pages by src/sendings/analyze-sending.ts). Errors block approval;
 * warnings must be acknowledged.
 *
 * The HTML is read with careful regular expressions over tags (`<a …>`, `<img …>`), not a parser:
 * none is a dependency of sendgate. They honour quoted attribute values (a `>` inside quotes does
 * not end a tag), skip comments, `<script>` and `<style>`, and read Handlebars placeholders inside
 * attributes as data to be filled in.
 */

export type Severity = "pass" | "warning" | "error";

export type CheckId =
  | "template-errors"
  | "recipients"
  | "missing-variables"
  | "invalid-addresses"
  | "duplicate-addresses"
  | "html-size"
  | "unsubscribe"
  | "links"
  | "image-alt"
  | "subject-empty"
  | "subject-length"
  | "subject-caps"
  | "text-part";

export interface Check {
  id: CheckId;
  title: string;
  severity: Severity;
  evidence: string;
}

export interface Analysis {
  checks: Check[];
  counts: { passed: number; warnings: number; errors: number };
}

/** How many recipients a finding concerns, with a few of their addresses to show. */
export interface Tally {
  count: number;
  sample: string[];
}

export interface RecipientStats {
  total: number;
  invalidAddresses: Tally;
  /** Addresses that differ from another one of the list only in letter case (each beyond the first counts). */
  caseDuplicates: Tally;
  /** Per variable the template reads: recipients for whom it is absent, null or empty. */
  missingVariables: Record<string, Tally>;
  /** Recipients without a usable `unsubscribeUrl` variable of their own: their List-Unsubscribe header needs UNSUBSCRIBE_URL. */
  withoutOwnUnsubscribeUrl: number;
  /** The recipient with the most variable text, whose message is likely the largest; null without recipients. */
  largest: RecipientContext | null;
}

export interface AnalysisInput {
  content: TemplateSources;
  recipients: RecipientStats;
  /** The configured UNSUBSCRIBE_URL: a List-Unsubscribe header for every recipient without one of their own. */
  unsubscribeUrl?: string;
}

/** Gmail cuts a message whose HTML is larger than this and shows "[Message clipped]". */
export const GMAIL_CLIP_BYTES = 102 * 1024;
/** RFC 5322's recommended line length, and about what inboxes show of a subject before cutting it. */
export const SUBJECT_MAX_CHARS = 78;
/** Fewer letters than this in capitals ("FAQ", "OK") are not shouting. */
const CAPS_MIN_LETTERS = 5;
export const SAMPLE_SIZE = 5;
/** Evidence stays short enough for a Slack section (3,000 characters) with many checks in one modal. */
const EVIDENCE_LIMIT = 600;
/** Mixed-case addresses held to look for their lower-case twins; beyond it the figure is "at least". */
export const MIXED_CASE_LIMIT = 10_000;

const isFilled = (value: unknown) => value !== undefined && value !== null && value !== "";
const emailSchema = z.email();
export const isValidAddress = (email: string) => emailSchema.safeParse(email).success;

export interface RecipientStatsCollector {
  /** Feeds one recipient; `size` is the length of its stored variables (the sample keeps the largest). */
  add(recipient: { email: string; vars: Record<string, unknown> }, size?: number): void;
  /** Addresses with capitals seen so far (at most MIXED_CASE_LIMIT): the caller looks up their lower-case forms. */
  mixedCaseAddresses(): string[];
  /** `lowerCaseTwins`: lower-case forms of mixedCaseAddresses() that are themselves on the list. */
  finish(lowerCaseTwins?: ReadonlySet<string>): RecipientStats;
}

/** Gathers recipient statistics in one pass, holding only counts, samples and mixed-case addresses. */
export function createRecipientStatsCollector(variables: readonly string[]): RecipientStatsCollector {
  let total = 0;
  let withoutOwnUnsubscribeUrl = 0;
  let largest: { context: RecipientContext; size: number } | null = null;
  const invalid = tally();
  const missing = Object.fromEntries(variables.map((name) => [name, tally()]));
  const mixedCase: string[] = [];
  let mixedCaseOverflow = 0;

  return {
    add({ email, vars }, size = JSON.stringify(vars).length) {
      total += 1;
      const context: RecipientContext = { email, ...vars };
      if (!isValidAddress(email)) count(invalid, email);
      for (const name of variables) if (!isFilled(context[name])) count(missing[name]!, email);
      if (!unsubscribeUrlFor(vars, undefined, { sendingId: "", recipientId: 0, email })) withoutOwnUnsubscribeUrl += 1;
      if (!largest || size > largest.size) largest = { context, size };
      if (email !== email.toLowerCase()) {
        if (mixedCase.length < MIXED_CASE_LIMIT) mixedCase.push(email);
        else mixedCaseOverflow += 1;
      }
    },
    mixedCaseAddresses: () => [...mixedCase],
    finish(lowerCaseTwins = new Set()) {
      const groups = new Map<string, string[]>();
      for (const email of mixedCase) {
        const key = email.toLowerCase();
        groups.set(key, [...(groups.get(key) ?? (lowerCaseTwins.has(key) ? [key] : [])), email]);
      }
      const duplicates = tally();
      for (const members of groups.values()) {
        if (members.length < 2) continue;
        duplicates.count += members.length - 1;
        if (duplicates.sample.length < SAMPLE_SIZE) duplicates.sample.push(members.join(" = "));
      }
      // Past the limit, each further mixed-case address may or may not have a twin: not counted, but said.
      if (mixedCaseOverflow > 0 && duplicates.count > 0) duplicates.sample.push(`(${mixedCaseOverflow} more addresses with capitals not compared)`);
      return {
        total,
        invalidAddresses: invalid,
        caseDuplicates: duplicates,
        missingVariables: missing,
        withoutOwnUnsubscribeUrl,
        largest: largest?.context ?? null,
      };
    },
  };
}

function tally(): Tally {
  return { count: 0, sample: [] };
}

function count(t: Tally, email: string) {
  t.count += 1;
  if (t.sample.length < SAMPLE_SIZE) t.sample.push(email);
}

/** Runs every check. Checks that need a rendered message are left out while the template does not render (an error already). */
export function analyzeSending(input: AnalysisInput): Analysis {
  const { content, recipients } = input;
  const checks: Check[] = [];
  const add = (id: CheckId, title: string, severity: Severity, evidence: string) =>
    checks.push({ id, title, severity, evidence: cut(evidence) });

  const problems = checkTemplates(content);
  let sample: { context: RecipientContext; subject: string; html: string } | undefined;
  const templateTitle = "Template errors";
  if (problems.length > 0) {
    const listed = problems.map((p) => `${p.part}${p.line ? ` line ${p.line}` : ""}: ${p.message}`);
    add("template-errors", templateTitle, "error", `The template does not render. ${listed.join("; ")}`);
  } else {
    const context = recipients.largest ?? { email: "recipient@example.com" };
    try {
      const rendered = compileSending(content).render(context);
      sample = { context, subject: rendered.subject, html: rendered.html };
      add("template-errors", templateTitle, "pass", "Subject, HTML and text compile and render.");
    } catch (error) {
      const message = (error as Error).message.split("\n")[0];
      add("template-errors", templateTitle, "error", `Rendering for ${context.email} fails: ${message}`);
    }
  }

  checkRecipients(recipients, add);
  checkMissingVariables(content, recipients, add);
  checkAddresses(recipients, add);
  if (sample) checkHtmlSize(sample, add);
  checkUnsubscribe(input, add);
  checkLinks(content.html, add);
  checkImageAlt(content.html, add);
  checkSubject(content.subject, sample, add);

  add(
    "text-part",
    "Text part",
    "pass",
    content.text?.trim()
      ? "A text part is given."
      : "No text part was given: one will be derived from the HTML for every recipient.",
  );

  return {
    checks,
    counts: {
      passed: checks.filter((c) => c.severity === "pass").length,
      warnings: checks.filter((c) => c.severity === "warning").length,
      errors: checks.filter((c) => c.severity === "error").length,
    },
  };
}

type Add = (id: CheckId, title: string, severity: Severity, evidence: string) => void;

function checkRecipients(recipients: RecipientStats, add: Add) {
  // Harmless (nothing goes out, and appending recipients later withdraws approvals) but surely not meant.
  if (recipients.total === 0) add("recipients", "Recipients", "warning", "The sending has no recipients: nothing would be sent.");
  else add("recipients", "Recipients", "pass", `${formatCount(recipients.total)} recipients.`);
}

/**
 * A printed variable (`{{firstName}}`) missing for some recipients: a warning, their message shows
 * a gap. Missing for every recipient and printed outside any block: an error, since every message
 * would show the gap (a misspelt name, or a list exported without that column). A variable that is
 * only tested (`{{#if vip}}`) is meant to be absent for some; absent for all, its block never shows:
 * a warning.
 */
function checkMissingVariables(content: TemplateSources, recipients: RecipientStats, add: Add) {
  const title = "Missing variables";
  const used = templateVariables(content);
  if (used.length === 0) return add("missing-variables", title, "pass", "The template uses no variables.");
  if (recipients.total === 0) return add("missing-variables", title, "pass", `No recipients to check ${used.join(", ")} against.`);
  const printed = printedVariables(content);
  const findings: string[] = [];
  let severity: Severity = "pass";
  for (const name of used) {
    const missing = recipients.missingVariables[name];
    if (!missing || missing.count === 0) continue;
    const all = missing.count >= recipients.total;
    if (!printed.anywhere.has(name)) {
      if (!all) continue;
      findings.push(`${name}: set for no recipient, so the part it guards never shows`);
    } else {
      const scope = all ? `all ${formatCount(recipients.total)} recipients` : `${formatCount(missing.count)} of ${formatCount(recipients.total)} recipients`;
      findings.push(`${name}: missing for ${scope} (e.g. ${missing.sample.join(", ")})`);
    }
    if (all && printed.unguarded.has(name)) severity = "error";
    else if (severity === "pass") severity = "warning";
  }
  if (severity === "pass") return add("missing-variables", title, "pass", `Every recipient has ${used.join(", ")}.`);
  add("missing-variables", title, severity, findings.join("; "));
}

function checkAddresses(recipients: RecipientStats, add: Add) {
  const { invalidAddresses: invalid, caseDuplicates: duplicates } = recipients;
  if (invalid.count > 0) {
    add("invalid-addresses", "Invalid addresses", "error", `${formatCount(invalid.count)} invalid: ${invalid.sample.join(", ")}`);
  } else add("invalid-addresses", "Invalid addresses", "pass", "Every address is well-formed.");
  if (duplicates.count > 0) {
    add(
      "duplicate-addresses",
      "Duplicate addresses",
      "error",
      `${formatCount(duplicates.count)} addresses repeat another one in different letter case, so those people would get it twice: ${duplicates.sample.join("; ")}`,
    );
  } else add("duplicate-addresses", "Duplicate addresses", "pass", "No address appears twice.");
}

function checkHtmlSize(sample: { context: RecipientContext; html: string }, add: Add) {
  const bytes = Buffer.byteLength(sample.html, "utf8");
  const size = `${formatKb(bytes)} of HTML for ${sample.context.email}`;
  if (bytes > GMAIL_CLIP_BYTES) {
    add("html-size", "HTML size", "warning", `${size}: Gmail clips messages above ${formatKb(GMAIL_CLIP_BYTES)} and hides the rest, the unsubscribe link included.`);
  } else add("html-size", "HTML size", "pass", `${size}, below Gmail's ${formatKb(GMAIL_CLIP_BYTES)} clipping size.`);
}

/**
 * Both are wanted: a visible link in the body (what the law asks of marketing mail) and the
 * List-Unsubscribe header (what Gmail and Yahoo ask of bulk senders, shown as their Unsubscribe button).
 */
function checkUnsubscribe(input: AnalysisInput, add: Add) {
  const title = "Unsubscribe link and header";
  const hasLink = anchors(input.content.html).some(
    (a) => /\{\{\{?\s*unsubscribeUrl\s*\}?\}\}/.test(a.href ?? "") || /unsubscribe|opt-?out/i.test(`${a.href ?? ""} ${a.text}`),
  );
  const headerless = input.unsubscribeUrl ? 0 : input.recipients.withoutOwnUnsubscribeUrl;
  const total = input.recipients.total;
  const noHeader =
    headerless === 0
      ? ""
      : headerless >= total
        ? "no List-Unsubscribe header (set UNSUBSCRIBE_URL, or give recipients an unsubscribeUrl variable)"
        : `no List-Unsubscribe header for ${formatCount(headerless)} of ${formatCount(total)} recipients without an unsubscribeUrl variable (or set UNSUBSCRIBE_URL)`;
  if (!hasLink && noHeader) add("unsubscribe", title, "warning", `No unsubscribe link in the HTML, and ${noHeader}.`);
  else if (!hasLink) add("unsubscribe", title, "warning", "No unsubscribe link in the HTML (add {{unsubscribeUrl}}); the List-Unsubscribe header is set.");
  else if (noHeader) add("unsubscribe", title, "warning", `The HTML has an unsubscribe link, but ${noHeader}.`);
  else add("unsubscribe", title, "pass", "An unsubscribe link in the HTML and a List-Unsubscribe header for every recipient.");
}

function checkLinks(html: string, add: Add) {
  const links = anchors(html).filter((a) => a.href !== undefined);
  const bad = links.flatMap((a) => {
    const problem = linkProblem(a.href ?? "");
    return problem ? [`${shorten(a.href ?? "", 80) || '""'} (${problem})`] : [];
  });
  if (bad.length === 0) {
    return add("links", "Links", "pass", links.length ? `${formatCount(links.length)} links, all https or mailto.` : "No links.");
  }
  const shown = bad.slice(0, SAMPLE_SIZE).join("; ");
  add("links", "Links", "warning", `${formatCount(bad.length)} of ${formatCount(links.length)} links are malformed or not https: ${shown}`);
}

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

/** A missing alt attribute is the finding; `alt=""` is how an image is marked decorative on purpose. */
function checkImageAlt(html: string, add: Add) {
  const images = tags(html, "img");
  const missing = images.filter((attributes) => !attributes.has("alt"));
  if (missing.length === 0) {
    return add("image-alt", "Image alt text", "pass", images.length ? `All ${formatCount(images.length)} images have alt text.` : "No images.");
  }
  const shown = missing.slice(0, SAMPLE_SIZE).map((attributes) => shorten(attributes.get("src") ?? "(no src)", 80));
  add(
    "image-alt",
    "Image alt text",
    "warning",
    `${formatCount(missing.length)} of ${formatCount(images.length)} images have no alt text, which shows when images are blocked and is read out by screen readers: ${shown.join(", ")}`,
  );
}

function checkSubject(source: string, sample: { context: RecipientContext; subject: string } | undefined, add: Add) {
  if (source.trim() === "") return add("subject-empty", "Subject", "error", "The subject is empty.");
  if (!sample) return add("subject-empty", "Subject", "pass", "The subject template is not empty.");
  const subject = sample.subject;
  if (subject === "") return add("subject-empty", "Subject", "error", `The subject renders empty for ${sample.context.email}.`);
  add("subject-empty", "Subject", "pass", `"${shorten(subject, 120)}" for ${sample.context.email}.`);

  const length = [...subject].length;
  if (length > SUBJECT_MAX_CHARS) {
    add("subject-length", "Subject length", "warning", `${length} characters for ${sample.context.email}; inboxes cut subjects at about ${SUBJECT_MAX_CHARS}.`);
  } else add("subject-length", "Subject length", "pass", `${length} characters, within ${SUBJECT_MAX_CHARS}.`);

  const letters = subject.replace(/[^\p{L}]/gu, "");
  const shouting = letters.length >= CAPS_MIN_LETTERS && letters === letters.toUpperCase() && letters !== letters.toLowerCase();
  if (shouting) add("subject-caps", "Subject capitals", "warning", "The subject is all in capitals, which reads as shouting and spam filters score.");
  else add("subject-caps", "Subject capitals", "pass", "The subject is not all in capitals.");
}

// --- Reading the template -------------------------------------------------------------------

type HbsNode = { type: string; [key: string]: unknown };
type HbsPath = { type: "PathExpression"; parts: string[]; data: boolean; depth: number; original: string };

/**
 * Top-level variables printed (`{{name}}`, `{{{name}}}`) anywhere, and those printed outside any
 * block (`{{#if}}`, `{{#unless}}`, `{{#each}}`, `{{#with}}`). Inside `{{#each}}`/`{{#with}}` a name may
 * refer to the item rather than the recipient; counting it as printed only makes a finding milder.
 */
function printedVariables(sources: TemplateSources): { anywhere: Set<string>; unguarded: Set<string> } {
  const anywhere = new Set<string>();
  const unguarded = new Set<string>();
  const visit = (node: unknown, inBlock: boolean): void => {
    if (!node || typeof node !== "object") return;
    if (Array.isArray(node)) return node.forEach((child) => visit(child, inBlock));
    const n = node as HbsNode;
    if (n.type === "MustacheStatement") {
      const path = n.path as HbsPath;
      const params = (n.params as unknown[]) ?? [];
      const first = path.parts?.[0];
      if (path.type === "PathExpression" && !path.data && path.depth === 0 && params.length === 0 && !n.hash && first) {
        anywhere.add(first);
        if (!inBlock) unguarded.add(first);
      }
      return;
    }
    if (n.type === "BlockStatement") {
      visit(n.program, true);
      visit(n.inverse, true);
      return;
    }
    for (const [key, value] of Object.entries(n)) if (key !== "loc") visit(value, inBlock);
  };
  for (const part of ["subject", "html", "text"] as const) {
    const source = sources[part];
    if (!source) continue;
    try {
      visit(Handlebars.parse(source), false);
    } catch {
      // Reported by the template check.
    }
  }
  return { anywhere, unguarded };
}

// --- Reading the HTML -----------------------------------------------------------------------

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

function tags(html: string, name: string): Map<string, string>[] {
  const pattern = new RegExp(`<${name}(?=[\\s/>])${TAG_BODY}>`, "gi");
  return [...visibleMarkup(html).matchAll(pattern)].map((match) => parseAttributes(match[1] ?? ""));
}

/** `<a>` and `<area>` elements: their href and, for `<a>`, their text. */
function anchors(html: string): { href?: string; text: string }[] {
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

// --- Wording --------------------------------------------------------------------------------

const formatCount = (n: number) => n.toLocaleString("en-US");
const formatKb = (bytes: number) => `${(bytes / 1024).toLocaleString("en-US", { maximumFractionDigits: 1 })} KB`;
const shorten = (text: string, max: number) => ([...text].length > max ? `${[...text].slice(0, max - 1).join("")}…` : text);
const cut = (text: string) => shorten(text, EVIDENCE_LIMIT);
