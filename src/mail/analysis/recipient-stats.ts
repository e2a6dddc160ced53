import { z } from "zod";
import { unsubscribeUrlFor } from "../message.js";
import type { RecipientContext } from "../templates.js";
import { MIXED_CASE_LIMIT, SAMPLE_SIZE, type RecipientStats, type Tally } from "./types.js";

/**
 * Statistics of a sending's recipients for the analysis, gathered in one pass over pages of the list
 * (src/sendings/analyze-sending.ts feeds them), never the whole list in memory.
 */

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
