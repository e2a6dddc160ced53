/**
 * Paths into a recipient's variables, as templates read them. A path is a list of segments: keys, and
 * EACH for "every item of this list" (`{{title}}` inside `{{#each picks}}` reads ["picks", "[]", "title"]).
 * Written out they read `picks[].title`, `author.name`, `picks.0.title`: a number in a template's path
 * (`{{picks.0.title}}`) reads that one item, so it stays a key and only that item is checked.
 */

/** The segment that stands for every item of a list (or every value of an object), as `{{#each}}` visits them. */
export const EACH = "[]";

export type VariablePath = readonly string[];

/** Keys written as they are; any other key in Handlebars' brackets (`{{[first name]}}`), which cannot hold `]`. */
const PLAIN_KEY = /^[A-Za-z0-9_$-]+$/;

/** `picks[].title`, `author.name`, `picks.0.title`, `[first name]`. */
export function formatVariablePath(path: VariablePath): string {
  let text = "";
  for (const segment of path) {
    if (segment === EACH) text += EACH;
    else text += `${text ? "." : ""}${PLAIN_KEY.test(segment) ? segment : `[${segment}]`}`;
  }
  return text;
}

/** The segments of a path written by formatVariablePath. */
export function parseVariablePath(text: string): string[] {
  const path: string[] = [];
  for (const match of text.matchAll(/\[\]|\[([^\]]*)\]|([^.[\]]+)/g)) {
    if (match[0] === EACH) path.push(EACH);
    else path.push(match[1] ?? match[2] ?? "");
  }
  return path;
}

/** What a template prints as nothing, or does not repeat: absent, null, the empty string, an empty list. */
export function isEmptyValue(value: unknown): boolean {
  return value === undefined || value === null || value === "" || (Array.isArray(value) && value.length === 0);
}

/** How one recipient's variables answer a path the template reads. */
export interface PathReading {
  /** A value stands at the end of the path (any value, null and "" included) for at least one item. */
  present: boolean;
  /**
   * The message shows a gap there: the value is absent, null, "" or an empty list, for the recipient or,
   * through a list, for any item of it. A list that is absent, empty or no list has no items to miss
   * anything: nothing is repeated (the list itself is a path of its own, which the template tests).
   */
  missing: boolean;
  /** How many leading segments some item resolved: where a path no recipient has leaves their data. */
  reached: number;
}

/**
 * Reads a path out of a recipient's context as Handlebars would: own properties only (prototype
 * members are never variables), every item of a list or value of an object for EACH.
 * `keysAt(index, keys)`, when given, hears the keys that were there to choose from where segment
 * `index` was looked up.
 */
export function readPath(context: unknown, path: VariablePath, keysAt?: (index: number, keys: string[]) => void): PathReading {
  let values: unknown[] = [context];
  let missing = false;
  // Before a list, an absent name only means nothing is repeated: `{{#each picks}}` over no picks shows no gap.
  const lastEach = path.lastIndexOf(EACH);
  for (const [index, segment] of path.entries()) {
    const next: unknown[] = [];
    if (segment === EACH) {
      for (const value of values) {
        if (Array.isArray(value)) next.push(...value);
        else if (isObject(value)) next.push(...Object.values(value));
      }
      if (next.length === 0) return { present: false, missing, reached: index };
    } else {
      for (const value of values) {
        if (keysAt && isObject(value)) keysAt(index, Object.keys(value));
        if (isObject(value) && Object.hasOwn(value, segment)) next.push((value as Record<string, unknown>)[segment]);
        else if (index > lastEach) missing = true;
      }
      if (next.length === 0) return { present: false, missing, reached: index };
    }
    values = next;
  }
  return { present: true, missing: missing || values.some(isEmptyValue), reached: path.length };
}

const isObject = (value: unknown): value is object => typeof value === "object" && value !== null;
