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

/**
 * How long the answer may take to go out in the acknowledgement itself. Slack waits 3 seconds for it;
 * past this, when a burst of clicks and commands keeps the database busy, the command is acknowledged
 * empty and the answer follows through its response_url (good for 30 minutes), so it is never lost
 * to Slack's timeout.
 */
const ANSWER_IN_ACK_MS = 2000;

export function registerCommands(app: App, deps: SlackDeps) {
  app.command(SLASH_COMMAND, async ({ ack, command, respond }) => {
    const answer: Promise<Partial<SlackMessage> & { text: string; response_type: "ephemeral" }> = answerSendingsCommand(deps, command.text ?? "").then(
      (message) => ({ response_type: "ephemeral", ...message }),
      (error: unknown) => {
        if (isUnexpected(error)) deps.log.error({ err: error }, "slash command failed");
        return { response_type: "ephemeral", text: slackMessageFor(error) };
      },
    );
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ANSWER_IN_ACK_MS)));
    const ready = await Promise.race([answer, late]);
    clearTimeout(timer);
    if (ready) {
      await ack(ready);
      return;
    }
    await ack();
    await respond(await answer);
  });
}

