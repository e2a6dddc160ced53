import type { App, BlockButtonAction } from "@slack/bolt";
import { AppError, isAppError } from "../../../domain/errors.js";
import { approveSending } from "../../../sendings/approve-sending.js";
import { assertMayControl } from "../../../sendings/authority.js";
import { pauseSending } from "../../../sendings/pause-sending.js";
import { resumeSending } from "../../../sendings/resume-sending.js";
import { listSendings, sendingLists, type SendingListName } from "../../../sendings/list-sendings.js";
import { previewRecipient } from "../../../sendings/preview-recipient.js";
import { loadSendingView } from "../../../sendings/sending-view.js";
import { buildCancelModal, buildPreviewModal, buildRejectModal, buildRescheduleModal } from "../../blocks/modals.js";
import { buildSendingList } from "../../blocks/sending-lists.js";
import type { SlackDeps } from "../../deps.js";
import { isUnexpected, slackMessageFor } from "../../errors.js";
import { ActionId } from "../../ids.js";

type ButtonArgs = { body: BlockButtonAction; client: App["client"] };

function parseValue<T>(raw: string | undefined): T {
  try {
    return JSON.parse(raw ?? "") as T;
  } catch {
    throw new AppError("VALIDATION", "This button is out of date; use the latest message.");
  }
}

/** Refusals are told to the clicking user only; everything else stays as it was. */
async function tellUser(deps: SlackDeps, { body, client }: ButtonArgs, error: unknown) {
  if (isUnexpected(error)) deps.log.error({ err: error, action: body.actions[0]?.action_id }, "slack action failed");
  const text = slackMessageFor(error);
  const channel = body.channel?.id ?? body.container?.channel_id;
  if (channel) await client.chat.postEphemeral({ channel, user: body.user.id, text });
  else if (body.view) await client.views.push({ trigger_id: body.trigger_id, view: noticeView(text) });
}

function noticeView(text: string) {
  return {
    type: "modal" as const,
    title: { type: "plain_text" as const, text: "sendgate" },
    close: { type: "plain_text" as const, text: "Close" },
    blocks: [{ type: "section" as const, text: { type: "mrkdwn" as const, text } }],
  };
}

export function registerActions(app: App, deps: SlackDeps) {
  const on = (actionId: string | RegExp, handle: (args: ButtonArgs) => Promise<void>) =>
    app.action<BlockButtonAction>(actionId, async ({ ack, body, client }) => {
      // Slack waits 3 seconds for the ack; everything else happens after it.
      await ack();
      try {
        await handle({ body, client });
      } catch (error) {
        await tellUser(deps, { body, client }, error).catch((e) => deps.log.error({ err: e }, "could not tell the user"));
      }
    });

  on(ActionId.approve, async ({ body, client }) => {
    const { id, hash } = parseValue<{ id: string; hash?: string }>(body.actions[0]?.value);
    try {
      await approveSending(deps, { sendingId: id, userId: body.user.id, contentHash: hash });
    } catch (error) {
      if (!(isAppError(error) && error.code === "LAUNCH_IN_PAST")) throw error;
      // Never sent late silently: the approver picks a new date first, then approves again.
      const view = await loadSendingView(deps.db, id, deps.policy.requiredApprovals);
      await client.views.open({
        trigger_id: body.trigger_id,
        view: buildRescheduleModal({ sendingId: id, name: view.name, launchAt: new Date(deps.clock.now().getTime() + 10 * 60_000), lateLaunch: true }),
      });
    }
  });

  on(ActionId.reject, async ({ body, client }) => {
    const sendingId = body.actions[0]?.value ?? "";
    if (!(await deps.approvers.isApprover(body.user.id))) {
      throw new AppError("NOT_ALLOWED", "Only the configured approvers can reject sendings.");
    }
    const view = await loadSendingView(deps.db, sendingId, deps.policy.requiredApprovals);
    if (view.status !== "PENDING_APPROVAL") throw new AppError("ALREADY_DECIDED", "This sending is no longer waiting for approval.");
    await client.views.open({ trigger_id: body.trigger_id, view: buildRejectModal({ sendingId, name: view.name }) });
  });

  on(ActionId.reschedule, async ({ body, client }) => {
    const sendingId = body.actions[0]?.value ?? "";
    await assertMayControl(deps.db, deps.approvers, sendingId, body.user.id);
    const view = await loadSendingView(deps.db, sendingId, deps.policy.requiredApprovals);
    await client.views.open({
      trigger_id: body.trigger_id,
      view: buildRescheduleModal({ sendingId, name: view.name, launchAt: view.launchAt }),
    });
  });

  on(ActionId.cancel, async ({ body, client }) => {
    const sendingId = body.actions[0]?.value ?? "";
    await assertMayControl(deps.db, deps.approvers, sendingId, body.user.id);
    const view = await loadSendingView(deps.db, sendingId, deps.policy.requiredApprovals);
    await client.views.open({
      trigger_id: body.trigger_id,
      view: buildCancelModal({ sendingId, name: view.name, preparedCount: view.preparedCount }),
    });
  });

  on(ActionId.pause, async ({ body }) => {
    const sendingId = body.actions[0]?.value ?? "";
    await assertMayControl(deps.db, deps.approvers, sendingId, body.user.id);
    await pauseSending(deps, { sendingId, actor: body.user.id });
  });

  on(ActionId.resume, async ({ body }) => {
    const sendingId = body.actions[0]?.value ?? "";
    await assertMayControl(deps.db, deps.approvers, sendingId, body.user.id);
    await resumeSending(deps, { sendingId, actor: body.user.id });
  });

  on(ActionId.preview, async ({ body, client }) => {
    const sendingId = body.actions[0]?.value ?? "";
    await assertMayControl(deps.db, deps.approvers, sendingId, body.user.id);
    const preview = await previewRecipient(deps.db, { sendingId });
    await client.views.open({ trigger_id: body.trigger_id, view: buildPreviewModal(preview) });
  });

  const step = async ({ body, client }: ButtonArgs) => {
    const { id, r } = parseValue<{ id: string; r: number }>(body.actions[0]?.value);
    await assertMayControl(deps.db, deps.approvers, id, body.user.id);
    const preview = await previewRecipient(deps.db, { sendingId: id, recipientId: r });
    if (!body.view) throw new AppError("VALIDATION", "Previous and Next work inside the preview.");
    await client.views.update({ view_id: body.view.id, hash: body.view.hash, view: buildPreviewModal(preview) });
  };
  on(ActionId.previewPrevious, step);
  on(ActionId.previewNext, step);

  app.action<BlockButtonAction>(new RegExp(`^${ActionId.listPage.replace(".", "\\.")}\\.`), async ({ ack, body, respond }) => {
    await ack();
    const { list, page } = parseValue<{ list: SendingListName; page: number }>(body.actions[0]?.value);
    if (!(list in sendingLists)) return;
    await respond({ response_type: "ephemeral", replace_original: true, ...buildSendingList(await listSendings(deps.db, list, page)) });
  });
}
