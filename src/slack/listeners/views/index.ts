import type { AckFn, App, SlackViewAction, ViewOutput, ViewResponseAction } from "@slack/bolt";
import { AppError } from "../../../domain/errors.js";
import { approveSending } from "../../../sendings/approve-sending.js";
import { cancelSending, type PreparedChoice } from "../../../sendings/cancel-sending.js";
import { rejectSending } from "../../../sendings/reject-sending.js";
import { rescheduleSending } from "../../../sendings/reschedule-sending.js";
import { buildNoticeModal } from "../../blocks/modals.js";
import type { SlackDeps } from "../../deps.js";
import { isFieldError, isUnexpected, slackMessageFor } from "../../errors.js";
import { BlockId, CallbackId, InputActionId } from "../../ids.js";
import { SENDING_ID } from "../../../sendings/support/sending-id.js";

type Ack = AckFn<ViewResponseAction>;

const SEND_NOW_DELAY_MS = 5_000;

function metadataOf(view: ViewOutput): { id: string; approve?: boolean } {
  let metadata: unknown;
  try {
    metadata = JSON.parse(view.private_metadata);
  } catch {
    throw new AppError("VALIDATION", "This form is out of date; open it again.");
  }
  // Slack only sends back the metadata sendgate set: anything else is not one of its forms.
  const { id, approve } = (metadata ?? {}) as { id?: unknown; approve?: unknown };
  if (typeof id !== "string" || !SENDING_ID.test(id) || (approve !== undefined && typeof approve !== "boolean")) {
    throw new AppError("VALIDATION", "This form is out of date; open it again.");
  }
  return { id, approve };
}

const inputValue = (view: ViewOutput, block: string, action: string) => view.state.values[block]?.[action];

/**
 * Modal submissions run the use case before acking (it is one short transaction, well inside Slack's
 * 3 seconds) so that a refusal lands in the modal itself: a field error, or the modal turns into the answer.
 */
async function submit(deps: SlackDeps, ack: Ack, fieldBlock: string, work: () => Promise<void>) {
  try {
    await work();
    await ack();
  } catch (error) {
    if (isFieldError(error)) {
      await ack({ response_action: "errors", errors: { [fieldBlock]: error.message } });
      return;
    }
    if (isUnexpected(error)) deps.log.error({ err: error }, "modal submission failed");
    await ack({ response_action: "update", view: buildNoticeModal("sendgate", slackMessageFor(error)) });
  }
}

export function registerViews(app: App, deps: SlackDeps) {
  app.view<SlackViewAction>(CallbackId.reject, async ({ ack, body, view }) => {
    await submit(deps, ack as Ack, BlockId.reason, async () => {
      const reason = inputValue(view, BlockId.reason, InputActionId.reason)?.value ?? "";
      await rejectSending(deps, { sendingId: metadataOf(view).id, userId: body.user.id, reason });
    });
  });

  app.view<SlackViewAction>(CallbackId.cancel, async ({ ack, body, view }) => {
    await submit(deps, ack as Ack, BlockId.reason, async () => {
      const { id } = metadataOf(view);
      const reason = inputValue(view, BlockId.reason, InputActionId.reason)?.value ?? "";
      // No choice shown means nothing was prepared when the modal opened; anything prepared since is dropped.
      const prepared = (inputValue(view, BlockId.prepared, InputActionId.prepared)?.selected_option?.value ?? "drop") as PreparedChoice;
      await cancelSending(deps, { sendingId: id, actor: body.user.id, reason, prepared });
    });
  });

  app.view<SlackViewAction>(CallbackId.reschedule, async ({ ack, body, view }) => {
    await submit(deps, ack as Ack, BlockId.launchAt, async () => {
      const { id, approve } = metadataOf(view);
      const sendNow = inputValue(view, BlockId.when, InputActionId.when)?.selected_option?.value === "now";
      const picked = inputValue(view, BlockId.launchAt, InputActionId.launchAt)?.selected_date_time;
      const launchAt = sendNow
        ? new Date(deps.clock.now().getTime() + SEND_NOW_DELAY_MS)
        : new Date(typeof picked === "number" ? picked * 1000 : Number.NaN);
      if (approve) await approveSending(deps, { sendingId: id, userId: body.user.id, launchAt });
      else await rescheduleSending(deps, { sendingId: id, userId: body.user.id, launchAt });
    });
  });
}
