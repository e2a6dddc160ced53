import type { Database } from "../../db/database.js";
import { AppError } from "../../domain/errors.js";
import type { Analysis } from "../../mail/analysis/index.js";
import { analyzeSending } from "../analyze-sending.js";

/** Reads a sending's analysis, made once per content: stored with the content hash it describes. */
export interface SendingAnalyzer {
  /** The analysis of the current content, computed now when the stored one is missing or stale. */
  current(sendingId: string): Promise<Analysis>;
}

export function createSendingAnalyzer(db: Database, settings: { unsubscribeUrl?: string; dkimDomain?: string }): SendingAnalyzer {
  return {
    async current(sendingId) {
      const sending = await db.prisma.sending.findUnique({
        where: { id: sendingId },
        select: { contentHash: true, analysis: true, analysisHash: true },
      });
      if (!sending) throw new AppError("NOT_FOUND", `Sending ${sendingId} does not exist.`);
      if (sending.analysis && sending.analysisHash === sending.contentHash) return JSON.parse(sending.analysis) as Analysis;
      const analysis = await analyzeSending(db, sendingId, settings);
      // Stored only if the content is still the one analysed; a change meanwhile leaves it for the next read.
      await db.prisma.sending.updateMany({
        where: { id: sendingId, contentHash: sending.contentHash },
        data: { analysis: JSON.stringify(analysis), analysisHash: sending.contentHash },
      });
      return analysis;
    },
  };
}

/** The stored analysis when it still describes the content; null when it must be made again. */
export function freshAnalysis(sending: { contentHash: string; analysis: string | null; analysisHash: string | null }): Analysis | null {
  return sending.analysis && sending.analysisHash === sending.contentHash ? (JSON.parse(sending.analysis) as Analysis) : null;
}

export function errorChecks(analysis: Analysis) {
  return analysis.checks.filter((check) => check.severity === "error");
}

export function warningChecks(analysis: Analysis) {
  return analysis.checks.filter((check) => check.severity === "warning");
}
