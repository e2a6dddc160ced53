import { z } from "zod";

/**
 * The webhook events as receivers get them: the Standard Webhooks payload `{ type, timestamp, data }`,
 * one schema a type. `webhookPayloadOf` builds its payloads to these types and the OpenAPI document's
 * `webhooks` section is made from them, so the code and what integrators read cannot drift apart.
 */

const actor = z
  .string()
  .meta({ description: "Who made the change, as the audit names them: a Slack user ID, `api:<token name>`, `operator:<token name>` or `sendgate`." });
const count = z.number().int().nonnegative();
const instant = z.iso.datetime();

function event<T extends string, D extends z.ZodRawShape>(type: T, summary: string, description: string, data: D) {
  const schema = z.strictObject({
    type: z.literal(type),
    timestamp: instant.meta({ description: "When the change was recorded." }),
    data: z.strictObject({ sendingId: z.string().meta({ description: "The sending's id, as `POST /api/sendings` answered it." }), ...data }),
  });
  return { type, summary, description, schema };
}

const approval = {
  by: actor,
  approvals: count.meta({ description: "Distinct approvals the sending holds now." }),
  required: count.meta({ description: "Approvals it needs (REQUIRED_APPROVALS)." }),
};
const counts = {
  total: count.meta({ description: "Recipients in the sending." }),
  sent: count.meta({ description: "Messages an SMTP server accepted (bounces that come later are not known here)." }),
  failed: count.meta({ description: "Recipients whose message was refused for good or ran out of attempts." }),
  cancelled: count.meta({ description: "Recipients not sent to because the sending was cancelled." }),
};

export const WEBHOOK_EVENTS = [
  event("sending.created", "A sending was handed in", "It waits for approval in Slack.", {}),
  event("sending.approval_added", "An approval was added", "More approvals are needed before it is scheduled.", approval),
  event("sending.approved", "A sending was approved", "The quorum is reached: it is scheduled for its launch date.", approval),
  event("sending.rejected", "A sending was rejected", "It will not be sent; the reason is the approver's.", {
    by: actor,
    reason: z.string(),
  }),
  event("sending.rescheduled", "The launch date changed", "Before the launch, from one date to another.", {
    by: actor,
    from: instant,
    to: instant,
  }),
  event("sending.content_changed", "The content changed", "Through the API; earlier approvals are withdrawn and it waits for approval again.", {
    by: actor,
    changed: z.array(z.string()).meta({ description: "The fields that changed: subject, from, replyTo, html, text, recipients…" }),
    approvalsWithdrawn: count,
  }),
  event("sending.started", "Delivery started", "The launch date came and the first messages are going out.", {
    total: counts.total,
    startedAt: instant,
  }),
  event(
    "sending.paused",
    "Delivery paused",
    "By a person (Slack or the operator API), or by sendgate itself (`automatic: true`): the error budget was exceeded, the template does not render, or the launch date passed long ago.",
    { by: actor, automatic: z.boolean(), reason: z.string().nullable() },
  ),
  event("sending.resumed", "Delivery resumed", "After a pause.", { by: actor }),
  event("sending.cancelled", "A sending was cancelled", "Before or during delivery; nothing more goes out but, with `prepared: deliver`, the messages already prepared.", {
    by: actor,
    reason: z.string(),
    prepared: z.enum(["drop", "deliver", "none"]).meta({ description: "What became of the messages already prepared: dropped, still delivered, or there were none." }),
    preparedCount: count,
  }),
  event("sending.completed", "Delivery ended", "Every recipient has its outcome.", counts),
] as const;

type WebhookEvents = (typeof WEBHOOK_EVENTS)[number];
export type WebhookEventType = WebhookEvents["type"];
export type WebhookPayload = z.output<WebhookEvents["schema"]>;
/** The `data` of one event type, without the `sendingId` every event carries. */
export type WebhookData<T extends WebhookEventType> = Omit<Extract<WebhookPayload, { type: T }>["data"], "sendingId">;

/** Any event, told apart by `type`. */
export const webhookPayloadSchema = z.discriminatedUnion(
  "type",
  WEBHOOK_EVENTS.map((entry) => entry.schema) as unknown as [WebhookEvents["schema"], ...WebhookEvents["schema"][]],
);
