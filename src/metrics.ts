import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * sendgate's Prometheus metrics (prom-client): the process's own, and what an operator watches a
 * delivery by: messages by outcome, SMTP latency, the prepared queue, Slack's answers and how fast
 * Slack's interactions are acknowledged (Slack gives up after 3 seconds).
 */
export interface Metrics {
  readonly contentType: string;
  countRequest(method: string, route: string, status: number): void;
  countAppendedRecipients(count: number): void;
  /** One handoff to the mail server: sent, failed (refused for good) or retried (refused for now, or unreachable). */
  observeSend(outcome: "sent" | "failed" | "retried", seconds: number): void;
  /** One Slack Web API call: `ok`, Slack's error code, `http_<status>` or `unreachable`. */
  countSlackCall(method: string, outcome: string): void;
  /** From an interaction's request arriving to its acknowledgement going back (HTTP mode: the response). */
  observeAck(receiver: string, seconds: number): void;
  /** One webhook attempt: delivered, retried (later), failed (given up after the retry period), disabled (a 410). */
  countWebhook(outcome: "delivered" | "retried" | "failed" | "disabled"): void;
  render(): Promise<string>;
}

export interface MetricSources {
  sendingsByStatus(): Promise<Record<string, number>>;
  /** Rendered messages waiting for their turn at the mail server. */
  preparedMessages(): Promise<number>;
}

export function createMetrics(sources: MetricSources): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({ name: "sendgate_http_requests_total", help: "HTTP requests by method, route and status.", labelNames: ["method", "route", "status"], registers: [registry] });
  const appended = new Counter({ name: "sendgate_recipients_appended_total", help: "Recipients appended through the intake API.", registers: [registry] });
  const messages = new Counter({
    name: "sendgate_messages_total",
    help: "Messages handed to the mail server, by outcome: sent, failed (refused for good), retried (refused for now or not reached).",
    labelNames: ["outcome"],
    registers: [registry],
  });
  const smtpSeconds = new Histogram({
    name: "sendgate_smtp_send_seconds",
    help: "Time to hand one message to the mail server, whatever the outcome.",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const slackCalls = new Counter({ name: "sendgate_slack_api_calls_total", help: "Slack Web API calls by method and outcome.", labelNames: ["method", "outcome"], registers: [registry] });
  const ackSeconds = new Histogram({
    name: "sendgate_slack_ack_seconds",
    help: "Time from an interaction's request arriving to its acknowledgement (HTTP mode); Slack gives up at 3 s.",
    labelNames: ["receiver"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5],
    registers: [registry],
  });
  const webhooks = new Counter({
    name: "sendgate_webhook_attempts_total",
    help: "Webhook delivery attempts by outcome: delivered, retried (tried again later), failed (given up after the retry period), disabled (the endpoint answered 410).",
    labelNames: ["outcome"],
    registers: [registry],
  });
  new Gauge({
    name: "sendgate_sendings",
    help: "Sendings by status.",
    labelNames: ["status"],
    registers: [registry],
    async collect() {
      for (const [status, count] of Object.entries(await sources.sendingsByStatus())) this.set({ status }, count);
    },
  });
  new Gauge({
    name: "sendgate_prepared_messages",
    help: "Messages rendered and waiting for their turn at the mail server.",
    registers: [registry],
    async collect() {
      this.set(await sources.preparedMessages());
    },
  });
  for (const outcome of ["sent", "failed", "retried"]) messages.inc({ outcome }, 0);
  for (const outcome of ["delivered", "retried", "failed", "disabled"]) webhooks.inc({ outcome }, 0);
  return {
    contentType: registry.contentType,
    countRequest: (method, route, status) => requests.inc({ method, route, status: String(status) }),
    countAppendedRecipients: (count) => appended.inc(count),
    observeSend(outcome, seconds) {
      messages.inc({ outcome });
      smtpSeconds.observe(seconds);
    },
    countSlackCall: (method, outcome) => slackCalls.inc({ method, outcome }),
    observeAck: (receiver, seconds) => ackSeconds.observe({ receiver }, seconds),
    countWebhook: (outcome) => webhooks.inc({ outcome }),
    render: () => registry.metrics(),
  };
}
