import type { RecipientContext, TemplateSources } from "../templates.js";

/** What the analysis reads and what it finds (src/mail/analysis/checks.ts), with the limits it judges by. */

export type Severity = "pass" | "warning" | "error";

export type CheckId =
  | "template-errors"
  | "recipients"
  | "missing-variables"
  | "invalid-addresses"
  | "duplicate-addresses"
  | "html-size"
  | "unsubscribe"
  | "links"
  | "image-alt"
  | "subject-empty"
  | "subject-length"
  | "subject-caps"
  | "text-part";

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
  /** Per variable the template reads: recipients for whom it is absent, null or empty. */
  missingVariables: Record<string, Tally>;
  /** Recipients without a usable `unsubscribeUrl` variable of their own: their List-Unsubscribe header needs UNSUBSCRIBE_URL. */
  withoutOwnUnsubscribeUrl: number;
  /** The recipient with the most variable text, whose message is likely the largest; null without recipients. */
  largest: RecipientContext | null;
}

export interface AnalysisInput {
  content: TemplateSources;
  recipients: RecipientStats;
  /** The configured UNSUBSCRIBE_URL: a List-Unsubscribe header for every recipient without one of their own. */
  unsubscribeUrl?: string;
}

/** Gmail cuts a message whose HTML is larger than this and shows "[Message clipped]". */
export const GMAIL_CLIP_BYTES = 102 * 1024;
/** RFC 5322's recommended line length, and about what inboxes show of a subject before cutting it. */
export const SUBJECT_MAX_CHARS = 78;
/** Addresses shown with a finding. */
export const SAMPLE_SIZE = 5;
/** Mixed-case addresses held to look for their lower-case twins; beyond it the figure is "at least". */
export const MIXED_CASE_LIMIT = 10_000;
