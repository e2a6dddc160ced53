import { checkTemplates, compileSending, formatTemplateProblem, templateVariables, type RecipientContext, type TemplateSources } from "../templates.js";
import { variableReferences } from "../template-variables.js";
import { EACH, formatVariablePath } from "../variable-paths.js";
import { anchors, linkProblem, tags } from "./html-scan.js";
import {
  GMAIL_CLIP_BYTES,
  SAMPLE_SIZE,
  SUBJECT_MAX_CHARS,
  type Analysis,
  type AnalysisInput,
  type Check,
  type CheckId,
  type RecipientStats,
  type Severity,
} from "./types.js";

/**
 * The checks an approver reads before approving: pure over a sending's content and statistics of its
 * recipients (src/mail/analysis/recipient-stats.ts). Errors block approval; warnings must be acknowledged.
 */

/** Fewer letters than this in capitals ("FAQ", "OK") are not shouting. */
const CAPS_MIN_LETTERS = 5;
/** Evidence stays short enough for a Slack section (3,000 characters) with many checks in one modal. */
const EVIDENCE_LIMIT = 600;

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
    add("template-errors", templateTitle, "error", `The template does not render. ${problems.map(formatTemplateProblem).join("; ")}`);
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
  checkUnknownVariables(content, recipients, add);
  checkAddresses(recipients, add);
  if (sample) checkHtmlSize(sample, add);
  checkUnsubscribe(input, add);
  checkLinks(content.html, add);
  checkImageAlt(content.html, add);
  checkSubject(content.subject, sample, add);
  if (input.dkimDomain && input.fromEmail) checkDkimAlignment(input.fromEmail, input.dkimDomain, add);

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
 * A printed variable (`{{firstName}}`, `picks[].title`) missing for some recipients: a warning, their
 * message shows a gap. Missing for every recipient and printed outside any block: an error, since every
 * message would show the gap (a list exported without that column). A variable that is only tested
 * (`{{#if vip}}`) is meant to be absent for some; absent for all, its block never shows: a warning.
 * Variables in no recipient's data at all are the next check's.
 */
function checkMissingVariables(content: TemplateSources, recipients: RecipientStats, add: Add) {
  const title = "Missing variables";
  const unknown = new Set(recipients.unknownVariables.map((u) => u.path));
  const used = templateVariables(content).filter((name) => !unknown.has(name));
  if (used.length === 0 && unknown.size === 0) return add("missing-variables", title, "pass", "The template uses no variables.");
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
  if (severity === "pass") {
    return add("missing-variables", title, "pass", used.length ? `Every recipient has ${used.join(", ")}.` : "Every variable the template reads is unknown (see Unknown variables).");
  }
  add("missing-variables", title, severity, findings.join("; "));
}

/**
 * A variable the template reads that is in no recipient's data: most often a misspelt name, so the
 * closest name they do have is suggested. Printed outside any block, every message shows the gap:
 * an error. Printed inside a block, or only tested, a warning.
 */
function checkUnknownVariables(content: TemplateSources, recipients: RecipientStats, add: Add) {
  const title = "Unknown variables";
  if (recipients.total === 0) return add("unknown-variables", title, "pass", "No recipients to look the variables up in.");
  if (recipients.unknownVariables.length === 0) {
    return add("unknown-variables", title, "pass", "Every variable the template reads is in some recipient's variables.");
  }
  const printed = printedVariables(content);
  let severity: Severity = "warning";
  const findings = recipients.unknownVariables.map(({ path, suggestion }) => {
    if (printed.unguarded.has(path)) severity = "error";
    // As the template may say it (`{{author.name}}`), unless it reads list items (`picks[].title`).
    const shown = path.includes(EACH) ? `\`${path}\`` : `\`{{${path}}}\``;
    const guards = printed.anywhere.has(path) ? "" : ", so the part it guards never shows";
    const hint = suggestion ? `; did you mean \`${suggestion}\`?` : ".";
    return `${shown} is in no recipient's variables${guards}${hint}`;
  });
  add("unknown-variables", title, severity, findings.join(" "));
}

/**
 * Variable paths printed (`{{name}}`, `{{{name}}}`) anywhere, and those printed outside any block
 * (`{{#if}}`, `{{#unless}}`, `{{#each}}`, `{{#with}}`).
 */
function printedVariables(sources: TemplateSources): { anywhere: Set<string>; unguarded: Set<string> } {
  const anywhere = new Set<string>();
  const unguarded = new Set<string>();
  for (const { path, printed, blocks } of variableReferences(sources)) {
    if (!printed) continue;
    const name = formatVariablePath(path);
    anywhere.add(name);
    if (blocks.length === 0) unguarded.add(name);
  }
  return { anywhere, unguarded };
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

// --- Wording --------------------------------------------------------------------------------

const formatCount = (n: number) => n.toLocaleString("en-US");
const formatKb = (bytes: number) => `${(bytes / 1024).toLocaleString("en-US", { maximumFractionDigits: 1 })} KB`;
const shorten = (text: string, max: number) => ([...text].length > max ? `${[...text].slice(0, max - 1).join("")}…` : text);
const cut = (text: string) => shorten(text, EVIDENCE_LIMIT);

/**
 * DMARC passes on DKIM only when the signing domain aligns with the From domain (the same domain,
 * or one is a subdomain of the other under relaxed alignment): otherwise the signature proves nothing
 * to the receiver about the From address.
 */
function checkDkimAlignment(fromEmail: string, dkimDomain: string, add: (id: CheckId, title: string, severity: Severity, evidence: string) => void) {
  const fromDomain = fromEmail.slice(fromEmail.lastIndexOf("@") + 1).toLowerCase();
  const aligned = fromDomain === dkimDomain || fromDomain.endsWith(`.${dkimDomain}`);
  const title = "DKIM signature matches the From domain";
  if (aligned) add("dkim-alignment", title, "pass", `Signed for ${dkimDomain}, which covers ${fromDomain}.`);
  else {
    add(
      "dkim-alignment",
      title,
      "warning",
      `From is ${fromDomain}, but messages are signed for ${dkimDomain} (DKIM_DOMAIN): receivers checking DMARC will not count the signature. Send from ${dkimDomain} or a subdomain, or sign for ${fromDomain}.`,
    );
  }
}
