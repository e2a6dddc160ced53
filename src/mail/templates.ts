import Handlebars from "handlebars";
import { createTextDeriver, textFromHtmlByHtmlToText } from "./derived-text/index.js";
import { findBlockProblem, type BlockProblem } from "./template-blocks.js";
import { BUILT_IN_HELPERS, variableReferences } from "./template-variables.js";
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

/** "html, line 30: `{{#if vip}}` opened here is never closed": how a problem is shown, wherever it is. */
export function formatTemplateProblem(problem: TemplateProblem): string {
  return `${problem.part}${problem.line ? `, line ${problem.line}` : ""}: ${problem.message}`;
}

/**
 * Finds what keeps a template from rendering, with the part and the line, without throwing: blocks
 * that do not nest (in plain words, at the tag behind the problem), other syntax errors (in the
 * parser's words), helpers sendgate does not have and built-in ones given other than one value
 * (wherever they stand, even in a block a trial render would not enter), then a trial render for the rest.
 */
export function checkTemplates(sources: TemplateSources): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  for (const part of ["subject", "html", "text"] as const) {
    const source = sources[part];
    if (source == null) continue;
    let program: hbs.AST.Program;
    try {
      program = handlebars.parse(source);
    } catch (error) {
      problems.push(syntaxProblem(part, source, error as Error & { lineNumber?: number }));
      continue;
    }
    const calls = callProblems(part, source, program);
    if (calls.length > 0) {
      problems.push(...calls);
      continue;
    }
    try {
      // A trial render with no data surfaces what only shows at run time (a partial, a decorator).
      handlebars.compile(source, compileOptions(part))({}, { allowProtoPropertiesByDefault: false });
    } catch (error) {
      const { message, lineNumber } = error as Error & { lineNumber?: number };
      problems.push({ part, line: lineNumber ?? lineOf(message), message: message.split("\n")[0] ?? message });
    }
  }
  return problems;
}

function lineOf(message: string): number | undefined {
  const match = /line (\d+)/i.exec(message);
  return match ? Number(match[1]) : undefined;
}

/**
 * The parser's refusal, told at the tag behind it when the block scan finds the same kind of problem,
 * no later than where the parser stopped; otherwise in the parser's own words, at its line.
 */
function syntaxProblem(part: TemplatePart, source: string, error: Error & { lineNumber?: number }): TemplateProblem {
  const parserLine = error.lineNumber ?? lineOf(error.message);
  const got = /got '(\w+)'/.exec(error.message)?.[1];
  const mismatch = /^(\S+) doesn't match (\S+)/.exec(error.message);
  const block = findBlockProblem(source);
  if (block && isParsersProblem(block, got, mismatch) && (parserLine === undefined || firstLineOf(block) <= parserLine)) {
    return describeBlockProblem(part, block);
  }
  // Handlebars puts where it broke on the first line and what it expected on the last.
  const lines = error.message.split("\n").map((l) => l.trim()).filter(Boolean);
  const expecting = lines.length > 1 ? lines.at(-1) : undefined;
  const first = lines[0] ?? String(error);
  const what = /^parse error on line \d+:?$/i.test(first) ? "syntax error" : first.replace(/ - \d+:\d+$/, "");
  const message = expecting && /^Expecting/.test(expecting) ? `${what}: ${expecting.replace(/^E/, "e")}` : what;
  return { part, line: parserLine, message };
}

/** The scan and the parser saw the same thing: the token the parser choked on fits the kind of problem. */
function isParsersProblem(block: BlockProblem, got: string | undefined, mismatch: RegExpExecArray | null): boolean {
  switch (block.kind) {
    case "mismatched":
      return mismatch?.[1] === block.open.name && mismatch[2] === block.close.name;
    case "unclosed":
      return got === "EOF";
    case "stray-close":
      return got === "OPEN_ENDBLOCK";
    case "stray-else":
    case "second-else":
      return got === "INVERSE" || got === "OPEN_INVERSE_CHAIN";
    case "unterminated":
      return got === "INVALID" || got === "EOF";
  }
}

function firstLineOf(block: BlockProblem): number {
  switch (block.kind) {
    case "unclosed":
    case "mismatched":
      return block.open.line;
    case "stray-close":
      return block.close.line;
    default:
      return block.tag.line;
  }
}

function describeBlockProblem(part: TemplatePart, block: BlockProblem): TemplateProblem {
  switch (block.kind) {
    case "unclosed": {
      const { text, name, line } = block.open;
      return { part, line, message: `\`${text}\` opened here is never closed (it needs a \`{{/${name}}}\`)` };
    }
    case "mismatched": {
      const { open, close } = block;
      return {
        part,
        line: close.line,
        message: `\`${close.text}\` on line ${close.line} closes \`${open.text}\` opened on line ${open.line}; blocks close innermost first`,
      };
    }
    case "stray-close":
      return { part, line: block.close.line, message: `\`${block.close.text}\` closes nothing: no \`{{#${block.close.name}}}\` is open here` };
    case "stray-else":
      return { part, line: block.tag.line, message: `\`${block.tag.text}\` stands outside any block` };
    case "second-else":
      return {
        part,
        line: block.tag.line,
        message: `\`${block.tag.text}\` is a second \`{{else}}\` in \`${block.open.text}\` opened on line ${block.open.line}`,
      };
    case "unterminated":
      return { part, line: block.tag.line, message: `\`${block.tag.text}\` lacks its closing \`}}\`` };
  }
}

/** These take exactly one value: `{{#if vip}}`, `{{#each picks}}`. */
const ONE_VALUE = new Set(["if", "unless", "with", "each"]);
const TAG_TEXT_LIMIT = 60;

/**
 * Calls of helpers sendgate lacks, block helpers used otherwise than as a block with one value, and
 * partials: anywhere, in blocks too. Handlebars reports them only when rendering reaches them.
 */
function callProblems(part: TemplatePart, source: string, program: hbs.AST.Program): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  const lineStarts = [0];
  for (let i = source.indexOf("\n"); i !== -1; i = source.indexOf("\n", i + 1)) lineStarts.push(i + 1);
  const offsetOf = (position: hbs.AST.Position) => (lineStarts[position.line - 1] ?? 0) + position.column;
  /** The tag as written: a block's opening tag only. */
  const tagOf = (node: hbs.AST.Node) => {
    const start = offsetOf(node.loc.start);
    const end = node.type === "BlockStatement" ? source.indexOf("}}", start) + 2 : offsetOf(node.loc.end);
    const text = source.slice(start, end > start ? end : start + TAG_TEXT_LIMIT).replace(/\s+/g, " ");
    return text.length > TAG_TEXT_LIMIT ? `${text.slice(0, TAG_TEXT_LIMIT - 1)}…` : text;
  };
  const helpers = [...BUILT_IN_HELPERS].join(", ");
  const visit = (node: unknown): void => {
    if (!node || typeof node !== "object") return;
    if (Array.isArray(node)) return node.forEach(visit);
    const n = node as hbs.AST.Node;
    const line = n.loc?.start.line;
    if (n.type === "PartialStatement" || n.type === "PartialBlockStatement") {
      problems.push({ part, line, message: `\`${tagOf(n)}\`: sendgate templates have no partials; write that part out` });
    } else if ((n.type as string) === "Decorator" || (n.type as string) === "DecoratorBlock") {
      problems.push({ part, line, message: `\`${tagOf(n)}\`: sendgate templates have no decorators or inline partials; write that part out` });
    } else if (n.type === "MustacheStatement" || n.type === "BlockStatement" || n.type === "SubExpression") {
      const call = n as hbs.AST.MustacheStatement;
      const path = call.path as hbs.AST.PathExpression;
      const values = call.params.length + (call.hash ? 1 : 0);
      const name = path.type === "PathExpression" && !path.data && path.parts.length === 1 ? path.original : undefined;
      if (name && ONE_VALUE.has(name) && n.type !== "BlockStatement") {
        problems.push({ part, line, message: `\`${tagOf(n)}\`: ${name} works as a block only, \`{{#${name} …}}…{{/${name}}}\`` });
      } else if (name && ONE_VALUE.has(name) && (call.params.length !== 1 || call.hash)) {
        problems.push({ part, line, message: `\`${tagOf(n)}\`: #${name} takes exactly one value` });
      } else if (values > 0 && !(name && BUILT_IN_HELPERS.has(name))) {
        const called = path.type === "PathExpression" ? path.original : "a value";
        problems.push({ part, line, message: `\`${tagOf(n)}\` calls ${called}, a helper sendgate does not have (it has ${helpers})` });
      }
    }
    for (const [key, value] of Object.entries(n)) if (key !== "loc") visit(value);
  };
  visit(program);
  return problems;
}

/** The text part derived from an HTML part: html-to-text's, lines of 78 characters, images left out. */
export function textFromHtml(html: string): string {
  return textFromHtmlByHtmlToText(html);
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
  const deriveText = createTextDeriver();
  return {
    derivedText: !text,
    render(context) {
      const renderedHtml = html(context);
      return {
        subject: subject(context).replace(/\s+/g, " ").trim(),
        html: renderedHtml,
        text: text ? text(context) : deriveText(renderedHtml),
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
