import { setTimeout as sleep } from "node:timers/promises";

/**
 * Spaces handoffs to the mailer evenly at `rate` per second, across every sending of the engine.
 * Monotonic time on purpose: the injected Clock says what time it is, not how fast to go.
 */
export class Pacer {
  #next = 0;
  readonly #interval: number;

  constructor(rate: number) {
    this.#interval = 1000 / rate;
  }

  /** Resolves at this caller's turn. */
  async turn(): Promise<void> {
    const now = performance.now();
    const at = Math.max(now, this.#next);
    this.#next = at + this.#interval;
    // Timers cannot wait less than a millisecond; at high rates a few callers share one.
    if (at - now >= 1) await sleep(at - now);
  }
}
