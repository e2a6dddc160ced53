/**
 * Decides when failures are too many to go on: a run of consecutive failures, or a share of
 * failures among the last `window` messages. Tried per outcome, so a broken server or a bad list
 * pauses the sending after a bounded number of attempts.
 */
export class ErrorBudget {
  #consecutive = 0;
  readonly #recent: boolean[] = [];
  #next = 0;
  #failuresInWindow = 0;

  constructor(private readonly limits: { consecutive: number; ratio: number; window: number }) {}

  /** Records one outcome; returns the cause when the budget is spent. */
  record(failed: boolean, reason?: string): string | undefined {
    this.#consecutive = failed ? this.#consecutive + 1 : 0;
    const { window } = this.limits;
    if (this.#recent.length < window) this.#recent.push(failed);
    else {
      if (this.#recent[this.#next]) this.#failuresInWindow--;
      this.#recent[this.#next] = failed;
      this.#next = (this.#next + 1) % window;
    }
    if (failed) this.#failuresInWindow++;
    if (!failed) return undefined;
    const last = reason ? ` The last one: ${reason}` : "";
    if (this.#consecutive >= this.limits.consecutive) {
      return `${this.#consecutive} messages in a row failed.${last}`;
    }
    if (this.#recent.length >= window && this.#failuresInWindow / window >= this.limits.ratio) {
      const share = Math.round((100 * this.#failuresInWindow) / window);
      return `${share}% of the last ${window} messages failed (the limit is ${Math.round(100 * this.limits.ratio)}%).${last}`;
    }
    return undefined;
  }
}
