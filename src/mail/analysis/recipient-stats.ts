import { z } from "zod";
import { unsubscribeUrlFor } from "../message.js";
import type { RecipientContext } from "../templates.js";
import { EACH, formatVariablePath, parseVariablePath, readPath } from "../variable-paths.js";
import { closestName } from "./closest-name.js";
import { MIXED_CASE_LIMIT, SAMPLE_SIZE, type RecipientStats, type Tally, type UnknownVariable } from "./types.js";

/**
 * Statistics of a sending's recipients for the analysis, gathered in one pass over pages of the list
 * (src/sendings/analyze-sending.ts feeds them), never the whole list in memory.
 */

const emailSchema = z.email();
export const isValidAddress = (email: string) => emailSchema.safeParse(email).success;

/** Names held per place in the variables to suggest from when a path is in nobody's variables. */
const NAMES_LIMIT = 1_000;

export interface RecipientStatsCollector {
  /** Feeds one recipient; `size` is the length of its stored variables (the sample keeps the largest). */
  add(recipient: { email: string; vars: Record<string, unknown> }, size?: number): void;
  /** Addresses with capitals seen so far (at most MIXED_CASE_LIMIT): the caller looks up their lower-case forms. */
  mixedCaseAddresses(): string[];
  /** `lowerCaseTwins`: lower-case forms of mixedCaseAddresses() that are themselves on the list. */
  finish(lowerCaseTwins?: ReadonlySet<string>): RecipientStats;
}

/** What the pass keeps of one path the template reads. */
interface PathStats {
  segments: string[];
  missing: Tally;
  /** The most leading segments any recipient's data resolved; the whole path once a recipient has it. */
  reached: number;
  /** Per segment, the names that stood there to choose from, and how many recipients had each; until someone has the path. */
  names: Map<number, Map<string, number>>;
}

/**
 * Gathers recipient statistics in one pass, holding only counts, samples and mixed-case addresses.
 * `variables` are the paths the template reads (templateVariables): a recipient misses one as
 * readPath (src/mail/variable-paths.ts) says, so `picks[].title` is missing when any of their picks lacks a title.
 */
export function createRecipientStatsCollector(variables: readonly string[]): RecipientStatsCollector {
  let total = 0;
  let withoutOwnUnsubscribeUrl = 0;
  let largest: { context: RecipientContext; size: number } | null = null;
  const invalid = tally();
  const paths = new Map<string, PathStats>(
    variables.map((name) => [name, { segments: parseVariablePath(name), missing: tally(), reached: 0, names: new Map() }]),
  );
  const mixedCase: string[] = [];
  let mixedCaseOverflow = 0;

  return {
    add({ email, vars }, size = JSON.stringify(vars).length) {
      total += 1;
      const context: RecipientContext = { email, ...vars };
      if (!isValidAddress(email)) count(invalid, email);
      for (const stats of paths.values()) {
        const known = stats.reached === stats.segments.length;
        const seen = new Map<number, Set<string>>();
        const reading = readPath(context, stats.segments, known ? undefined : (index, keys) => {
          const here = seen.get(index) ?? new Set();
          for (const key of keys) here.add(key);
          seen.set(index, here);
        });
        if (reading.missing) count(stats.missing, email);
        stats.reached = Math.max(stats.reached, reading.reached);
        for (const [index, keys] of seen) {
          const names = stats.names.get(index) ?? new Map<string, number>();
          for (const key of keys) if (names.has(key) || names.size < NAMES_LIMIT) names.set(key, (names.get(key) ?? 0) + 1);
          stats.names.set(index, names);
        }
      }
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
        missingVariables: Object.fromEntries([...paths].map(([name, stats]) => [name, stats.missing])),
        unknownVariables: total === 0 ? [] : unknownVariables(paths),
        withoutOwnUnsubscribeUrl,
        largest: largest?.context ?? null,
      };
    },
  };
}

/**
 * The paths that leave every recipient's data at a name, with the closest name they have there. One
 * that stops at a list (`picks[]` with every list empty) is not unknown: there was nothing to look in.
 * A path below another unknown one (`pick[].title` below `pick`) is left out: fixing one fixes both.
 */
function unknownVariables(paths: ReadonlyMap<string, PathStats>): UnknownVariable[] {
  const unknown = [...paths].filter(([, { segments, reached }]) => reached < segments.length && segments[reached] !== EACH);
  const names = new Set(unknown.map(([path]) => path));
  return unknown.flatMap(([path, stats]) => {
    const { segments, reached } = stats;
    const where = formatVariablePath(segments.slice(0, reached + 1));
    if (where !== path && names.has(where)) return [];
    const name = segments[reached]!;
    const close = closestName(name, stats.names.get(reached) ?? new Map());
    const suggestion = close === undefined ? null : formatVariablePath([...segments.slice(0, reached), close, ...segments.slice(reached + 1)]);
    return [{ path, name, within: formatVariablePath(segments.slice(0, reached)), suggestion }];
  });
}

function tally(): Tally {
  return { count: 0, sample: [] };
}

function count(t: Tally, email: string) {
  t.count += 1;
  if (t.sample.length < SAMPLE_SIZE) t.sample.push(email);
}
