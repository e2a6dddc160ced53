import type { SendingEvent } from "../../sendings/support/ports.js";
import { formatCount, mention, safeMrkdwn, slackDate } from "../format.js";

/** The line each change writes in the sending's thread, so the thread is its history. */
export function describeEvent(event: SendingEvent): string | null {
  switch (event.kind) {
    case "created":
      return null;
    case "approved":
      return event.scheduled
        ? `:white_check_mark: ${mention(event.by)} approved (${event.approvals} of ${event.required}). Scheduled.`
        : `:ballot_box_with_check: ${mention(event.by)} approved (${event.approvals} of ${event.required}). Waiting for ${event.required - event.approvals} more.`;
    case "rejected":
      return `:no_entry: ${mention(event.by)} rejected it: ${safeMrkdwn(event.reason, 2500)}`;
    case "rescheduled":
      return `:calendar: ${mention(event.by)} moved the launch from ${slackDate(event.from)} to ${slackDate(event.to)}.`;
    case "cancelled": {
      const prepared =
        event.prepared === "drop"
          ? ` The ${formatCount(event.preparedCount)} prepared messages were dropped.`
          : event.prepared === "deliver"
            ? ` The ${formatCount(event.preparedCount)} prepared messages are still delivered.`
            : "";
      return `:x: ${mention(event.by)} cancelled it: ${safeMrkdwn(event.reason, 2500)}.${prepared}`;
    }
    case "content-changed": {
      const withdrawn = event.approvalsWithdrawn > 0 ? ` ${event.approvalsWithdrawn} approval(s) withdrawn; it needs approving again.` : "";
      return `:pencil2: ${mention(event.by)} changed ${safeMrkdwn(event.changed.join(", "), 500)}.${withdrawn}`;
    }
    case "started":
      return `:outbox_tray: Delivery started to ${formatCount(event.progress.total)} recipients.`;
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
      return `:checkered_flag: Delivery finished: ${formatCount(event.progress.sent)} sent, ${formatCount(event.progress.failed)} failed.`;
  }
}
