import Handlebars from "handlebars";
import { compile as compileHtmlToText } from "html-to-text";
import { variableReferences } from "./template-variables.js";
import { formatVariablePath } from "./variable-paths.js";

/** One Handlebars environment of sendgate's own: nothing registered globally leaks into it. */
const handlebars = Handlebars.create();

export type TemplatePart = "subject" | "html" | "text";

export interface TemplateProblem {
  part: TemplatePart;
  line?: number;
  message: string;
}

export interface TemplateSources {
  subject: string;
  html: string;
  text?: string | null;
}

export interface RenderedMessage {
  subject: string;
  html: string;
  text: string;
}

/** The recipient's variables (any JSON object: nested objects and lists too) and their address. */
export type RecipientContext = { email: string } & Record<string, unknown>;

/** Compiled once per sending, rendered once per recipient. */
export interface CompiledSending {
  render(context: RecipientContext): RenderedMessage;
  /** The text part was derived from the HTML because none was given. */
  derivedText: boolean;
}

// Subject and text are not HTML: escaping `&` to `&amp;` there would show in the reader's inbox.
const compileOptions = (part: TemplatePart) => ({ noEscape: part !== "html", strict: false });

function lineOf(message: string): number | undefined {
  const match = /line (\d+)/i.exec(message);
  return match ? Number(match[1]) : undefined;
}

/** Finds syntax errors and unknown helpers, with the line they are on, without throwing. */
export function checkTemplates(sources: TemplateSources): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  for (const part of ["subject", "html", "text"] as const) {
    const source = sources[part];
    if (source == null) continue;
    try {
      handlebars.parse(source);
      // A trial render with no data surfaces "Missing helper" errors, which only show at run time.
      handlebars.compile(source, compileOptions(part))({}, { allowProtoPropertiesByDefault: false });
    } catch (error) {
      // Handlebars puts where it broke on the first line and what it expected on the last.
      const lines = (error as Error).message.split("\n").map((l) => l.trim()).filter(Boolean);
      const expecting = lines.length > 1 ? lines.at(-1) : undefined;
      const first = lines[0] ?? String(error);
      const what = /^parse error on line \d+:?$/i.test(first) ? "syntax error" : first;
      const message = expecting && /^Expecting/.test(expecting) ? `${what}: ${expecting.replace(/^E/, "e")}` : what;
      problems.push({ part, line: lineOf((error as Error).message), message });
    }
  }
  return problems;
}

// Compiled once: html-to-text's convert() rebuilds its converter on every call, which cost about
// seven times the conversion itself, per recipient.
const htmlToText = compileHtmlToText({ wordwrap: 78, selectors: [{ selector: "img", format: "skip" }] });

export function textFromHtml(html: string): string {
  return htmlToText(html);
}

/**
 * Compiles the three parts once; throws on a template error (check with checkTemplates first).
 * Rendering reads own properties only: Handlebars' access to prototype members stays off, so neither
 * `{{constructor}}` nor a recipient's `__proto__` key (an own property, as JSON.parse makes it) reaches one.
 */
export function compileSending(sources: TemplateSources): CompiledSending {
  const subject = handlebars.compile(sources.subject, compileOptions("subject"));
  const html = handlebars.compile(sources.html, compileOptions("html"));
  const text = sources.text ? handlebars.compile(sources.text, compileOptions("text")) : undefined;
  return {
    derivedText: !text,
    render(context) {
      const renderedHtml = html(context);
      return {
        subject: subject(context).replace(/\s+/g, " ").trim(),
        html: renderedHtml,
        text: text ? text(context) : textFromHtml(renderedHtml),
      };
    },
  };
}

/**
 * The paths into recipients' variables that a template reads, printed or tested, as formatVariablePath
 * writes them: `firstName`, `picks`, `picks[].title` (`{{title}}` inside `{{#each picks}}`), `author.name`
 * (`{{name}}` inside `{{#with author}}`), `picks.0.title` (that one item). For the analysis and the preview.
 */
export function templateVariables(sources: TemplateSources): string[] {
  return [...new Set(variableReferences(sources).map((reference) => formatVariablePath(reference.path)))].sort();
}
