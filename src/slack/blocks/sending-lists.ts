import type { types } from "@slack/bolt";
import { statusLabel } from "../../domain/sending-status.js";
import type { SendingListPage, SendingListName } from "../../sendings/list-sendings.js";
import type { SendingView } from "../../sendings/support/sending-view.js";
import { Limits, escapeMrkdwn, formatAddress, formatCount, mention, mrkdwn, plain, plural, safeMrkdwn, slackDate } from "../format.js";
import { ActionId, SLASH_COMMAND } from "../ids.js";
import { percent, stateOf, statusLine, type SlackMessage } from "./approval-message.js";
import { progressBar } from "./progress-bar.js";

type KnownBlock = types.KnownBlock;

const titles: Record<SendingListName, string> = {
  pending: "Pending approval",
  scheduled: "Scheduled",
  "in-progress": "In progress",
  recent: "Recently finished",
};

/** The seed's "Sendings in progress" icons: pause or resume, and cancel (the /sendings list and the Home tab). */
export function deliveryControls(item: { id: string; status: string }): types.Button[] {
  const button = (text: string, actionId: string, style?: "primary" | "danger"): types.Button => ({
    type: "button",
    text: plain(text, Limits.buttonText),
    action_id: actionId,
    value: item.id,
    ...(style ? { style } : {}),
  });
  return [
    item.status === "PAUSED" ? button("Resume", ActionId.resume, "primary") : button("Pause", ActionId.pause, "primary"),
    button("Cancel sending", ActionId.cancel),
  ];
}

/** One page of a list; 10 items (two blocks each at most) keep it under the 50-block limit. */
export function buildSendingList(page: SendingListPage): SlackMessage {
  const blocks: KnownBlock[] = [{ type: "header", text: plain(`${titles[page.list]} (${formatCount(page.total)})`, Limits.headerText) }];
  if (page.items.length === 0) {
    blocks.push({ type: "section", text: mrkdwn("Nothing here right now.") });
  }
  for (const item of page.items) {
    const line =
      page.list === "in-progress"
        ? `${progressBar(item.sent, item.recipientCount)} ${percent(item.sent, item.recipientCount)} · ${formatCount(item.sent)} delivered, ${formatCount(item.failed)} failed of ${formatCount(item.recipientCount)} · ${statusLabel[item.status]}`
        : `${statusLabel[item.status]} · ${plural(item.recipientCount, "recipient")} · launch ${slackDate(item.launchAt)} · by ${mention(item.requestedBy)}`;
    blocks.push({
      type: "section",
      text: mrkdwn(`*${safeMrkdwn(item.name, 300)}* · ${item.id}\n${line}`),
    });
    if (page.list === "in-progress") blocks.push({ type: "actions", elements: deliveryControls(item) });
  }
  const pages = Math.max(1, Math.ceil(page.total / page.pageSize));
  if (pages > 1) {
    const nav: types.Button[] = [];
    const value = (p: number) => JSON.stringify({ list: page.list, page: p });
    if (page.page > 1) nav.push({ type: "button", text: plain("◀ Previous"), action_id: `${ActionId.listPage}.prev`, value: value(page.page - 1) });
    if (page.page < pages) nav.push({ type: "button", text: plain("Next ▶"), action_id: `${ActionId.listPage}.next`, value: value(page.page + 1) });
    blocks.push({ type: "context", elements: [mrkdwn(`Page ${page.page} of ${pages}`)] });
    blocks.push({ type: "actions", elements: nav });
  }
  return { text: `${titles[page.list]}: ${page.total}`, blocks };
}

export function buildSendingDetails(view: SendingView): SlackMessage {
  const { emoji, word } = stateOf(view);
  return {
    text: `${word}: ${escapeMrkdwn(view.name)}`,
    blocks: [
      { type: "header", text: plain(`${emoji} ${word}: ${view.name}`, Limits.headerText) },
      {
        type: "section",
        fields: [
          mrkdwn(`*Launch*\n${slackDate(view.launchAt)}`),
          mrkdwn(`*Subject*\n${safeMrkdwn(view.subject, 500)}`),
          mrkdwn(`*From*\n${safeMrkdwn(formatAddress(view.fromName, view.fromEmail), 500)}`),
          mrkdwn(`*Recipients*\n${formatCount(view.recipientCount)}`),
          mrkdwn(`*Requested by*\n${mention(view.requestedBy)}`),
        ],
      },
      { type: "section", text: mrkdwn(statusLine(view)) },
      { type: "context", elements: [mrkdwn(view.id)] },
    ],
  };
}

export function buildHelp(problem?: string): SlackMessage {
  const c = SLASH_COMMAND;
  const lines = [
    `\`${c} pending\`: sendings waiting for approval`,
    `\`${c} scheduled\`: approved, waiting for their launch date`,
    `\`${c} in-progress\`: delivering or paused, with progress`,
    `\`${c} recent\`: completed, rejected and cancelled`,
    `\`${c} show <id>\`: one sending in detail`,
    `\`${c} help\`: this list`,
  ];
  const blocks: KnownBlock[] = [];
  if (problem) blocks.push({ type: "section", text: mrkdwn(`:grey_question: ${safeMrkdwn(problem, 500)}`) });
  blocks.push({ type: "section", text: mrkdwn(lines.join("\n")) });
  return { text: "sendgate commands", blocks };
}
