import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Copy } from "./fault-sink.js";

export const RESULTS_DIR = fileURLToPath(new URL("../../../test-results/faults/", import.meta.url));
export const ROWS_FILE = join(RESULTS_DIR, "rows.jsonl");

/** One recipient as the database recorded it when a case ends. */
export interface RecordedRecipient {
  id: number;
  email: string;
  status: string;
}

/** What a case counted at the SMTP sink, against what sendgate recorded. */
export interface SinkFigures {
  recipients: number;
  /** Recipients with at least one copy the sink accepted. */
  delivered: number;
  /**
   * Recipients owed a message that the sink never accepted, and recorded without a final failure;
   * plus recipients recorded as sent that the sink never accepted.
   */
  lost: number;
  /** Recipients recorded FAILED (refused for good by the server): told, not lost. */
  failed: number;
  /** Recipients the sink accepted more than once. */
  receivedTwice: string[];
  /** Accepted copies beyond the first, over all recipients. */
  extraCopies: number;
  /** Every copy of every recipient (re-sends included) carried the recipient's one Message-ID. */
  messageIdsKept: boolean;
  /** Recipients recorded FAILED although the sink accepted them, or SENT although it never did. */
  wrongOutcomes: string[];
  /** Accepted mail for addresses the sending does not have. */
  strangers: number;
}

/** The Message-ID sendgate gives recipient `recipientId` of `sendingId` from `domain`, on every attempt. */
export const expectedMessageId = (sendingId: string, recipientId: number, domain = "acme.test") => `<${sendingId}.r${recipientId}@${domain}>`;

export function countAtSink(sendingId: string, rows: readonly RecordedRecipient[], copies: readonly Copy[], options: { domain?: string } = {}): SinkFigures {
  const byAddress = new Map<string, Copy[]>();
  for (const copy of copies) byAddress.set(copy.to, [...(byAddress.get(copy.to) ?? []), copy]);
  const known = new Set(rows.map((row) => row.email));
  let delivered = 0;
  let lost = 0;
  let failed = 0;
  let extraCopies = 0;
  let messageIdsKept = true;
  const receivedTwice: string[] = [];
  const wrongOutcomes: string[] = [];
  for (const row of rows) {
    const all = byAddress.get(row.email) ?? [];
    const accepted = all.filter((copy) => copy.outcome === "accepted").length;
    const expected = expectedMessageId(sendingId, row.id, options.domain);
    // A copy cut before its headers arrived has no Message-ID to compare.
    if (all.some((copy) => copy.messageId !== "" && copy.messageId !== expected)) messageIdsKept = false;
    if (accepted > 0) delivered++;
    if (accepted > 1) {
      receivedTwice.push(row.email);
      extraCopies += accepted - 1;
    }
    if (row.status === "FAILED") failed++;
    if (accepted === 0 && row.status !== "FAILED" && row.status !== "CANCELLED") lost++;
    if ((row.status === "FAILED" && accepted > 0) || (row.status === "SENT" && accepted === 0)) wrongOutcomes.push(row.email);
  }
  const strangers = copies.filter((copy) => copy.outcome === "accepted" && !known.has(copy.to)).length;
  return { recipients: rows.length, delivered, lost, failed, receivedTwice, extraCopies, messageIdsKept, wrongOutcomes, strangers };
}

/** One line of the suite's table. */
export interface CaseRow {
  case: string;
  /** How many times the fault was made (kills, restarts, outages…). */
  runs: number;
  recipients: number;
  delivered: number;
  lost: number;
  /** Recipients received twice. */
  duplicates: number;
  /** Of those, how many the case could tell were in flight when the fault came (all of them, when it passes). */
  inFlight?: number;
  messageIdsKept: boolean;
  /** Milliseconds from each fault to delivery going on again; empty when the case has nothing to recover from. */
  recoveryMs: number[];
  /** What else the case measured, in a few words. */
  notes?: string;
  durationMs: number;
}

/** Prints a case's figures and keeps its row for the table the suite prints at the end. */
export function reportCase(row: CaseRow) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  appendFileSync(ROWS_FILE, `${JSON.stringify(row)}\n`);
  const recovery = row.recoveryMs.length ? ` recovery ${formatRecovery(row.recoveryMs)};` : "";
  console.log(
    `[faults] ${row.case}: runs ${row.runs}; ${row.delivered}/${row.recipients} delivered, ${row.lost} lost, ${row.duplicates} received twice` +
      `${row.inFlight === undefined ? "" : ` (${row.inFlight} of them in flight at a fault)`}; ` +
      `Message-ID kept on every re-send: ${row.messageIdsKept ? "yes" : "NO"};${recovery} ${(row.durationMs / 1000).toFixed(1)} s` +
      `${row.notes ? `\n[faults]   ${row.notes}` : ""}`,
  );
}

export function formatRecovery(values: readonly number[]): string {
  if (values.length === 0) return "-";
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  if (values.length <= 3) return values.map(seconds).join(", ");
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  return `median ${seconds(median)}, max ${seconds(sorted.at(-1)!)}`;
}

/** "0", or "3, all in flight at a fault" / "3, 2 in flight at a fault" when the case could tell. */
function formatDuplicates(row: CaseRow): string {
  if (row.duplicates === 0 || row.inFlight === undefined) return String(row.duplicates);
  return `${row.duplicates}, ${row.inFlight === row.duplicates ? "all" : row.inFlight} in flight at a fault`;
}

/** The suite's table, in Markdown: the README's "Reliability" section quotes it. */
export function formatTable(rows: readonly CaseRow[]): string {
  const lines = [
    "| Case | Runs | Delivered | Lost | Received twice | Same Message-ID | Recovery time |",
    "|---|---:|---:|---:|---:|---|---|",
    ...rows.map(
      (row) =>
        `| ${row.case} | ${row.runs} | ${row.delivered.toLocaleString("en-US")} of ${row.recipients.toLocaleString("en-US")} | ${row.lost} | ` +
        `${formatDuplicates(row)} | ${row.messageIdsKept ? "yes" : "NO"} | ${formatRecovery(row.recoveryMs)} |`,
    ),
  ];
  return lines.join("\n");
}
