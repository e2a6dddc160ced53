import type { FieldChange, SendingEvent } from "../../sendings/support/ports.js";
import { formatCount, mention, plural, safeMrkdwn, slackDate } from "../format.js";

const fieldNames: Record<string, string> = {
  subject: "the subject",
  fromName: "the sender's name",
  fromEmail: "the sender's address",
  from: "the sender",
  replyTo: "the reply-to address",
  html: "the HTML",
  text: "the text version",
  name: "the name",
  launchAt: "the launch date",
  recipients: "the recipients",
};

const quote = (value: string | undefined) => (value ? `“${safeMrkdwn(value, 200)}”` : "nothing");

/** "the subject from “A” to “B”", or only the field's name for long ones (bodies, lists). */
function describeChange(change: FieldChange): string {
  const field = fieldNames[change.field] ?? safeMrkdwn(change.field, 50);
  if (change.from === undefined && change.to === undefined) return field;
  if (change.field === "launchAt" && change.from && change.to) {
    return `${field} from ${slackDate(new Date(change.from))} to ${slackDate(new Date(change.to))}`;
  }
  return `${field} from ${quote(change.from)} to ${quote(change.to)}`;
}

/** "a, b and c" */
const list = (items: string[]) => (items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`);

/** The line each change writes in the sending's thread, so the thread is its history. */
export function describeEvent(event: SendingEvent): string | null {
  switch (event.kind) {
    case "created":
      return null;
    case "approved":
      return event.scheduled
        ? `:white_check_mark: ${mention(event.by)} approved (${event.approvals} of ${event.required}). It is scheduled.`
        : `:ballot_box_with_check: ${mention(event.by)} approved (${event.approvals} of ${event.required}). It waits for ${plural(event.required - event.approvals, "more approval")}.`;
    case "rejected":
      return `:no_entry: ${mention(event.by)} rejected it: ${safeMrkdwn(event.reason, 2500)}`;
    case "rescheduled":
      return `:calendar: ${mention(event.by)} moved the launch from ${slackDate(event.from)} to ${slackDate(event.to)}.`;
    case "cancelled": {
      const these = event.preparedCount === 1 ? "The 1 message already prepared (rendered and waiting for the mail server) was" : `The ${formatCount(event.preparedCount)} messages already prepared (rendered and waiting for the mail server) were`;
      const prepared =
        event.prepared === "drop" ? ` ${these} dropped.` : event.prepared === "deliver" ? ` ${these} still delivered.` : "";
      return `:x: ${mention(event.by)} cancelled it: ${safeMrkdwn(event.reason, 2500)}.${prepared}`;
    }
    case "content-changed": {
      const changes = event.changes ?? event.changed.map((field) => ({ field }));
      const withdrawn =
        event.approvalsWithdrawn === 0
          ? ""
          : event.approvalsWithdrawn === 1
            ? " The approval given before no longer counts: it needs approving again."
            : ` The ${event.approvalsWithdrawn} approvals given before no longer count: it needs approving again.`;
      return `:pencil2: ${mention(event.by)} changed ${list(changes.map(describeChange))}.${withdrawn}`;
    }
    case "started":
      return `:outbox_tray: Delivery started to ${plural(event.progress.total, "recipient")}.`;
    case "paused":
      return `:double_vertical_bar: ${mention(event.by)} paused delivery${event.reason ? `: ${safeMrkdwn(event.reason, 2500)}` : "."}`;
    case "resumed":
      return `:arrow_forward: ${mention(event.by)} resumed delivery.`;
    case "auto-paused":
      return `:warning: Delivery paused itself: ${safeMrkdwn(event.reason, 2500)}`;
    case "late-launch":
      return `:alarm_clock: The launch date (${slackDate(event.launchAt)}) passed while sendgate was not running. It waits, paused: resume to deliver now, or cancel.`;
    case "reminder":
      return null; // the notifier writes reminders itself: they mention the approvers
    case "completed":
      return `:checkered_flag: Delivery finished: ${formatCount(event.progress.sent)} delivered, ${formatCount(event.progress.failed)} failed.`;
  }
}
