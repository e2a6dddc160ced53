import type { types } from "@slack/bolt";
import { statusLabel, type SendingStatus } from "../../domain/sending-status.js";
import type { SendingView } from "../../sendings/sending-view.js";
import { Limits, escapeMrkdwn, formatAddress, formatCount, mention, mrkdwn, plain, safeMrkdwn, slackDate } from "../format.js";
import { ActionId, BlockId } from "../ids.js";

type KnownBlock = types.KnownBlock;
type Button = types.Button;

export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
}

const statusEmoji: Record<SendingStatus, string> = {
  PENDING_APPROVAL: ":hourglass_flowing_sand:",
  SCHEDULED: ":calendar:",
  SENDING: ":outbox_tray:",
  PAUSED: ":double_vertical_bar:",
  COMPLETED: ":white_check_mark:",
  REJECTED: ":no_entry:",
  CANCELLED: ":x:",
};

/** The interactive message an approvals channel gets for each sending, rebuilt after every change. */
export function buildApprovalMessage(view: SendingView): SlackMessage {
  const blocks: KnownBlock[] = [
    { type: "header", text: plain(view.name, Limits.headerText) },
    {
      type: "section",
      fields: [
        mrkdwn(`*Subject*\n${safeMrkdwn(view.subject, 500)}`),
        mrkdwn(`*From*\n${safeMrkdwn(formatAddress(view.fromName, view.fromEmail), 500)}`),
        mrkdwn(`*Requested by*\n${mention(view.requestedBy)}`),
        mrkdwn(`*Launch*\n${slackDate(view.launchAt)}`),
        mrkdwn(`*Recipients*\n${formatCount(view.recipientCount)}`),
        mrkdwn(`*Status*\n${statusEmoji[view.status]} ${statusLabel[view.status]}`),
      ],
    },
    { type: "context", elements: [mrkdwn(statusLine(view))] },
  ];
  if (view.statusNote) blocks.push({ type: "context", elements: [mrkdwn(`:information_source: ${safeMrkdwn(view.statusNote, 1000)}`)] });
  const buttons = buttonsFor(view);
  if (buttons.length > 0) blocks.push({ type: "actions", block_id: BlockId.actions, elements: buttons });
  blocks.push({ type: "context", elements: [mrkdwn(`\`${view.id}\``)] });
  return {
    text: `${statusLabel[view.status]}: ${escapeMrkdwn(view.name)} (${formatCount(view.recipientCount)} recipients)`,
    blocks,
  };
}

/** Who did what and when, in one line. */
export function statusLine(view: SendingView): string {
  const approvers = view.approvals.map((a) => mention(a.userId)).join(", ");
  const last = view.lastEvent;
  const when = (date: Date) => slackDate(date, "{date_short_pretty} at {time}");
  switch (view.status) {
    case "PENDING_APPROVAL": {
      const missing = view.requiredApprovals - view.approvals.length;
      const base = `Waiting for ${missing} approval${missing === 1 ? "" : "s"}`;
      return view.approvals.length > 0 ? `${base} (approved so far by ${approvers})` : `${base}.`;
    }
    case "SCHEDULED":
      return `Approved by ${approvers || "the approvers"}; it goes out ${when(view.launchAt)}.`;
    case "REJECTED":
      return view.rejection
        ? `Rejected by ${mention(view.rejection.userId)} ${when(view.rejection.at)}: ${safeMrkdwn(view.rejection.reason, 1500)}`
        : "Rejected.";
    case "CANCELLED":
      return last
        ? `Cancelled by ${mention(last.actor)} ${when(last.at)}${last.reason ? `: ${safeMrkdwn(last.reason, 1500)}` : "."}`
        : "Cancelled.";
    case "SENDING":
      return `Delivering since ${last ? when(last.at) : "launch"}; progress is in the thread.`;
    case "PAUSED":
      return last ? `Paused by ${mention(last.actor)} ${when(last.at)}.` : "Paused.";
    case "COMPLETED":
      return `Delivered; the summary is in the thread.`;
  }
}

function button(text: string, actionId: string, value: string, style?: "primary" | "danger"): Button {
  return { type: "button", text: plain(text, Limits.buttonText), action_id: actionId, value, ...(style ? { style } : {}) };
}

function buttonsFor(view: SendingView): Button[] {
  const id = view.id;
  switch (view.status) {
    case "PENDING_APPROVAL":
      return [
        {
          ...button("Approve", ActionId.approve, JSON.stringify({ id, hash: view.contentHash }), "primary"),
          confirm: {
            title: plain("Approve this sending?", Limits.modalTitle),
            text: mrkdwn(
              `*${safeMrkdwn(view.name, 500)}* goes to ${formatCount(view.recipientCount)} recipients ${slackDate(view.launchAt)}` +
                (view.approvals.length + 1 < view.requiredApprovals ? " once enough approvers agree." : "."),
            ),
            confirm: plain("Approve"),
            deny: plain("Not yet"),
          },
        },
        button("Reject", ActionId.reject, id, "danger"),
        button("Preview", ActionId.preview, id),
        button("Reschedule", ActionId.reschedule, id),
        button("Cancel sending", ActionId.cancel, id),
      ];
    case "SCHEDULED":
      return [button("Preview", ActionId.preview, id), button("Reschedule", ActionId.reschedule, id), button("Cancel sending", ActionId.cancel, id)];
    case "SENDING":
    case "PAUSED":
      return [button("Preview", ActionId.preview, id)];
    default:
      return [];
  }
}
