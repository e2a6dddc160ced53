/**
 * The analysis an approver reads before approving: pure over a sending's content and statistics of
 * its recipients (gathered in pages by src/sendings/analyze-sending.ts). Errors block approval;
 * warnings must be acknowledged.
 *
 * types.ts: what goes in and comes out; recipient-stats.ts: the recipient statistics, in one pass;
 * checks.ts: the checks; html-scan.ts: reading the HTML's links and images.
 */
export {
  GMAIL_CLIP_BYTES,
  MIXED_CASE_LIMIT,
  SAMPLE_SIZE,
  SUBJECT_MAX_CHARS,
  type Analysis,
  type AnalysisInput,
  type Check,
  type CheckId,
  type RecipientStats,
  type Severity,
  type Tally,
} from "./types.js";
export { createRecipientStatsCollector, isValidAddress, type RecipientStatsCollector } from "./recipient-stats.js";
export { analyzeSending } from "./checks.js";
export { linkProblem } from "./html-scan.js";
