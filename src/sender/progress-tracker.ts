import type { DeliveryProgress } from "../sendings/support/ports.js";
import type { RecipientCounts } from "./store.js";

const RATE_WINDOW_MS = 15_000;
const MAX_REASONS = 100;

/**
 * Counts kept in memory from one read at the start of a run plus what the run itself did, so
 * progress costs no query however often it is reported. While several engines share the sending,
 * the lease holder resets them from the database before each report, and the rate counts every
 * engine's outcomes.
 */
export class ProgressTracker {
  #counts: RecipientCounts;
  readonly #reasons = new Map<string, number>();
  #samples: { at: number; done: number }[] = [];
  /** Outcomes that sent the recipient back to the queue (a retry): not in the counts' sent or failed. */
  #retried = 0;

  constructor(
    counts: RecipientCounts,
    readonly startedAt: Date,
    reasons: { reason: string; count: number }[] = [],
  ) {
    this.#counts = { ...counts };
    for (const { reason, count } of reasons) this.#reasons.set(reason, count);
  }

  get counts(): Readonly<RecipientCounts> {
    return this.#counts;
  }

  /** Replaces the counts with fresh ones from the database (after a Cancel, say). */
  reset(counts: RecipientCounts, reasons?: { reason: string; count: number }[]) {
    this.#counts = { ...counts };
    if (reasons) {
      this.#reasons.clear();
      for (const { reason, count } of reasons) this.#reasons.set(reason, count);
    }
  }

  prepared(count: number) {
    this.#counts.queued -= count;
    this.#counts.prepared += count;
  }

  sent() {
    this.#counts.prepared--;
    this.#counts.sent++;
  }

  failed(reason: string) {
    this.#counts.prepared--;
    this.#counts.failed++;
    if (this.#reasons.has(reason) || this.#reasons.size < MAX_REASONS) {
      this.#reasons.set(reason, (this.#reasons.get(reason) ?? 0) + 1);
    }
  }

  retrying() {
    this.#counts.prepared--;
    this.#counts.queued++;
    this.#retried++;
  }

  snapshot(now = performance.now()): DeliveryProgress {
    const done = this.#counts.sent + this.#counts.failed + this.#retried;
    this.#samples.push({ at: now, done });
    while (this.#samples.length > 2 && (this.#samples[0] as { at: number }).at < now - RATE_WINDOW_MS) this.#samples.shift();
    const first = this.#samples[0] as { at: number; done: number };
    const seconds = (now - first.at) / 1000;
    const rate = seconds > 0 ? Math.max(0, done - first.done) / seconds : 0;
    const failureReasons = [...this.#reasons]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5)
      .map(([reason, count]) => ({ reason, count }));
    return { ...this.#counts, rate: Math.round(rate * 10) / 10, startedAt: this.startedAt, failureReasons };
  }
}
