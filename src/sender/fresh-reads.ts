import { setTimeout as sleep } from "node:timers/promises";

/**
 * Shares reads among concurrent callers without ever answering one with a read that began before
 * it asked: a caller that arrives while a read is running waits for the next one. With `gatherMs`,
 * a read waits that long for more callers first, so that one query clears several handoffs to SMTP;
 * each of them still sees every Pause or Cancel committed before it asked.
 */
export function freshReads<T>(read: () => Promise<T>, gatherMs = 0): () => Promise<T> {
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
  const settled = () =>
    running?.then(
      () => undefined,
      () => undefined,
    );
  return () => {
    // A pending `next` has not begun yet, so it is fresh for this caller too.
    if (next) return next;
    if (!running && gatherMs <= 0) return start();
    next = (async () => {
      await settled();
      if (gatherMs > 0) await sleep(gatherMs);
      next = undefined;
      return start();
    })();
    return next;
  };
}
