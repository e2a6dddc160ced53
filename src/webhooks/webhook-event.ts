import type { SendingEvent } from "../sendings/support/ports.js";
import type { WebhookData, WebhookEventType, WebhookPayload } from "./webhook-schemas.js";

export type { WebhookEventType, WebhookPayload } from "./webhook-schemas.js";

/*
 * What the system that handed a sending in is told about it: one event type a change of the sending
 * (the schemas, in webhook-schemas.ts, are what the OpenAPI document shows); Slack-only notes
 * (approval reminders) are not webhook events.
 */

/** Whether an event is owed to webhook endpoints at all. */
export function isWebhookEvent(event: SendingEvent): boolean {
  return event.kind !== "reminder";
}

/** Who changed it, as the audit names them: a Slack user ID, `api:<name>`, `operator:<name>` or `sendgate`. */
const by = (actor: string) => ({ by: actor });

/** The payload for one recorded event; undefined for events that are not webhook events. */
export function webhookPayloadOf(sendingId: string, event: SendingEvent, recordedAt: Date): WebhookPayload | undefined {
  const payload = <T extends WebhookEventType>(type: T, data: WebhookData<T>): WebhookPayload =>
    ({ type, timestamp: recordedAt.toISOString(), data: { sendingId, ...data } }) as WebhookPayload;
  switch (event.kind) {
    case "created":
      return payload("sending.created", {});
    case "approved": {
      const data = { ...by(event.by), approvals: event.approvals, required: event.required };
      return event.scheduled ? payload("sending.approved", data) : payload("sending.approval_added", data);
    }
    case "rejected":
      return payload("sending.rejected", { ...by(event.by), reason: event.reason });
    case "rescheduled":
      return payload("sending.rescheduled", { ...by(event.by), from: event.from.toISOString(), to: event.to.toISOString() });
    case "content-changed":
      return payload("sending.content_changed", {
        ...by(event.by),
        changed: event.changed,
        approvalsWithdrawn: event.approvalsWithdrawn,
      });
    case "started":
      return payload("sending.started", { total: event.progress.total, startedAt: event.progress.startedAt.toISOString() });
    case "paused":
      return payload("sending.paused", { ...by(event.by), automatic: false, reason: event.reason ?? null });
    case "auto-paused":
      return payload("sending.paused", { by: "sendgate", automatic: true, reason: event.reason });
    case "late-launch":
      return payload("sending.paused", {
        by: "sendgate",
        automatic: true,
        reason: `The launch date (${event.launchAt.toISOString()}) passed long ago; it was paused instead of being sent late.`,
      });
    case "resumed":
      return payload("sending.resumed", by(event.by));
    case "cancelled":
      return payload("sending.cancelled", {
        ...by(event.by),
        reason: event.reason,
        prepared: event.prepared,
        preparedCount: event.preparedCount,
      });
    case "completed": {
      const { total, sent, failed, cancelled } = event.progress;
      return payload("sending.completed", { total, sent, failed, cancelled });
    }
    case "reminder":
      return undefined;
  }
}
