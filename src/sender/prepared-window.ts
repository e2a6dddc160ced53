/**
 * The recipients claimed and marked PREPARED ahead of delivery, waiting for a worker (which renders
 * its message). Bounded: the producer waits for room, so memory holds at most `capacity` of them
 * whatever the list size.
 */
export class PreparedWindow<T> {
  readonly #items: T[] = [];
  #head = 0;
  /** Items pushed and not yet done with (waiting or in a worker's hands). */
  #held = 0;
  #closed = false;
  #takers: ((item: T | undefined) => void)[] = [];
  #roomWaiters: (() => void)[] = [];

  constructor(readonly capacity: number) {}

  get held(): number {
    return this.#held;
  }

  /** Resolves when `count` more fit, or the window was closed. */
  async roomFor(count: number): Promise<void> {
    while (!this.#closed && this.#held + count > this.capacity && this.#held > 0) {
      await new Promise<void>((resolve) => this.#roomWaiters.push(resolve));
    }
  }

  push(item: T): void {
    this.#held++;
    const taker = this.#takers.shift();
    if (taker) taker(item);
    else this.#items.push(item);
  }

  /** The next item, or undefined once the window is closed and empty. */
  take(): Promise<T | undefined> {
    if (this.#head < this.#items.length) {
      const item = this.#items[this.#head++] as T;
      if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
        this.#items.splice(0, this.#head);
        this.#head = 0;
      }
      return Promise.resolve(item);
    }
    if (this.#closed) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#takers.push(resolve));
  }

  done(): void {
    this.#held--;
    for (const wake of this.#roomWaiters.splice(0)) wake();
  }

  /** No more items will come; waiting takers get undefined once the rest is taken. */
  close(): void {
    this.#closed = true;
    for (const taker of this.#takers.splice(0)) taker(undefined);
    for (const wake of this.#roomWaiters.splice(0)) wake();
  }

  /** Stops handing out what is left (a pause, a shutdown): those stay PREPARED for the next run. */
  abandon(): void {
    this.#held -= this.#items.length - this.#head;
    this.#items.length = 0;
    this.#head = 0;
    this.close();
  }
}
