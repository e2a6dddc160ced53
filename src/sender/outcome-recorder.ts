import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import type { RecipientOutcome } from "./store.js";

const WRITE_ATTEMPTS = 6;

/**
 * Writes outcomes as soon as the previous write is done, all that arrived meanwhile in one
 * statement (a group commit): one write per message when mail is slow, a few per hundred when it
 * is fast. What is accepted but not yet written is what a crash could send a second time, so
 * `roomFor()` holds the workers back when the database falls behind.
 */
export class OutcomeRecorder {
  #buffer: { outcome: RecipientOutcome; written: () => void }[] = [];
  #writing: Promise<void> | undefined;
  #inWrite = 0;
  #failure: Error | undefined;
  #waiters: (() => void)[] = [];

  constructor(
    private readonly write: (batch: readonly RecipientOutcome[]) => Promise<void>,
    private readonly log: Logger,
    /** `gatherMs`: how long a write waits for more outcomes; what a crash could send twice grows with it. */
    private readonly limits = { batch: 500, pending: 100, gatherMs: 0 },
  ) {}

  /** Set once outcomes could not be written at all; the run stops delivering. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  get pending(): number {
    return this.#buffer.length + this.#inWrite;
  }

  /** Queues an outcome; resolves once it is written, or given up on (then `failure` says why). */
  add(outcome: RecipientOutcome): Promise<void> {
    return new Promise<void>((written) => {
      this.#buffer.push({ outcome, written });
      this.#kick();
    });
  }

  /** Resolves once fewer than the limit wait to be written. */
  async roomFor(): Promise<void> {
    while (this.pending >= this.limits.pending && !this.#failure) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Resolves when everything added so far is written (or given up on). */
  async settle(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  #kick() {
    if (this.#writing) return;
    this.#writing = this.#drain().finally(() => {
      this.#writing = undefined;
      if (this.#buffer.length > 0 && !this.#failure) this.#kick();
    });
  }

  async #drain() {
    while (this.#buffer.length > 0) {
      if (this.limits.gatherMs > 0 && this.#buffer.length < this.limits.batch) await sleep(this.limits.gatherMs);
      const batch = this.#buffer.splice(0, this.limits.batch);
      this.#inWrite = batch.length;
      try {
        await this.#writeWithRetries(batch.map((entry) => entry.outcome));
      } catch (error) {
        // These recipients stay PREPARED: the next run sends them again, with the same Message-ID.
        this.#failure = error as Error;
        this.log.error({ err: error, lost: batch.length + this.#buffer.length }, "delivery outcomes could not be written");
        batch.push(...this.#buffer.splice(0));
      } finally {
        this.#inWrite = 0;
        for (const entry of batch) entry.written();
        for (const wake of this.#waiters.splice(0)) wake();
      }
    }
  }

  async #writeWithRetries(batch: readonly RecipientOutcome[]) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.write(batch);
      } catch (error) {
        if (attempt >= WRITE_ATTEMPTS) throw error;
        this.log.warn({ err: error, attempt }, "writing delivery outcomes failed; trying again");
        await sleep(100 * 2 ** attempt);
      }
    }
  }
}
