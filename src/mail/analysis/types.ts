import type { RecipientContext, TemplateSources } from "../templates.js";

/** What the analysis reads and what it finds (src/mail/analysis/checks.ts), with the limits it judges by. */

export type Severity = "pass" | "warning" | "error";

export type CheckId =
  | "template-errors"
  | "recipients"
  | "missing-variables"
  | "unknown-variables"
  | "invalid-addresses"
  | "duplicate-addresses"
  | "html-size"
  | "unsubscribe"
  | "links"
  | "image-alt"
  | "subject-empty"
  | "subject-length"
  | "subject-caps"
  | "text-part"
  | "dkim-alignment";

export interface Check {
  id: CheckId;
  title: string;
  severity: Severity;
  evidence: string;
}

export interface Analysis {
  checks: Check[];
  counts: { passed: number; warnings: number; errors: number };
}

/** How many recipients a finding concerns, with a few of their addresses to show. */
export interface Tally {
  count: number;
  sample: string[];
}

export interface RecipientStats {
  total: number;
  invalidAddresses: Tally;
  /** Addresses that differ from another one of the list only in letter case (each beyond the first counts). */
  caseDuplicates: Tally;
  /**
   * Per path the template reads (templateVariables): recipients for whom it is absent, null, "" or an
   * empty list; through a list, for any of its items (`picks[].title` counts a recipient one of whose picks lacks a title).
   */
  missingVariables: Record<string, Tally>;
  /** Paths the template reads that are in no recipient's variables (a misspelt name, most often). */
  unknownVariables: UnknownVariable[];
  /** Recipients without a usable `unsubscribeUrl` variable of their own: their List-Unsubscribe header needs UNSUBSCRIBE_URL. */
  withoutOwnUnsubscribeUrl: number;
  /** The recipient with the most variable text, whose message is likely the largest; null without recipients. */
  largest: RecipientContext | null;
}

/** A path the template reads that leaves every recipient's variables at one name. */
export interface UnknownVariable {
  /** The whole path, as templateVariables writes it: `picks[].titel`. */
  path: string;
  /** The name no recipient has: `titel`. */
  name: string;
  /** Where it was looked for: `picks[]`; "" among the top-level variables. */
  within: string;
  /** The path with the closest name recipients do have there (`picks[].title`), when one is close enough. */
  suggestion: string | null;
}

export interface AnalysisInput {
  content: TemplateSources;
  recipients: RecipientStats;
  /** The configured UNSUBSCRIBE_URL: a List-Unsubscribe header for every recipient without one of their own. */
  unsubscribeUrl?: string;
  /** DKIM_DOMAIN when messages are signed: the From domain (of fromEmail) should be it or a subdomain of it. */
  dkimDomain?: string;
  fromEmail?: string;
}

/** Gmail cuts a message whose HTML is larger than this and shows "[Message clipped]". */
export const GMAIL_CLIP_BYTES = 102 * 1024;
/** RFC 5322's recommended line length, and about what inboxes show of a subject before cutting it. */
export const SUBJECT_MAX_CHARS = 78;
/** Addresses shown with a finding. */
export const SAMPLE_SIZE = 5;
/** Mixed-case addresses held to look for their lower-case twins; beyond it the figure is "at least". */
export const MIXED_CASE_LIMIT = 10_000;
