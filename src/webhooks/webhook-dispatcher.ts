import type { Logger } from "pino";
import type { Clock, SendingEvent } from "../sendings/support/ports.js";
import { webhookPayloadOf } from "./webhook-event.js";
import { webhookSignature, type WebhookSecret } from "./signature.js";

/** One event owed to one endpoint, oldest first. */
export interface PendingWebhook {
  id: number;
  sendingId: string;
  /** The outbox message it tells: its id is the event's `webhook-id`, the same on every attempt and endpoint. */
  messageId: number;
  endpointId: number;
  url: string;
  event: SendingEvent;
  recordedAt: Date;
  attempts: number;
  nextAttemptAt: Date | null;
}

/** The dispatcher's view of the database (src/db/webhook-store.ts). */
export interface WebhookStore {
  /** Claims up to `limit` sendings with deliveries due, one process at a time per sending (as the Slack outbox). */
  claim(input: { owner: string; now: Date; until: Date; limit: number }): Promise<string[]>;
  /** The sending's undelivered events to enabled endpoints, in the order they were recorded. */
  pending(sendingId: string, limit: number): Promise<PendingWebhook[]>;
  delivered(id: number, at: Date): Promise<void>;
  retryLater(id: number, error: string, at: Date): Promise<void>;
  giveUp(id: number, error: string, at: Date): Promise<void>;
  /** A 410: the endpoint gets nothing more until the configured list changes; what it was owed is given up. */
  disable(endpointId: number, reason: string, at: Date): Promise<void>;
  release(sendingId: string, owner: string): Promise<void>;
}

/** Sends one request; resolves with the HTTP status, rejects when no answer came (refused, timed out). */
export type WebhookPost = (url: string, request: { body: string; headers: Record<string, string> }) => Promise<number>;

export type WebhookOutcome = "delivered" | "retried" | "failed" | "disabled";

export interface WebhookDispatcherOptions {
  store: WebhookStore;
  owner: string;
  clock: Clock;
  log: Logger;
  secrets: readonly WebhookSecret[];
  post?: WebhookPost;
  /** How often due deliveries are looked for when nothing wakes the dispatcher (retries, other replicas' rows). */
  intervalMs?: number;
  /** First wait after a failure, doubled each time up to maxMs; given up once the waits add up to giveUpAfterMs. */
  retry?: { firstMs: number; maxMs: number; giveUpAfterMs: number };
  observe?(outcome: WebhookOutcome): void;
}

export interface WebhookDispatcher {
  wake(): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

const CLAIM_MS = 60_000;
const BATCH = 100;
export const WEBHOOK_REQUEST_TIMEOUT_MS = 15_000;
export const DEFAULT_WEBHOOK_RETRY = { firstMs: 5_000, maxMs: 3_600_000, giveUpAfterMs: 24 * 3_600_000 };

/** Node's fetch, without following redirects (a receiver that moved must be reconfigured, not guessed at). */
export const fetchWebhookPost: WebhookPost = async (url, { body, headers }) => {
  const response = await fetch(url, { method: "POST", body, headers, redirect: "manual", signal: AbortSignal.timeout(WEBHOOK_REQUEST_TIMEOUT_MS) });
  await response.body?.cancel().catch(() => {});
  return response.status;
};

/**
 * Delivers webhook events: per sending and endpoint in the order they were recorded, one process at
 * a time per sending. A failed attempt holds that endpoint's later events for the sending back and is
 * retried with backoff; after `giveUpAfterMs` it is marked failed, logged and counted, and the next
 * one goes. A 410 disables the endpoint. Endpoints do not wait for one another.
 */
export function createWebhookDispatcher(options: WebhookDispatcherOptions): WebhookDispatcher {
  const { store, owner, clock, log, secrets } = options;
  const post = options.post ?? fetchWebhookPost;
  const retry = options.retry ?? DEFAULT_WEBHOOK_RETRY;
  let running: Promise<void> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const backoffMs = (attempts: number) => Math.min(retry.maxMs, retry.firstMs * 2 ** Math.min(attempts, 30));
  /** How long an event has been retried for once it has failed this many times (the waits between its attempts). */
  const retriedForMs = (failures: number) => {
    let total = 0;
    for (let i = 0; i < failures; i += 1) total += backoffMs(i);
    return total;
  };

  /** Delivers one endpoint's share of a sending's events in order; false when it has to wait. */
  async function deliverInOrder(queue: PendingWebhook[]): Promise<boolean> {
    for (const delivery of queue) {
      const now = clock.now();
      if (delivery.nextAttemptAt && delivery.nextAttemptAt > now) return false;
      const payload = webhookPayloadOf(delivery.sendingId, delivery.event, delivery.recordedAt);
      if (!payload) {
        await store.delivered(delivery.id, now);
        continue;
      }
      const body = JSON.stringify(payload);
      const id = `msg_${delivery.messageId}`;
      // Signed at each attempt: receivers refuse timestamps more than a few minutes old.
      const timestamp = Math.floor(now.getTime() / 1000);
      const headers = {
        "content-type": "application/json",
        "user-agent": "sendgate-webhooks",
        "webhook-id": id,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": webhookSignature(secrets, id, timestamp, body),
      };
      let failure: string;
      try {
        const status = await post(delivery.url, { body, headers });
        if (status >= 200 && status < 300) {
          await store.delivered(delivery.id, clock.now());
          options.observe?.("delivered");
          continue;
        }
        if (status === 410) {
          const reason = `${delivery.url} answered 410 Gone: disabled until WEBHOOK_URLS changes`;
          await store.disable(delivery.endpointId, reason, clock.now());
          options.observe?.("disabled");
          log.warn({ endpoint: delivery.url, sendingId: delivery.sendingId }, "webhook endpoint answered 410 Gone: it gets no more events until WEBHOOK_URLS changes");
          return false;
        }
        failure = `HTTP ${status}`;
      } catch (error) {
        failure = (error as Error).name === "TimeoutError" ? "no answer within 15 s" : ((error as Error & { cause?: Error }).cause?.message ?? (error as Error).message);
      }
      // The retry period is the backoff schedule's, not the wall clock's: a day sendgate itself was
      // down for does not use up the receiver's retries.
      if (retriedForMs(delivery.attempts + 1) > retry.giveUpAfterMs) {
        await store.giveUp(delivery.id, failure, clock.now());
        options.observe?.("failed");
        log.error(
          { endpoint: delivery.url, sendingId: delivery.sendingId, type: payload.type, webhookId: id, attempts: delivery.attempts + 1, error: failure },
          "webhook event given up: the endpoint did not take it within the retry period",
        );
        continue;
      }
      const later = new Date(clock.now().getTime() + backoffMs(delivery.attempts));
      await store.retryLater(delivery.id, failure, later);
      options.observe?.("retried");
      log.debug({ endpoint: delivery.url, webhookId: id, attempts: delivery.attempts + 1, error: failure, retryAt: later }, "webhook delivery failed; retrying later");
      return false;
    }
    return true;
  }

  async function deliverSending(sendingId: string): Promise<boolean> {
    try {
      const pending = await store.pending(sendingId, BATCH);
      const byEndpoint = new Map<number, PendingWebhook[]>();
      for (const delivery of pending) {
        const queue = byEndpoint.get(delivery.endpointId) ?? [];
        queue.push(delivery);
        byEndpoint.set(delivery.endpointId, queue);
      }
      const done = await Promise.all([...byEndpoint.values()].map((queue) => deliverInOrder(queue)));
      return pending.length === BATCH && done.some(Boolean);
    } finally {
      await store.release(sendingId, owner).catch((error) => log.warn({ err: error, sendingId }, "releasing the webhook claim failed"));
    }
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
      .catch((error) => log.error({ err: error }, "delivering webhook events failed"))
      .finally(() => {
        running = undefined;
      });
    return running;
  }

  return {
    wake,
    start() {
      // What an earlier process committed and never got out (a crash, a restart) goes first.
      void wake();
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
