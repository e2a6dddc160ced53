/**
 * Shares reads among concurrent callers without ever answering one with a read that began before
 * it asked: a caller that arrives while a read is running waits for the next one. A read may wait
 * for company: it starts once `gather.callers` are waiting or `gather.ms` have passed, so that one
 * query clears several handoffs to SMTP; each of them still sees every Pause or Cancel committed
 * before it asked.
 */
export function freshReads<T>(read: () => Promise<T>, gather = { ms: 0, callers: 1 }): () => Promise<T> {
  let running: Promise<T> | undefined;
  /** The next read, not begun yet: every caller that joins it asked before it began. */
  let next: { promise: Promise<T>; waiting: number; go: () => void } | undefined;

  const start = () => {
    const current = read();
    running = current;
    const clear = () => {
      if (running === current) running = undefined;
    };
    current.then(clear, clear);
    return current;
  };

  return () => {
    if (next) {
      if (++next.waiting >= gather.callers) next.go();
      return next.promise;
    }
    if (!running && gather.ms <= 0) return start();
    const previous = running;
    let go!: () => void;
    const ready = new Promise<void>((resolve) => (go = resolve));
    const timer = gather.ms > 0 ? setTimeout(go, gather.ms) : undefined;
    const promise = (async () => {
      await ready;
      clearTimeout(timer);
      // Never two reads at once; the one on its way answers those who asked before it began.
      await previous?.then(
        () => undefined,
        () => undefined,
      );
      next = undefined;
      return start();
    })();
    next = { promise, waiting: 1, go };
    if (gather.ms <= 0 || gather.callers <= 1) go();
    return promise;
  };
}
