import Handlebars from "handlebars";
import type { TemplateSources } from "./templates.js";

/**
 * The one walk over a sending's Handlebars templates (subject, HTML, text) that finds the names it
 * reads. It reports every reference with where it stands; each reader keeps what it needs:
 * templateVariables (src/mail/templates.ts) the recipient's variables outside `{{#each}}`/`{{#with}}`,
 * the analysis the variables printed, and whether outside any block.
 */

/** A path that may name a recipient variable: its first segment (`user` for `{{user.name}}`). */
export interface VariableReference {
  name: string;
  /**
   * Printed as it is: the whole of a `{{name}}` or `{{{name}}}` without arguments or hash; not a helper
   * call, a block's subject (`{{#if name}}`), an argument or a partial.
   */
  printed: boolean;
  /**
   * The helpers (`if`, `each`, …) of the blocks whose body or `{{else}}` part holds it, outermost first;
   * empty outside any block. A block's own subject (`vip` in `{{#if vip}}`) stands outside it.
   */
  blocks: readonly string[];
}

type Node = { type: string; [key: string]: unknown };
type Path = { type: "PathExpression"; parts: string[]; data: boolean; depth: number; original: string };

/**
 * Every path of the three parts that is not `@data` (`{{@index}}`) nor a parent's (`{{../name}}`),
 * helper and partial names included. A part that does not parse has none: checkTemplates reports it.
 */
export function variableReferences(sources: TemplateSources): VariableReference[] {
  const references: VariableReference[] = [];
  const visit = (node: unknown, blocks: readonly string[], printed: boolean): void => {
    if (!node || typeof node !== "object") return;
    if (Array.isArray(node)) return node.forEach((child) => visit(child, blocks, false));
    const n = node as Node;
    if (n.type === "PathExpression") {
      const path = n as unknown as Path;
      const name = path.parts[0];
      if (!path.data && path.depth === 0 && name) references.push({ name, printed, blocks });
      return;
    }
    const bare = n.type === "MustacheStatement" && ((n.params as unknown[]) ?? []).length === 0 && !n.hash;
    const helper = n.type === "BlockStatement" ? (((n.path as { original?: string }) ?? {}).original ?? "") : undefined;
    for (const [key, value] of Object.entries(n)) {
      if (key === "loc") continue;
      const inside = helper !== undefined && (key === "program" || key === "inverse") ? [...blocks, helper] : blocks;
      visit(value, inside, bare && key === "path");
    }
  };
  for (const part of ["subject", "html", "text"] as const) {
    const source = sources[part];
    if (!source) continue;
    let program: unknown;
    try {
      program = Handlebars.parse(source);
    } catch {
      continue;
    }
    visit(program, [], false);
  }
  return references;
}
