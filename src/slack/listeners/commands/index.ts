import type { App } from "@slack/bolt";
import { listSendings, sendingLists, type SendingListName } from "../../../sendings/list-sendings.js";
import { SENDING_ID } from "../../../sendings/support/sending-id.js";
import { buildHelp, buildSendingDetails, buildSendingList } from "../../blocks/sending-lists.js";
import type { SlackMessage } from "../../blocks/approval-message.js";
import type { SlackDeps } from "../../deps.js";
import { isUnexpected, slackMessageFor } from "../../errors.js";
import { SLASH_COMMAND } from "../../ids.js";

/** `/sendings <list> [page]`, `/sendings show <id>`, `/sendings help`; anything else gets the help. */
export async function answerSendingsCommand(deps: SlackDeps, text: string): Promise<SlackMessage> {
  const [word = "help", arg] = text.trim().toLowerCase().split(/\s+/);
  if (word === "help" || word === "") return buildHelp();
  if (word in sendingLists) {
    const page = arg && /^\d+$/.test(arg) ? Number(arg) : 1;
    return buildSendingList(await listSendings(deps.db, word as SendingListName, page));
  }
  if (word === "show") {
    if (!arg || !SENDING_ID.test(arg)) return buildHelp("`show` needs a sending id such as `snd_0a1b2c3d4e`.");
    return buildSendingDetails(await deps.views.load(arg));
  }
  return buildHelp(`I don't know "${text.trim().slice(0, 100)}".`);
}

export function registerCommands(app: App, deps: SlackDeps) {
  app.command(SLASH_COMMAND, async ({ ack, command }) => {
    try {
      const message = await answerSendingsCommand(deps, command.text ?? "");
      await ack({ response_type: "ephemeral", ...message });
    } catch (error) {
      if (isUnexpected(error)) deps.log.error({ err: error }, "slash command failed");
      await ack({ response_type: "ephemeral", text: slackMessageFor(error) });
    }
  });
}

