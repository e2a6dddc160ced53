import { z } from "zod";
import type { RecipientRow } from "../../db/recipient-bulk.js";
import { toRecipientRow } from "./recipient-batch.js";
import { DEFAULT_RECIPIENT_VARS_LIMITS, issuesOf, recipientLine, type RecipientVarsLimits } from "./sending-input.js";
import { malformedText, mayHoldMalformedText } from "./well-formed-text.js";

export interface LineProblem {
  path: (string | number)[];
  message: string;
}

export type ReadLine = (text: string) => { row: RecipientRow } | { problems: LineProblem[] };

/**
 * Reads the lines of an NDJSON upload. The recipient schema is the judge of every line, but on a
 * million lines it costs seconds of the main thread: a line of the usual shape (an address and an
 * object of variables within the limits) is taken here directly, at a fraction of the cost, and
 * anything else goes to the schema, which refuses it with its own words or takes it after all.
 * What is taken here is exactly what the schema takes (test/sendings/recipient-line.test.ts holds
 * the two side by side), so the shortcut only ever saves time.
 */
export function createLineReader(limits: RecipientVarsLimits = DEFAULT_RECIPIENT_VARS_LIMITS): ReadLine {
  const schema = recipientLine(limits);
  return (text) => {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return { problems: [{ path: [], message: "is not valid JSON" }] };
    }
    const malformed = mayHoldMalformedText(text) ? malformedText(json) : undefined;
    if (malformed) return { problems: [{ path: malformed.path, message: malformed.problem }] };
    const row = plainRow(json, limits);
    if (row) return { row };
    const parsed = schema.safeParse(json);
    if (!parsed.success) return { problems: issuesOf(parsed.error) };
    return { row: toRecipientRow(parsed.data) };
  };
}

/** The row of a line of the usual shape, or undefined for the schema to judge. */
function plainRow(json: unknown, limits: RecipientVarsLimits): RecipientRow | undefined {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return undefined;
  const line = json as Record<string, unknown>;
  for (const key in line) if (key !== "email" && key !== "vars") return undefined;
  if (typeof line.email !== "string") return undefined;
  // What emailAddress does: trimmed, lower-cased, then zod's e-mail pattern (z.email()'s own).
  const email = line.email.trim().toLowerCase();
  if (!z.regexes.email.test(email)) return undefined;
  if (!("vars" in line)) return { email, vars: "{}" };
  const vars = line.vars;
  if (typeof vars !== "object" || vars === null || Array.isArray(vars)) return undefined;
  // JSON.parse makes only plain objects, lists and JSON scalars, so depth and size are all there is to check.
  if (!withinDepth(vars, 1, limits.maxDepth)) return undefined;
  const text = JSON.stringify(vars);
  // A UTF-16 unit is 1 to 3 bytes of UTF-8: the exact count is needed only near the limit.
  if (text.length > limits.maxBytes) return undefined;
  if (text.length * 3 > limits.maxBytes && Buffer.byteLength(text, "utf8") > limits.maxBytes) return undefined;
  return { email, vars: text };
}

/** Levels of objects and lists, the variables object itself the first, as the schema counts them. */
function withinDepth(value: unknown, level: number, maxDepth: number): boolean {
  if (typeof value !== "object" || value === null) return true;
  if (level > maxDepth) return false;
  if (Array.isArray(value)) {
    for (const item of value) if (!withinDepth(item, level + 1, maxDepth)) return false;
    return true;
  }
  const object = value as Record<string, unknown>;
  for (const key in object) if (!withinDepth(object[key], level + 1, maxDepth)) return false;
  return true;
}
