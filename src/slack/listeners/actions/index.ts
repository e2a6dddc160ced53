import type { App, BlockAction, BlockButtonAction, BlockSuggestion, ExternalSelectAction, OverflowAction, RespondFn } from "@slack/bolt";
import { AppError, isAppError } from "../../../domain/errors.js";
import { approveSending } from "../../../sendings/approve-sending.js";
import { beginDecision, type Decision } from "../../../sendings/begin-decision.js";
import { pauseSending } from "../../../sendings/pause-sending.js";
import { resumeSending } from "../../../sendings/resume-sending.js";
import { listSendings, sendingLists, type SendingListName } from "../../../sendings/list-sendings.js";
import { previewRecipient, type RecipientPreview } from "../../../sendings/preview-recipient.js";
import { searchRecipients } from "../../../sendings/search-recipients.js";
import { sendTestMessage } from "../../../sendings/send-test-message.js";
import {
  buildAnalysisModal,
  buildCancelModal,
  buildNoticeModal,
  buildPreviewModal,
  buildRejectModal,
  buildRescheduleModal,
} from "../../blocks/modals.js";
import { Limits, safeMrkdwn, truncate } from "../../format.js";
import { buildSendingList } from "../../blocks/sending-lists.js";
import type { SlackDeps } from "../../deps.js";
import { isUnexpected, slackMessageFor } from "../../errors.js";
import { ActionId } from "../../ids.js";
import { SENDING_ID } from "../../../sendings/support/sending-id.js";
import type { WebApiCaller } from "../../web-api-caller.js";
import { createAfterAck } from "../after-ack.js";

/** `value`: the clicked button's value, or the sending id of the "more" menu option that stands for it. */
type ButtonArgs = { body: BlockButtonAction; client: App["client"]; value: string };

function parseValue<T>(raw: string | undefined): T {
  let value: unknown;
  try {
    value = JSON.parse(raw ?? "");
  } catch {
    throw new AppError("VALIDATION", "This button is out of date; use the latest message.");
  }
  // Slack only sends back what sendgate put in its buttons: anything else is not one of them.
  if (!value || typeof value !== "object" || ("id" in value && !(typeof value.id === "string" && SENDING_ID.test(value.id)))) {
    throw new AppError("VALIDATION", "This button is out of date; use the latest message.");
  }
  return value as T;
}

/** Refusals are told to the clicking user only; everything else stays as it was. */
async function tellUser(deps: SlackDeps, { body, client }: Omit<ButtonArgs, "value">, error: unknown) {
  if (isUnexpected(error)) deps.log.error({ err: error, action: body.actions[0]?.action_id }, "slack action failed");
  const text = slackMessageFor(error);
  const channel = body.channel?.id ?? body.container?.channel_id;
  if (channel) await client.chat.postEphemeral({ channel, user: body.user.id, text });
  // A modal stacks the answer on top; the Home tab has no stack to push onto (Slack answers not_found).
  else if (body.view?.type === "home") await client.views.open({ trigger_id: body.trigger_id, view: buildNoticeModal("sendgate", text) });
  else if (body.view) await client.views.push({ trigger_id: body.trigger_id, view: buildNoticeModal("sendgate", text) });
}

export function registerActions(app: App, deps: SlackDeps, webApi: WebApiCaller) {
  const handlers = new Map<string, (args: ButtonArgs) => Promise<void>>();
  // Every listener acknowledges first; its work waits for the acknowledgements of a burst to go out.
  const afterAck = createAfterAck();
  const run = (handle: (args: ButtonArgs) => Promise<void>, args: ButtonArgs) =>
    afterAck(async () => {
      try {
        await handle(args);
      } catch (error) {
        await tellUser(deps, args, error).catch((e) => deps.log.error({ err: e }, "could not tell the user"));
      }
    });
  const on = (actionId: string, handle: (args: ButtonArgs) => Promise<void>) => handlers.set(actionId, handle);
  /** Actions other than buttons, by action id; each is acknowledged already. */
  const others = new Map<string, (args: { body: BlockAction; client: App["client"]; respond: RespondFn }) => Promise<void>>();

  // One listener for every block action, dispatching by action id: Bolt runs the matching of every
  // registered listener on every request, which for a listener per button cost more than the click's own work.
  app.action<BlockAction>({ type: "block_actions" }, async ({ ack, body, client, respond }) => {
    // Slack waits 3 seconds for the ack; everything else happens after it.
    await ack();
    const action = body.actions[0];
    if (!action) return;
    const button = handlers.get(action.action_id);
    if (button && action.type === "button") {
      await run(button, { body: body as BlockButtonAction, client, value: action.value ?? "" });
      return;
    }
    const listPage = action.action_id.startsWith(`${ActionId.listPage}.`) ? others.get(ActionId.listPage) : undefined;
    const other = others.get(action.action_id) ?? listPage;
    // A link button (the preview's exact HTML) still reports its click: acknowledged, there is nothing more to do.
    if (other) await afterAck(() => other({ body, client, respond }));
  });

  // The card's "more" menu: each option stands for one of the buttons below, for the sending it names.
  others.set(ActionId.more, async ({ body, client }) => {
    const menu = body as BlockAction<OverflowAction>;
    const args = { body: body as unknown as BlockButtonAction, client, value: "" };
    try {
      const { id, do: actionId } = parseValue<{ id: string; do: string }>(menu.actions[0]?.selected_option?.value);
      const handle = handlers.get(actionId);
      if (!handle) throw new AppError("VALIDATION", "This menu is out of date; use the latest message.");
      await handle({ ...args, value: id });
    } catch (error) {
      await tellUser(deps, args, error).catch((e) => deps.log.error({ err: e }, "could not tell the user"));
    }
  });

  on(ActionId.approve, async ({ body, client, value }) => {
    const { id, hash } = parseValue<{ id: string; hash?: string }>(value);
    try {
      await approveSending(deps, { sendingId: id, userId: body.user.id, contentHash: hash });
    } catch (error) {
      if (!(isAppError(error) && error.code === "LAUNCH_IN_PAST")) throw error;
      // Never sent late silently: the approver picks a new date first, then approves again.
      const { name } = error.details as { name: string };
      await client.views.open({
        trigger_id: body.trigger_id,
        view: buildRescheduleModal({ sendingId: id, name, launchAt: new Date(deps.clock.now().getTime() + 10 * 60_000), lateLaunch: true }),
      });
    }
  });

  const begin = ({ body, value }: ButtonArgs, decision: Decision) => beginDecision(deps, { sendingId: value, userId: body.user.id, decision });

  on(ActionId.reject, async (args) => {
    const { body, client } = args;
    const view = await begin(args, "reject");
    await client.views.open({ trigger_id: body.trigger_id, view: buildRejectModal({ sendingId: view.id, name: view.name }) });
  });

  on(ActionId.reschedule, async (args) => {
    const { body, client } = args;
    const view = await begin(args, "reschedule");
    await client.views.open({
      trigger_id: body.trigger_id,
      view: buildRescheduleModal({ sendingId: view.id, name: view.name, launchAt: view.launchAt }),
    });
  });

  on(ActionId.cancel, async (args) => {
    const { body, client } = args;
    const view = await begin(args, "cancel");
    await client.views.open({
      trigger_id: body.trigger_id,
      view: buildCancelModal({ sendingId: view.id, name: view.name, recipientCount: view.recipientCount, outcomes: view.outcomes }),
    });
  });

  on(ActionId.pause, async ({ body, value }) => {
    await pauseSending(deps, { sendingId: value, actor: body.user.id });
  });

  on(ActionId.resume, async ({ body, value }) => {
    await resumeSending(deps, { sendingId: value, actor: body.user.id });
  });

  /**
   * The Preview modal as the JSON text Slack is sent. A preview is kept once per content hash and
   * recipient (previewRecipient), and its modal with it: built and serialized once, however many
   * people open it together; kept beside the preview it shows, so it goes when the preview does.
   * The link to the exact HTML carries its expiry (in seconds), so a modal is rebuilt when it changes.
   */
  const serializedPreviews = new WeakMap<RecipientPreview, { htmlUrl: string | undefined; json: string }>();
  const previewModalJson = async (sendingId: string, userId: string, recipientId?: number, note?: string) => {
    const preview = await previewRecipient(deps, { sendingId, userId, recipientId });
    const htmlUrl = deps.previewLinks?.url(sendingId, preview.recipientId);
    if (note !== undefined) return JSON.stringify(buildPreviewModal(preview, { htmlUrl, note }));
    const kept = serializedPreviews.get(preview);
    if (kept && kept.htmlUrl === htmlUrl) return kept.json;
    const json = JSON.stringify(buildPreviewModal(preview, { htmlUrl }));
    serializedPreviews.set(preview, { htmlUrl, json });
    return json;
  };
  // Nobody reads the answer: Slack's copy of the modal it opened.
  const openPreview = (triggerId: string, viewJson: string) =>
    webApi.call("views.open", `{"trigger_id":${JSON.stringify(triggerId)},"view":${viewJson}}`, { read: false });
  const updatePreview = (viewId: string, hash: string | undefined, viewJson: string) =>
    webApi.call("views.update", `{"view_id":${JSON.stringify(viewId)},${hash === undefined ? "" : `"hash":${JSON.stringify(hash)},`}"view":${viewJson}}`, { read: false });

  on(ActionId.preview, async ({ body, value }) => {
    await openPreview(body.trigger_id, await previewModalJson(value, body.user.id));
  });

  const step = async ({ body, value }: ButtonArgs) => {
    const { id, r } = parseValue<{ id: string; r: number }>(value);
    if (!body.view) throw new AppError("VALIDATION", "Previous and Next work inside the preview.");
    await updatePreview(body.view.id, body.view.hash, await previewModalJson(id, body.user.id, r));
  };
  on(ActionId.previewPrevious, step);
  on(ActionId.previewNext, step);

  // Picking an address in the preview's search shows that recipient.
  others.set(ActionId.previewSearch, async ({ body }) => {
    try {
      const { id, r } = parseValue<{ id: string; r: number }>((body as BlockAction<ExternalSelectAction>).actions[0]?.selected_option?.value);
      if (body.view) await updatePreview(body.view.id, undefined, await previewModalJson(id, body.user.id, r));
    } catch (error) {
      deps.log.error({ err: error }, "preview search selection failed");
    }
  });

  // Answered from the (sendingId, email) index: fast on a list of a million, inside Slack's 3 seconds.
  app.options<"block_suggestion">(ActionId.previewSearch, async ({ ack, body }) => {
    const suggestion = body as BlockSuggestion;
    try {
      const { id } = parseValue<{ id: string }>(suggestion.view?.private_metadata);
      const matches = await searchRecipients(deps, { sendingId: id, userId: suggestion.user.id, query: suggestion.value ?? "", limit: 50 });
      await ack({
        options: matches.map((match) => ({
          text: { type: "plain_text" as const, text: truncate(match.email, Limits.optionText) },
          value: JSON.stringify({ id, r: match.id }),
        })),
      });
    } catch (error) {
      if (isUnexpected(error)) deps.log.error({ err: error }, "recipient search failed");
      await ack({ options: [] });
    }
  });

  on(ActionId.previewTestSend, async ({ body, client, value }) => {
    const { id, r } = parseValue<{ id: string; r: number }>(value);
    if (!body.view) throw new AppError("VALIDATION", "Send me a test works inside the preview.");
    const profile = await client.users.info({ user: body.user.id });
    const approverEmail = profile.user?.profile?.email ?? "";
    let note: string;
    try {
      const result = await sendTestMessage(deps, { sendingId: id, recipientId: r, approverEmail, actor: body.user.id });
      note = result.sent
        ? `:email: Test sent to ${safeMrkdwn(result.to, 300)}, as ${safeMrkdwn(result.recipientEmail, 300)} will get it.`
        : `:warning: The mail server refused the test to ${safeMrkdwn(result.to, 300)}: ${safeMrkdwn(result.reason, 500)}`;
    } catch (error) {
      note = slackMessageFor(error);
      if (isUnexpected(error)) deps.log.error({ err: error }, "test send failed");
    }
    await updatePreview(body.view.id, undefined, await previewModalJson(id, body.user.id, r, note));
  });

  on(ActionId.analysis, async (args) => {
    const { body, client } = args;
    const view = await begin(args, "inspect");
    const sendingId = view.id;
    if (view.analysis) {
      await client.views.open({ trigger_id: body.trigger_id, view: buildAnalysisModal({ sendingId, name: view.name, analysis: view.analysis }) });
      return;
    }
    // A trigger expires in 3 seconds; a long list takes longer to analyse, so the modal opens first.
    const opened = await client.views.open({
      trigger_id: body.trigger_id,
      view: buildNoticeModal("Analysis", `:mag: Analysing *${safeMrkdwn(view.name, 500)}*…`),
    });
    const analysis = await deps.analyzer.current(sendingId);
    if (opened.view?.id) {
      await client.views.update({ view_id: opened.view.id, view: buildAnalysisModal({ sendingId, name: view.name, analysis }) });
    }
  });

  // The pages of a /sendings list: action ids `list.page.<n>`, one per button of the message.
  others.set(ActionId.listPage, async ({ body, respond }) => {
    const { list, page } = parseValue<{ list: SendingListName; page: number }>((body as BlockButtonAction).actions[0]?.value);
    if (!(list in sendingLists)) return;
    await respond({ response_type: "ephemeral", replace_original: true, ...buildSendingList(await listSendings(deps.db, list, page)) });
  });
}
