import type { types } from "@slack/bolt";
import { statusLabel, type SendingStatus } from "../../domain/sending-status.js";
import type { Analysis } from "../../mail/analysis/index.js";
import type { SendingView } from "../../sendings/support/sending-view.js";
import { Limits, escapeMrkdwn, truncate, formatAddress, formatCount, mention, mrkdwn, plain, safeMrkdwn, slackDate } from "../format.js";
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
  blocks.push({ type: "context", elements: [mrkdwn(analysisSummary(view.analysis))] });
  if (view.statusNote) blocks.push({ type: "context", elements: [mrkdwn(`:information_source: ${safeMrkdwn(view.statusNote, 1000)}`)] });
  const buttons = buttonsFor(view);
  if (buttons.length > 0) blocks.push({ type: "actions", block_id: BlockId.actions, elements: buttons });
  blocks.push({ type: "context", elements: [mrkdwn(`\`${view.id}\``)] });
  return {
    text: `${statusLabel[view.status]}: ${escapeMrkdwn(view.name)} (${formatCount(view.recipientCount)} recipients)`,
    blocks,
  };
}

/** "12 checks passed, 2 warnings, 0 errors", or that the analysis is still being made. */
export function analysisSummary(analysis: Analysis | null): string {
  if (!analysis) return ":mag: Analysis in progress…";
  const { passed, warnings, errors } = analysis.counts;
  const icon = errors > 0 ? ":no_entry:" : warnings > 0 ? ":warning:" : ":white_check_mark:";
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  const blocking = errors > 0 ? " Approval is blocked until the errors are fixed." : "";
  return `${icon} Analysis: ${plural(passed, "check")} passed, ${plural(warnings, "warning")}, ${plural(errors, "error")}.${blocking}`;
}

/** What approving acknowledges: every warning, by name, in the confirmation. */
function approveConfirmText(view: SendingView): string {
  const base =
    `*${safeMrkdwn(view.name, 80)}* goes to ${formatCount(view.recipientCount)} recipients ${slackDate(view.launchAt)}` +
    (view.approvals.length + 1 < view.requiredApprovals ? " once enough approvers agree." : ".");
  const warnings = view.analysis?.checks.filter((check) => check.severity === "warning") ?? [];
  if (warnings.length === 0) return base;
  const list = warnings.map((check) => `• ${safeMrkdwn(check.title, 150)}`).join("\n");
  return `${base}\n\nBy approving you acknowledge ${warnings.length} warning${warnings.length === 1 ? "" : "s"}:\n${list}`;
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
          // With errors there is nothing to confirm: the click is answered with what blocks approval.
          ...((view.analysis?.counts.errors ?? 0) > 0
            ? {}
            : {
                confirm: {
                  title: plain("Approve this sending?", Limits.modalTitle),
                  text: mrkdwn(truncate(approveConfirmText(view), Limits.confirmText)),
                  confirm: plain("Approve"),
                  deny: plain("Not yet"),
                },
              }),
        },
        button("Reject", ActionId.reject, id, "danger"),
        button("Preview", ActionId.preview, id),
        button("Analysis", ActionId.analysis, id),
        button("Reschedule", ActionId.reschedule, id),
        button("Cancel sending", ActionId.cancel, id),
      ];
    case "SCHEDULED":
      return [
        button("Preview", ActionId.preview, id),
        button("Analysis", ActionId.analysis, id),
        button("Reschedule", ActionId.reschedule, id),
        button("Cancel sending", ActionId.cancel, id),
      ];
    case "SENDING":
    case "PAUSED":
      return [button("Preview", ActionId.preview, id)];
    default:
      return [];
  }
}
