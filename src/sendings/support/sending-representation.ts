import type { Logger } from "pino";
import type { SendingStatus } from "../../domain/sending-status.js";
import type { Analysis, CheckId } from "../../mail/analysis/index.js";
import { errorChecks, warningChecks, type SendingAnalyzer } from "./current-analysis.js";

/** A sending as the intake API shows it (`GET /api/sendings/:id`) and takes it back (`PUT`). */

export const recipientStatuses = ["QUEUED", "PREPARED", "SENT", "FAILED", "CANCELLED"] as const;
export type RecipientStatus = (typeof recipientStatuses)[number];

/** What the analysis found, as the approvers see it: every check counted, the warnings and errors spelled out. */
export interface AnalysisSummary {
  errors: number;
  warnings: number;
  passed: number;
  /** Errors first, then warnings; passed checks are only counted. */
  findings: { id: CheckId; severity: "error" | "warning"; title: string; evidence: string }[];
}

/** A sending's state as the intake API reports it. */
export interface SendingState {
  id: string;
  name: string;
  status: SendingStatus;
  statusNote: string | null;
  subject: string;
  from: { name: string | null; email: string };
  replyTo: string | null;
  html: string;
  text: string | null;
  launchAt: Date;
  requestedBy: string;
  contentHash: string;
  recipientCount: number;
  /** How many recipients are in each delivery state. */
  recipients: Record<RecipientStatus, number>;
  /** Approvals on the current content; earlier ones were withdrawn by a content change. */
  approvals: number;
  decisions: { kind: "APPROVAL" | "REJECTION"; userId: string; reason: string | null; at: Date; current: boolean }[];
  /** The analysis of the current content. */
  analysis: AnalysisSummary;
  createdAt: Date;
  updatedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export function summarizeAnalysis(analysis: Analysis): AnalysisSummary {
  const findings = (checks: Analysis["checks"], severity: "error" | "warning") =>
    checks.map(({ id, title, evidence }) => ({ id, severity, title, evidence }));
  return {
    errors: analysis.counts.errors,
    warnings: analysis.counts.warnings,
    passed: analysis.counts.passed,
    findings: [...findings(errorChecks(analysis), "error"), ...findings(warningChecks(analysis), "warning")],
  };
}

/**
 * The analysis of what was just stored, for the answer to the request that stored it. The change
 * has committed: a failure here is logged and shown as null (GET makes it again), never as an
 * error that would make the client send the sending a second time.
 */
export async function analysisAfterCommit(
  deps: { analyzer: SendingAnalyzer; log: Logger },
  sendingId: string,
): Promise<AnalysisSummary | null> {
  try {
    return summarizeAnalysis(await deps.analyzer.current(sendingId));
  } catch (error) {
    deps.log.error({ err: error, sendingId }, "analysis for the API answer failed");
    return null;
  }
}
