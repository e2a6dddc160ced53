import Handlebars from "handlebars";
import type { TemplateSources } from "./templates.js";
import { EACH, type VariablePath } from "./variable-paths.js";

/**
 * The one walk over a sending's Handlebars templates (subject, HTML, text) that finds what they read
 * from a recipient's variables. It follows Handlebars' scopes: inside `{{#each picks}}` a name (`{{title}}`,
 * `{{this.title}}`, a block parameter's `{{pick.title}}`) reads an item of the list, `picks[].title`;
 * inside `{{#with author}}` it reads `author.name`; `{{../name}}` and `{{@root.name}}` climb back out.
 * Each reader keeps what it needs: templateVariables (src/mail/templates.ts) the paths, the analysis
 * also whether they are printed, and whether outside any block.
 */

/** A path that reads a recipient variable, with where it stands in the template. */
export interface VariableReference {
  /** From the recipient's variables down: `["picks", EACH, "title"]` for `{{title}}` in `{{#each picks}}`. */
  path: VariablePath;
  /**
   * Printed as it is: the whole of a `{{name}}` or `{{{name}}}` without arguments or hash; not a helper's
   * argument, a block's subject (`{{#if name}}`) or a partial's.
   */
  printed: boolean;
  /**
   * The helpers (`if`, `each`, …) of the blocks whose body or `{{else}}` part holds it, outermost first;
   * empty outside any block. A block's own subject (`vip` in `{{#if vip}}`) stands outside it.
   */
  blocks: readonly string[];
}

/** The helpers every Handlebars environment has; sendgate registers none of its own. */
export const BUILT_IN_HELPERS: ReadonlySet<string> = new Set(["if", "unless", "each", "with", "lookup", "log"]);

type Node = { type: string; [key: string]: unknown };
type PathNode = { type: "PathExpression"; parts: string[]; data: boolean; depth: number; original: string };
type Call = Node & { path: Node; params: Node[]; hash?: Node; program?: Node & { blockParams?: string[] }; inverse?: Node };

/** Where names resolve: a path per context (null where it cannot be known), innermost last; block parameters by name. */
interface Scope {
  contexts: readonly (VariablePath | null)[];
  params: ReadonlyMap<string, VariablePath | null>;
  blocks: readonly string[];
}

/**
 * Every path of the three parts that reads the recipient's variables. Helper names, `@index`-style
 * data, block parameters that are not items (`i` in `as |pick i|`) and names whose context cannot be
 * known (inside a `{{#section}}` of a variable, which Handlebars runs as if, each or with depending on
 * the value) are left out. A part that does not parse has none: checkTemplates reports it.
 */
export function variableReferences(sources: TemplateSources): VariableReference[] {
  const references: VariableReference[] = [];

  const resolve = (node: Node, scope: Scope): VariablePath | null => {
    if (node.type !== "PathExpression") return null;
    const { parts, data, depth, original } = node as unknown as PathNode;
    if (data) return parts[0] === "root" ? parts.slice(1) : null;
    // Handlebars' own test for `this.x` and `./x`, which skip block parameters.
    const scoped = /^\.|this\b/.test(original);
    const first = parts[0];
    if (!scoped && depth === 0 && first !== undefined && scope.params.has(first)) {
      const base = scope.params.get(first);
      return base ? [...base, ...parts.slice(1)] : null;
    }
    const base = scope.contexts[scope.contexts.length - 1 - depth];
    return base ? [...base, ...parts] : null;
  };

  const refer = (node: Node | undefined, scope: Scope, printed: boolean) => {
    if (!node) return;
    if (node.type !== "PathExpression") return visit(node, scope);
    const path = resolve(node, scope);
    if (path && path.length > 0) references.push({ path, printed, blocks: scope.blocks });
  };

  const visitCall = (call: Call, scope: Scope) => {
    for (const param of call.params ?? []) refer(param, scope, false);
    for (const pair of (call.hash?.pairs as { value: Node }[] | undefined) ?? []) refer(pair.value, scope, false);
  };

  const visit = (node: Node | undefined, scope: Scope): void => {
    if (!node) return;
    switch (node.type) {
      case "Program":
        for (const statement of node.body as Node[]) visit(statement, scope);
        return;
      case "MustacheStatement": {
        const call = node as Call;
        const isCall = call.params.length > 0 || call.hash !== undefined || isHelperName(call.path);
        if (isCall) return visitCall(call, scope);
        return refer(call.path, scope, true);
      }
      case "SubExpression":
      case "PartialStatement":
      case "Decorator":
        return visitCall(node as Call, scope);
      case "BlockStatement":
      case "PartialBlockStatement":
      case "DecoratorBlock":
        return visitBlock(node as Call, scope);
      default:
        return; // content, comments, literals
    }
  };

  const visitBlock = (block: Call, scope: Scope) => {
    visitCall(block, scope);
    const helper = block.type === "BlockStatement" ? ((block.path as { original?: string }).original ?? "") : "";
    const subject = block.params[0] ? resolve(block.params[0], scope) : null;
    let inner: VariablePath | null | "same" = "same";
    let params: (VariablePath | null)[] = [];
    if (helper === "each") {
      inner = subject ? [...subject, EACH] : null;
      params = [inner, null]; // as |item index|
    } else if (helper === "with") {
      inner = subject;
      params = [subject];
    } else if (!BUILT_IN_HELPERS.has(helper)) {
      // `{{#picks}}…{{/picks}}`: a section over a variable, or a helper sendgate lacks (checkTemplates says so).
      if (block.type === "BlockStatement" && block.params.length === 0 && !block.hash) refer(block.path, scope, false);
      inner = null;
    }
    const blocks = [...scope.blocks, helper];
    const names = block.program?.blockParams ?? [];
    const blockParams = new Map(scope.params);
    names.forEach((name, index) => blockParams.set(name, params[index] ?? null));
    const body: Scope = { contexts: inner === "same" ? scope.contexts : [...scope.contexts, inner], params: blockParams, blocks };
    visit(block.program, body);
    visit(block.inverse, { ...scope, blocks });
  };

  for (const part of ["subject", "html", "text"] as const) {
    const source = sources[part];
    if (!source) continue;
    let program: Node;
    try {
      program = Handlebars.parse(source) as unknown as Node;
    } catch {
      continue;
    }
    visit(program, { contexts: [[]], params: new Map(), blocks: [] });
  }
  return references;
}

/** `{{log}}` and the like: a bare helper name is a call, not a variable. */
function isHelperName(path: Node): boolean {
  const { parts, data, depth, original } = path as unknown as PathNode;
  return !data && depth === 0 && parts.length === 1 && original === parts[0] && BUILT_IN_HELPERS.has(parts[0]);
}
