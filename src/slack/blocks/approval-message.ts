import type { types } from "@slack/bolt";
import type { SendingStatus } from "../../domain/sending-status.js";
import type { Analysis, Check } from "../../mail/analysis/index.js";
import type { RecipientOutcomes, SendingView } from "../../sendings/support/sending-view.js";
import { Limits, escapeMrkdwn, formatAddress, formatCount, mention, mrkdwn, plain, plural, safeMrkdwn, slackDate, truncate } from "../format.js";
import { ActionId, BlockId } from "../ids.js";
import { progressBar } from "./progress-bar.js";

type KnownBlock = types.KnownBlock;
type Button = types.Button;
type Overflow = types.Overflow;

export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
}

/** The live figures of a delivery, when the notifier has fresher ones than the database's counts. */
export interface CardProgress {
  outcomes: RecipientOutcomes;
}

/** The state a card leads with: an emoji and a word, so a card that needs someone stands out from a finished one. */
export function stateOf(view: SendingView): { emoji: string; word: string } {
  const states: Record<SendingStatus, { emoji: string; word: string }> = {
    PENDING_APPROVAL: isBlocked(view) ? { emoji: ":no_entry:", word: "Blocked" } : { emoji: ":hourglass_flowing_sand:", word: "Needs approval" },
    SCHEDULED: { emoji: ":white_check_mark:", word: "Approved" },
    SENDING: { emoji: ":outbox_tray:", word: "Sending" },
    PAUSED: isSelfPaused(view) ? { emoji: ":warning:", word: "Paused by sendgate" } : { emoji: ":double_vertical_bar:", word: "Paused" },
    COMPLETED:
      view.outcomes.failed > 0 ? { emoji: ":warning:", word: "Delivered with failures" } : { emoji: ":checkered_flag:", word: "Delivered" },
    REJECTED: { emoji: ":no_entry_sign:", word: "Rejected" },
    CANCELLED: { emoji: ":x:", word: "Cancelled" },
  };
  return states[view.status];
}

const isBlocked = (view: SendingView) => view.status === "PENDING_APPROVAL" && blockingChecks(view.analysis).length > 0;
const isSelfPaused = (view: SendingView) => view.status === "PAUSED" && view.lastEvent?.actor === "system";
const blockingChecks = (analysis: Analysis | null): Check[] => analysis?.checks.filter((check) => check.severity === "error") ?? [];
const warningChecks = (analysis: Analysis | null): Check[] => analysis?.checks.filter((check) => check.severity === "warning") ?? [];
const when = (date: Date) => slackDate(date, "{date_short_pretty} at {time}");

/** The interactive message an approvals channel gets for each sending, rebuilt after every change. */
export function buildApprovalMessage(view: SendingView, progress?: CardProgress): SlackMessage {
  const { emoji, word } = stateOf(view);
  const outcomes = progress?.outcomes ?? view.outcomes;
  const blocks: KnownBlock[] = [
    { type: "header", text: plain(`${emoji} ${word}: ${view.name}`, Limits.headerText) },
    { type: "section", text: mrkdwn(statusLine(view)) },
  ];
  const blocking = blockingChecks(view.analysis);
  if (view.status === "PENDING_APPROVAL" && blocking.length > 0) {
    const lines = blocking.map((check) => `• *${safeMrkdwn(check.title, 150)}*: ${safeMrkdwn(check.evidence, 400)}`);
    blocks.push({ type: "section", text: mrkdwn(`:no_entry: *Approval is blocked until ${blocking.length === 1 ? "this is" : "these are"} fixed:*\n${lines.join("\n")}`) });
  }
  blocks.push({ type: "section", fields: detailFields(view) });
  const figures = outcomeLine(view, outcomes);
  if (figures) blocks.push({ type: "section", text: mrkdwn(figures) });
  const context = analysisContext(view);
  if (context) blocks.push({ type: "context", elements: [mrkdwn(context)] });
  const actions = actionsFor(view);
  if (actions.length > 0) blocks.push({ type: "actions", block_id: BlockId.actions, elements: actions });
  blocks.push({ type: "context", elements: [mrkdwn(`Requested by ${mention(view.requestedBy)} · ${view.id}`)] });
  return {
    text: `${word}: ${escapeMrkdwn(view.name)} (${plural(view.recipientCount, "recipient")})`,
    blocks,
  };
}

function detailFields(view: SendingView) {
  const subject = view.exampleSubject
    ? `*Subject*\n${safeMrkdwn(view.subject, 500)}\n_${safeMrkdwn(view.exampleSubject, 300)}_ (as the first recipient sees it)`
    : `*Subject*\n${safeMrkdwn(view.subject, 500)}`;
  return [
    mrkdwn(subject),
    mrkdwn(`*From*\n${safeMrkdwn(formatAddress(view.fromName, view.fromEmail), 500)}`),
    mrkdwn(`*Launch*\n${slackDate(view.launchAt)}`),
    mrkdwn(`*Recipients*\n${formatCount(view.recipientCount)}`),
  ];
}

/** Who did what and when, in one line: what the state word means for this sending. */
export function statusLine(view: SendingView): string {
  const approvers = view.approvals.map((a) => mention(a.userId)).join(", ");
  const last = view.lastEvent;
  switch (view.status) {
    case "PENDING_APPROVAL": {
      const got = view.approvals.length;
      const so = got > 0 ? ` · approved so far by ${approvers}` : "";
      return `*${got} of ${plural(view.requiredApprovals, "approval")}*${so} · launches ${when(view.launchAt)}`;
    }
    case "SCHEDULED":
      return `*Approved by ${approvers || "the approvers"}* · launches ${when(view.launchAt)}`;
    case "REJECTED":
      return view.rejection
        ? `*Rejected by ${mention(view.rejection.userId)}* ${when(view.rejection.at)}: ${safeMrkdwn(view.rejection.reason, 1500)}`
        : "*Rejected.*";
    case "CANCELLED":
      return last
        ? `*Cancelled by ${mention(last.actor)}* ${when(last.at)}${last.reason ? `: ${safeMrkdwn(last.reason, 1500)}` : "."}`
        : "*Cancelled.*";
    case "SENDING":
      return `*Delivering* since ${when(view.startedAt ?? view.launchAt)}; details in the thread.`;
    case "PAUSED":
      if (isSelfPaused(view)) {
        const cause = safeMrkdwn(view.statusNote ?? "too many messages failed", 1000);
        return `*sendgate paused it* ${last ? when(last.at) : ""}: ${cause}. Resume once the cause is fixed, or cancel.`;
      }
      return last
        ? `*Paused by ${mention(last.actor)}* ${when(last.at)}${last.reason ? `: ${safeMrkdwn(last.reason, 1500)}` : "."} Nothing more goes out until it is resumed.`
        : "*Paused.* Nothing more goes out until it is resumed.";
    case "COMPLETED":
      return `*Finished* ${when(view.finishedAt ?? last?.at ?? view.launchAt)}; the delivery report is in the thread.`;
  }
}

/**
 * Where the recipients stand, in numbers that add up to the recipient count. While delivering, one
 * line with a bar of what was delivered; once finished, the outcome and the main failure reasons.
 */
function outcomeLine(view: SendingView, o: RecipientOutcomes): string | null {
  const total = view.recipientCount;
  const waiting = o.queued + o.prepared;
  const started = o.sent + o.failed > 0;
  if (view.status === "SENDING" || view.status === "PAUSED") {
    const parts = [`${formatCount(o.sent)} delivered`, `${formatCount(o.failed)} failed`, `${formatCount(waiting)} waiting`];
    if (o.cancelled > 0) parts.push(`${formatCount(o.cancelled)} cancelled`);
    return `${progressBar(o.sent, total)} ${percent(o.sent, total)} · ${parts.join(" · ")}`;
  }
  if (view.status === "COMPLETED" || (view.status === "CANCELLED" && started)) {
    const parts = [`*${formatCount(o.sent)}* delivered`, `*${formatCount(o.failed)}* failed`];
    if (o.cancelled > 0 || view.status === "CANCELLED") parts.push(`*${formatCount(o.cancelled)}* cancelled`);
    if (waiting > 0) parts.push(`*${formatCount(waiting)}* still going out`);
    const reasons = view.failureReasons.length
      ? `\nMain failure reasons: ${view.failureReasons.map((r) => `${safeMrkdwn(r.reason, 200)} (${formatCount(r.count)})`).join("; ")}`
      : "";
    return `*Outcome* of ${plural(total, "recipient")}: ${parts.join(" · ")}${reasons}`;
  }
  return null;
}

/** A share of what was delivered, rounded down: 100% only when every recipient got it. */
export function percent(done: number, total: number): string {
  if (total <= 0) return "0%";
  return `${Math.floor((done / total) * 100)}%`;
}

/** The analysis, while it matters (before delivery): the warnings by name, or that all is well. */
function analysisContext(view: SendingView): string | null {
  if (view.status !== "PENDING_APPROVAL" && view.status !== "SCHEDULED") return null;
  if (!view.analysis) return ":mag: Analysis in progress…";
  if (blockingChecks(view.analysis).length > 0) return null; // named in full above
  const warnings = warningChecks(view.analysis);
  if (warnings.length === 0) return `:white_check_mark: Analysis found no problems (${plural(view.analysis.counts.passed, "check")}).`;
  return `:warning: ${plural(warnings.length, "warning")}: ${warnings.map((check) => safeMrkdwn(check.title, 150)).join(" · ")}`;
}

/** "12 checks passed, 2 warnings, 0 errors", or that the analysis is still being made. */
export function analysisSummary(analysis: Analysis | null): string {
  if (!analysis) return ":mag: Analysis in progress…";
  const { passed, warnings, errors } = analysis.counts;
  const icon = errors > 0 ? ":no_entry:" : warnings > 0 ? ":warning:" : ":white_check_mark:";
  const blocking = errors > 0 ? " Approval is blocked until the errors are fixed." : "";
  return `${icon} Analysis: ${plural(passed, "check")} passed, ${plural(warnings, "warning")}, ${plural(errors, "error")}.${blocking}`;
}

/** What approving acknowledges: every warning, by name, in the confirmation. */
function approveConfirmText(view: SendingView): string {
  const base =
    `*${safeMrkdwn(view.name, 80)}* goes to ${plural(view.recipientCount, "recipient")} ${slackDate(view.launchAt)}` +
    (view.approvals.length + 1 < view.requiredApprovals ? " once enough approvers agree." : ".");
  const warnings = warningChecks(view.analysis);
  if (warnings.length === 0) return base;
  const list = warnings.map((check) => `• ${safeMrkdwn(check.title, 150)}`).join("\n");
  return `${base}\n\nBy approving you acknowledge ${plural(warnings.length, "warning")}:\n${list}`;
}

function button(text: string, actionId: string, value: string, style?: "primary" | "danger"): Button {
  return { type: "button", text: plain(text, Limits.buttonText), action_id: actionId, value, ...(style ? { style } : {}) };
}

/** Less frequent actions sit in the card's "more" menu; each option says what it does. */
export function moreMenu(id: string, items: { text: string; actionId: string }[]): Overflow {
  return {
    type: "overflow",
    action_id: ActionId.more,
    options: items.map((item) => ({ text: plain(item.text, Limits.optionText), value: JSON.stringify({ id, do: item.actionId }) })),
  };
}

/** One primary action for the state the sending is in; the rest plain, and the rarest in the menu. */
function actionsFor(view: SendingView): (Button | Overflow)[] {
  const id = view.id;
  const changeDate = { text: "Change the launch date", actionId: ActionId.reschedule };
  const cancel = { text: "Cancel the sending (nothing more goes out)", actionId: ActionId.cancel };
  switch (view.status) {
    case "PENDING_APPROVAL":
      if (isBlocked(view)) {
        return [
          button("See what blocks it", ActionId.analysis, id, "primary"),
          button("Preview", ActionId.preview, id),
          button("Reject", ActionId.reject, id),
          moreMenu(id, [changeDate, cancel]),
        ];
      }
      return [
        {
          ...button("Approve", ActionId.approve, JSON.stringify({ id, hash: view.contentHash }), "primary"),
          confirm: {
            title: plain("Approve this sending?", Limits.modalTitle),
            text: mrkdwn(truncate(approveConfirmText(view), Limits.confirmText)),
            confirm: plain("Approve"),
            deny: plain("Not yet"),
          },
        },
        button("Preview", ActionId.preview, id),
        button("Reject", ActionId.reject, id),
        moreMenu(id, [{ text: "Open the analysis", actionId: ActionId.analysis }, changeDate, cancel]),
      ];
    case "SCHEDULED":
      return [button("Preview", ActionId.preview, id), moreMenu(id, [{ text: "Open the analysis", actionId: ActionId.analysis }, changeDate, cancel])];
    case "SENDING":
      return [button("Pause", ActionId.pause, id, "primary"), button("Preview", ActionId.preview, id), button("Cancel sending", ActionId.cancel, id)];
    case "PAUSED":
      return [button("Resume", ActionId.resume, id, "primary"), button("Preview", ActionId.preview, id), button("Cancel sending", ActionId.cancel, id)];
    default:
      return [];
  }
}
