import type { types } from "@slack/bolt";
import type { AwaitingApproval, HomeOverview } from "../../sendings/home-overview.js";
import type { SendingListItem, SendingListPage } from "../../sendings/list-sendings.js";
import { Limits, formatCount, mention, mrkdwn, plain, plural, safeMrkdwn, slackDate, truncate } from "../format.js";
import { ActionId, SLASH_COMMAND } from "../ids.js";
import { percent } from "./approval-message.js";
import { progressBar } from "./progress-bar.js";
import { deliveryControls } from "./sending-lists.js";

type KnownBlock = types.KnownBlock;

/**
 * Slack refuses a Home tab of more than 100 blocks. Each part lists at most HOME_LIST_SIZE (10)
 * sendings and counts the rest: a header, 10 items and an "and N more" line for the approvals and
 * the scheduled, 2 blocks an item for those in progress (their controls), 5 recent outcomes; with
 * the greeting and the dividers that is 57 blocks at most, whatever the number of sendings.
 */
export const HOME_TAB_BLOCKS = 100;

/** Who is looking, and when: the Home tab is built for one person. */
export interface HomeViewer {
  userId: string;
  now: Date;
}

const NAME_CHARS = 200;
const REQUESTER_CHARS = 80;

/** A Slack user is mentioned; anything else a requester may be (an API caller's name) is cut short first. */
const requester = (id: string) => mention(truncate(id, REQUESTER_CHARS));

/**
 * One person's Home tab: what waits for their approval (oldest first), what is scheduled (launch
 * order), what is delivering (with its figures and controls) and the latest outcomes. `cardLinks`
 * holds the permalinks of approval messages, by sending id, where they are known.
 */
export function buildHomeTab(overview: HomeOverview, viewer: HomeViewer, cardLinks: ReadonlyMap<string, string> = new Map()): types.HomeView {
  const blocks: KnownBlock[] = [
    { type: "section", text: mrkdwn(`Hi ${mention(viewer.userId)}. What needs you, and what goes out.`) },
    ...approvalPart(overview, viewer, cardLinks),
    { type: "divider" },
    ...scheduledPart(overview.scheduled),
    { type: "divider" },
    ...inProgressPart(overview, viewer),
    { type: "divider" },
    ...recentPart(overview.recent),
  ];
  return { type: "home", blocks };
}

const header = (text: string): KnownBlock => ({ type: "header", text: plain(text, Limits.headerText) });
const note = (text: string): KnownBlock => ({ type: "context", elements: [mrkdwn(text)] });

/** "and 4 more: `/sendings pending`", when a part shows fewer than it counts. */
function moreLine(shown: number, total: number, list: string): KnownBlock[] {
  return total > shown ? [note(`…and ${formatCount(total - shown)} more: \`${SLASH_COMMAND} ${list}\``)] : [];
}

function approvalPart(overview: HomeOverview, viewer: HomeViewer, cardLinks: ReadonlyMap<string, string>): KnownBlock[] {
  const queue = overview.approvals;
  if (!queue) {
    const waiting =
      overview.pendingTotal > 0
        ? ` ${plural(overview.pendingTotal, "sending waits", "sendings wait")} for the approvers.`
        : "";
    return [
      header("Approvals"),
      {
        type: "section",
        text: mrkdwn(
          `You are not one of sendgate's approvers, so nothing waits for your approval here.${waiting} ` +
            "Approvers are named in sendgate's settings (`APPROVERS`); ask whoever runs sendgate if you should be one.",
        ),
      },
    ];
  }
  if (queue.items.length === 0) {
    const why: string[] = [];
    if (queue.requestedByViewer > 0) {
      why.push(`${plural(queue.requestedByViewer, "sending")} you requested ${queue.requestedByViewer === 1 ? "waits" : "wait"} for another approver (four-eyes rule).`);
    }
    if (queue.approvedByViewer > 0) {
      why.push(`${plural(queue.approvedByViewer, "sending")} you approved ${queue.approvedByViewer === 1 ? "waits" : "wait"} for more approvals.`);
    }
    if (overview.pendingTotal === 0) why.push("No sending is pending approval.");
    return [header("Waiting for your approval"), { type: "section", text: mrkdwn(`:white_check_mark: Nothing waits for your approval. ${why.join(" ")}`.trim()) }];
  }
  return [
    header(`Waiting for your approval (${formatCount(queue.total)})`),
    ...queue.items.map((item) => awaitingBlock(item, viewer, cardLinks.get(item.id))),
    ...moreLine(queue.items.length, queue.total, "pending"),
  ];
}

function awaitingBlock(item: AwaitingApproval, viewer: HomeViewer, cardLink: string | undefined): KnownBlock {
  const name = safeMrkdwn(item.name, NAME_CHARS);
  const title = cardLink ? `*<${cardLink}|${name}>*` : `*${name}*`;
  const launch =
    item.launchAt.getTime() <= viewer.now.getTime()
      ? `:warning: its launch date passed (${slackDate(item.launchAt)}); approving asks for a new one`
      : `launches ${slackDate(item.launchAt)}`;
  const figures = [`${item.approvals} of ${plural(item.requiredApprovals, "approval")}`, plural(item.recipientCount, "recipient")];
  if (item.blockingErrors > 0) figures.push(`:no_entry: blocked by ${plural(item.blockingErrors, "analysis error")}`);
  return {
    type: "section",
    text: mrkdwn(`${title}\nRequested by ${requester(item.requestedBy)} · ${waitingFor(viewer.now.getTime() - item.waitingSince.getTime())} · ${launch}\n${figures.join(" · ")}`),
    accessory: { type: "button", text: plain("Preview", Limits.buttonText), action_id: ActionId.preview, value: item.id },
  };
}

/** "waiting 3 h": how long a sending has waited, in the largest unit that reads naturally. */
export function waitingFor(ms: number): string {
  const minutes = Math.floor(Math.max(0, ms) / 60_000);
  if (minutes < 1) return "waiting less than a minute";
  if (minutes < 60) return `waiting ${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `waiting ${hours} h`;
  return `waiting ${plural(Math.floor(hours / 24), "day")}`;
}

function scheduledPart(page: SendingListPage): KnownBlock[] {
  if (page.items.length === 0) return [header("Scheduled"), { type: "section", text: mrkdwn("Nothing is scheduled.") }];
  return [
    header(`Scheduled (${formatCount(page.total)})`),
    ...page.items.map(
      (item): KnownBlock => ({
        type: "section",
        text: mrkdwn(
          `*${safeMrkdwn(item.name, NAME_CHARS)}*\nLaunches ${slackDate(item.launchAt)} · ${plural(item.recipientCount, "recipient")} · requested by ${requester(item.requestedBy)}`,
        ),
      }),
    ),
    ...moreLine(page.items.length, page.total, "scheduled"),
  ];
}

function inProgressPart(overview: HomeOverview, viewer: HomeViewer): KnownBlock[] {
  const page = overview.inProgress;
  if (page.items.length === 0) return [header("In progress"), { type: "section", text: mrkdwn("Nothing is being delivered.") }];
  // Approvers and a sending's requester may pause, resume and cancel it: the others are not offered buttons that refuse them.
  const mayControl = (item: SendingListItem) => overview.isApprover || item.requestedBy === viewer.userId;
  return [
    header(`In progress (${formatCount(page.total)})`),
    ...page.items.flatMap((item): KnownBlock[] => {
      const state = item.status === "PAUSED" ? ":double_vertical_bar: Paused" : ":outbox_tray: Sending";
      const section: KnownBlock = {
        type: "section",
        text: mrkdwn(
          `*${safeMrkdwn(item.name, NAME_CHARS)}* · ${state}\n${progressBar(item.sent, item.recipientCount)} ${percent(item.sent, item.recipientCount)} · ` +
            `${formatCount(item.sent)} delivered, ${formatCount(item.failed)} failed of ${formatCount(item.recipientCount)}`,
        ),
      };
      return mayControl(item) ? [section, { type: "actions", elements: deliveryControls(item) }] : [section];
    }),
    ...moreLine(page.items.length, page.total, "in-progress"),
  ];
}

/** The outcome of a finished sending, in the words of its card: delivered (with failures), rejected, cancelled. */
function outcomeOf(item: SendingListItem): string {
  // The time its card gives: when it finished (a rejection finishes nothing: its last change).
  const when = slackDate(item.finishedAt ?? item.updatedAt);
  switch (item.status) {
    case "COMPLETED":
      return item.failed > 0
        ? `:warning: Delivered with failures ${when}: ${formatCount(item.sent)} delivered, ${formatCount(item.failed)} failed`
        : `:checkered_flag: Delivered ${when} to ${plural(item.sent, "recipient")}`;
    case "REJECTED":
      return `:no_entry_sign: Rejected ${when}`;
    case "CANCELLED":
      return item.sent + item.failed > 0
        ? `:x: Cancelled ${when}, after ${formatCount(item.sent)} delivered and ${formatCount(item.failed)} failed`
        : `:x: Cancelled ${when}, before any was delivered`;
    default:
      return when;
  }
}

function recentPart(page: SendingListPage): KnownBlock[] {
  if (page.items.length === 0) return [header("Recent outcomes"), { type: "section", text: mrkdwn("Nothing has finished yet.") }];
  return [
    header("Recent outcomes"),
    ...page.items.map((item): KnownBlock => ({ type: "section", text: mrkdwn(`*${safeMrkdwn(item.name, NAME_CHARS)}*\n${outcomeOf(item)}`) })),
    ...(page.total > page.items.length ? [note(`Older outcomes: \`${SLASH_COMMAND} recent\``)] : []),
  ];
}
