import { setTimeout as sleep } from "node:timers/promises";

/**
 * Spaces handoffs to the mailer evenly at `rate` per second: across every sending of the engine
 * (SEND_RATE for the process), and per sending at this engine's share of the sending's rate.
 * Monotonic time on purpose: the injected Clock says what time it is, not how fast to go.
 */
export class Pacer {
  #next = 0;
  #interval: number;

  constructor(rate: number) {
    this.#interval = 1000 / rate;
  }

  /** A new rate applies from the next turn on (turns already given keep their time). */
  setRate(rate: number): void {
    this.#interval = 1000 / rate;
  }

  /** Resolves at this caller's turn. */
  async turn(): Promise<void> {
    for (let late = false; ; late = true) {
      const now = performance.now();
      const at = Math.max(now, this.#next);
      this.#next = at + this.#interval;
      // Timers cannot wait less than a millisecond; at high rates a few callers share one.
      if (at - now < 1) return;
      await sleep(at - now);
      // Woken after the next caller's turn had come (the event loop was held up): going now would
      // bunch with the callers woken with it, over the rate; a late caller takes the next free turn (once).
      if (late || performance.now() - at < this.#interval) return;
    }
  }
}
