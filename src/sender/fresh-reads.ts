/**
 * Shares reads among concurrent callers without ever answering one with a read that began before
 * it asked: a caller that arrives while a read is running waits for the next one. Each handoff to
 * SMTP thus sees every Pause or Cancel committed before it, at a fraction of the queries.
 */
export function freshReads<T>(read: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  let next: Promise<T> | undefined;
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
    // A pending `next` has not begun yet, so it is fresh for this caller too.
    if (next) return next;
    if (!running) return start();
    next = running
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() => {
        next = undefined;
        return start();
      });
    return next;
  };
}
