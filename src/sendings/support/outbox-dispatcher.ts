import type { Logger } from "pino";
import type { Clock, OutboxStore, SendingEvent } from "./ports.js";

export interface OutboxDispatcherOptions {
  store: OutboxStore;
  /** This process, as the claim on a sending's outbox records it. */
  owner: string;
  clock: Clock;
  log: Logger;
  /** Tells one event; `updateCard` is false for all but the last of a batch (the card shows the latest state). */
  deliver(sendingId: string, event: SendingEvent, context: { updateCard: boolean }): Promise<void>;
  /** A failure worth retrying later (the far side unreachable), as opposed to a refusal. */
  isTransient(error: unknown): boolean;
  /** Told of each transient failure and each success, for one outage report instead of one line a failure. */
  outage?: { failed(error: unknown): void; succeeded(): void };
  /** How often due messages are looked for when nothing wakes the dispatcher (retries, other replicas' rows). */
  intervalMs?: number;
  /** Longest wait between two attempts while the far side is unreachable. */
  maxBackoffMs?: number;
}

export interface OutboxDispatcher {
  /** Delivers what is due now; resolves once that pass is done. */
  wake(): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

const CLAIM_MS = 60_000;
const BATCH = 50;
/** A refusal (not an outage) is tried this many times, then given up so that the story goes on. */
const REFUSED_ATTEMPTS = 3;

/**
 * Delivers the outbox: per sending, oldest first, one process at a time (claimed like the delivery
 * lease). A message that fails because the far side is unreachable stops its sending's queue and is
 * tried again with backoff, so the order holds; one refused several times is given up, logged, and
 * the next goes.
 */
export function createOutboxDispatcher(options: OutboxDispatcherOptions): OutboxDispatcher {
  const { store, owner, clock, log } = options;
  const maxBackoffMs = options.maxBackoffMs ?? 60_000;
  let running: Promise<void> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const backoff = (attempts: number) => Math.min(maxBackoffMs, 1000 * 2 ** Math.min(attempts, 16));

  async function deliverSending(sendingId: string): Promise<boolean> {
    let more = false;
    try {
      const messages = await store.pending(sendingId, BATCH);
      more = messages.length === BATCH;
      const now = clock.now();
      // Oldest first, up to the first one waiting for its retry: a later message never overtakes it.
      const waiting = messages.findIndex((m) => m.nextAttemptAt !== null && m.nextAttemptAt > now);
      const due = waiting === -1 ? messages : messages.slice(0, waiting);
      if (waiting !== -1) more = false;
      for (const [i, message] of due.entries()) {
        try {
          await options.deliver(sendingId, message.event, { updateCard: i === due.length - 1 });
          await store.delivered(message.id, clock.now());
          options.outage?.succeeded();
        } catch (error) {
          const reason = error instanceof Error ? error.message : String(error);
          if (options.isTransient(error)) {
            options.outage?.failed(error);
            await store.failed(message.id, reason, new Date(clock.now().getTime() + backoff(message.attempts)), clock.now());
            return false;
          }
          const givingUp = message.attempts + 1 >= REFUSED_ATTEMPTS;
          log.error({ err: error, sendingId, event: message.event.kind, attempts: message.attempts + 1, givingUp }, "telling Slack about a change failed");
          await store.failed(message.id, reason, givingUp ? null : new Date(clock.now().getTime() + backoff(message.attempts)), clock.now());
          if (!givingUp) return false;
        }
      }
    } finally {
      await store.release(sendingId, owner).catch((error) => log.warn({ err: error, sendingId }, "releasing the outbox claim failed"));
    }
    return more;
  }

  async function pass() {
    do {
      again = false;
      const now = clock.now();
      const claimed = await store.claim({ owner, now, until: new Date(now.getTime() + CLAIM_MS), limit: 20 });
      const more = await Promise.all(claimed.map((id) => deliverSending(id)));
      if (more.some(Boolean)) again = true;
    } while (again && !stopped);
  }

  function wake(): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    running = pass()
      .catch((error) => log.error({ err: error }, "delivering the outbox failed"))
      .finally(() => {
        running = undefined;
      });
    return running;
  }

  return {
    wake,
    start() {
      timer = setInterval(() => void wake(), options.intervalMs ?? 1000);
      timer.unref();
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
