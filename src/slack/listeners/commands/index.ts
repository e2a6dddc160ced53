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
    return listingUnderWay(deps, word as SendingListName, page);
  }
  if (word === "show") {
    if (!arg || !SENDING_ID.test(arg)) return buildHelp("`show` needs a sending id such as `snd_0a1b2c3d4e`.");
    return buildSendingDetails(await deps.views.load(arg));
  }
  return buildHelp(`I don't know "${text.trim().slice(0, 100)}".`);
}

/** The answers being read now, by list and page: at most one a page, each gone once read. */
const listingsUnderWay = new WeakMap<SlackDeps, Map<string, Promise<SlackMessage>>>();

/**
 * A list's answer, shared by the commands that ask for the same page while it is being read. The
 * answer is the acknowledgement itself, so its work is on the path every other click of a burst
 * waits behind: forty people typing `/sendings pending` together cost a few reads, not forty (each
 * read through Prisma's query compiler costs milliseconds of the main thread). A command that
 * shares a read got an answer as of at most one read's time before it arrived: what it would have
 * got had it arrived those milliseconds earlier. Nothing is kept once the read is done.
 */
function listingUnderWay(deps: SlackDeps, list: SendingListName, page: number): Promise<SlackMessage> {
  let underWay = listingsUnderWay.get(deps);
  if (!underWay) listingsUnderWay.set(deps, (underWay = new Map()));
  const key = `${list}:${page}`;
  const known = underWay.get(key);
  if (known) return known;
  const reading = listSendings(deps.db, list, page).then(buildSendingList);
  underWay.set(key, reading);
  const forget = () => {
    if (underWay.get(key) === reading) underWay.delete(key);
  };
  reading.then(forget, forget);
  return reading;
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

