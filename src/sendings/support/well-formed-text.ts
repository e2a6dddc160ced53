const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a string cannot be stored or sent as text, if it cannot. */
function textProblem(text: string): string | undefined {
  if (text.includes("\u0000")) return "holds a NUL character (\\u0000), which no mail or database takes as text";
  if (LONE_SURROGATE.test(text)) return "holds a lone UTF-16 surrogate (an escape such as \\ud800 that stands for no character)";
  return undefined;
}

/**
 * JSON text may spell what is no text at all: a lone UTF-16 surrogate (`"\ud800"`) or a NUL
 * (`"\u0000"`). Neither database stores them (Prisma refuses the query, PostgreSQL refuses NUL: a 500
 * before this check), so intake refuses them with the path of the value, as any other invalid value.
 */
export function malformedText(value: unknown, path: (string | number)[] = []): { path: (string | number)[]; problem: string } | undefined {
  if (typeof value === "string") {
    const problem = textProblem(value);
    return problem ? { path, problem } : undefined;
  }
  if (!value || typeof value !== "object") return undefined;
  for (const [key, item] of Object.entries(value)) {
    const at = Array.isArray(value) ? [...path, Number(key)] : [...path, key];
    const problem = textProblem(key);
    if (problem) return { path: at, problem: `has a name that ${problem}` };
    const found = malformedText(item, at);
    if (found) return found;
  }
  return undefined;
}

/** Only JSON text that escapes a surrogate or a NUL can hold one: the walk is skipped for nearly every body. */
export const mayHoldMalformedText = (jsonText: string) => /\\u(?:[dD][89a-fA-F]|0000)/.test(jsonText);
