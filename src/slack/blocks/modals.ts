import type { types } from "@slack/bolt";
import type { Analysis } from "../../mail/analysis/index.js";
import type { RecipientPreview } from "../../sendings/preview-recipient.js";
import type { RecipientOutcomes } from "../../sendings/support/sending-view.js";
import { Limits, formatAddress, formatCount, mrkdwn, plain, plural, safeMrkdwn, slackDate } from "../format.js";
import { ActionId, BlockId, CallbackId, InputActionId } from "../ids.js";
import { previewMrkdwn } from "./preview-text.js";

type ModalView = types.ModalView;
type KnownBlock = types.KnownBlock;

export interface ModalContext {
  sendingId: string;
  name: string;
}

const metadata = (value: object) => {
  const text = JSON.stringify(value);
  if (text.length > Limits.privateMetadata) throw new Error("private_metadata over Slack's limit");
  return text;
};

const title = (text: string) => plain(text, Limits.modalTitle);

export function buildRejectModal(ctx: ModalContext): ModalView {
  return {
    type: "modal",
    callback_id: CallbackId.reject,
    private_metadata: metadata({ id: ctx.sendingId }),
    title: title("Reject sending"),
    submit: plain("Reject", Limits.modalSubmit),
    close: plain("Back", Limits.modalSubmit),
    blocks: [
      { type: "section", text: mrkdwn(`Reject *${safeMrkdwn(ctx.name, 500)}*? The requester gets your reason.`) },
      {
        type: "input",
        block_id: BlockId.reason,
        label: plain("Reason"),
        element: {
          type: "plain_text_input",
          action_id: InputActionId.reason,
          multiline: true,
          max_length: 2000,
          placeholder: plain("What has to change before it can go out?"),
        },
      },
    ],
  };
}

/**
 * "Edit launch date". With `lateLaunch` it is the question an approver gets when the launch date
 * passed while the sending waited: saving sets the new date and approves in one step.
 */
export function buildRescheduleModal(ctx: ModalContext & { launchAt: Date; lateLaunch?: boolean }): ModalView {
  const intro = ctx.lateLaunch
    ? `The launch date of *${safeMrkdwn(ctx.name, 500)}* has passed while it waited for approval. It is never sent late without someone choosing so: send it now, or pick a new date.`
    : `*${safeMrkdwn(ctx.name, 500)}* launches ${slackDate(ctx.launchAt)}. Pick the new date and time (your time zone).`;
  return {
    type: "modal",
    callback_id: CallbackId.reschedule,
    private_metadata: metadata({ id: ctx.sendingId, approve: ctx.lateLaunch === true }),
    title: title(ctx.lateLaunch ? "Launch date passed" : "Edit launch date"),
    submit: plain(ctx.lateLaunch ? "Approve" : "Save", Limits.modalSubmit),
    close: plain("Back", Limits.modalSubmit),
    blocks: [
      { type: "section", text: mrkdwn(intro) },
      {
        type: "input",
        block_id: BlockId.launchAt,
        label: plain("Launch date and time"),
        element: {
          type: "datetimepicker",
          action_id: InputActionId.launchAt,
          initial_date_time: Math.floor(ctx.launchAt.getTime() / 1000),
        },
      },
      ...(ctx.lateLaunch ? [lateLaunchChoice()] : []),
    ],
  };
}

function lateLaunchChoice(): KnownBlock {
  const later = { text: plain("At the date above"), value: "later" };
  return {
    type: "input",
    block_id: BlockId.when,
    label: plain("When"),
    element: {
      type: "radio_buttons",
      action_id: InputActionId.when,
      initial_option: later,
      options: [{ text: plain("Send now"), value: "now" }, later],
    },
  };
}

/**
 * Cancel asks for a reason and, when some messages are prepared (rendered and waiting for their turn
 * at the mail server), whether they still go out. The numbers shown add up to the recipient count.
 */
export function buildCancelModal(ctx: ModalContext & { recipientCount: number; outcomes: RecipientOutcomes }): ModalView {
  const o = ctx.outcomes;
  const prepared = o.prepared;
  const started = o.sent + o.failed + prepared > 0;
  const standing = started
    ? `Of ${plural(ctx.recipientCount, "recipient")}: ${formatCount(o.sent)} delivered · ${formatCount(o.failed)} failed · ` +
      `${formatCount(prepared)} prepared · ${formatCount(o.queued)} not yet prepared` +
      (o.cancelled > 0 ? ` · ${formatCount(o.cancelled)} already cancelled` : "") +
      `.\nCancelling stops the ${formatCount(o.queued)} not yet prepared.`
    : `None of its ${plural(ctx.recipientCount, "recipient")} will get it.`;
  const blocks: KnownBlock[] = [
    { type: "section", text: mrkdwn(`Cancel *${safeMrkdwn(ctx.name, 500)}*? This cannot be undone.\n${standing}`) },
    {
      type: "input",
      block_id: BlockId.reason,
      label: plain("Reason"),
      hint: plain("Shown in the sending's thread and kept in its history."),
      element: { type: "plain_text_input", action_id: InputActionId.reason, multiline: true, max_length: 2000 },
    },
  ];
  if (prepared > 0) {
    const [them, get] = prepared === 1 ? ["it", "gets"] : ["them", "get"];
    const drop = { text: plain(`Drop ${them}: ${plural(prepared, "recipient")} will not get it`), value: "drop" };
    blocks.push({
      type: "input",
      block_id: BlockId.prepared,
      label: plain(`What happens to the ${plural(prepared, "prepared message")}?`),
      hint: plain("Prepared messages are already rendered and waiting for their turn at the mail server."),
      element: {
        type: "radio_buttons",
        action_id: InputActionId.prepared,
        initial_option: drop,
        options: [drop, { text: plain(`Deliver ${them}: ${plural(prepared, "recipient")} still ${get} it`), value: "deliver" }],
      },
    });
  }
  return {
    type: "modal",
    callback_id: CallbackId.cancel,
    private_metadata: metadata({ id: ctx.sendingId, prepared }),
    title: title("Cancel sending"),
    submit: plain("Cancel sending", Limits.modalSubmit),
    close: plain("Keep it", Limits.modalSubmit),
    blocks,
  };
}

const PREVIEW_BODY_LIMIT = 2900;

/** The message as one recipient gets it; Previous / Next step through the list. */
export interface PreviewExtras {
  /** A signed link to this recipient's exact HTML (needs PUBLIC_URL). */
  htmlUrl?: string;
  /** A line about what just happened (a test sent). */
  note?: string;
}

/** Cut at the last line break before the limit, so that no link or bold mark is cut in half. */
function cutAtLine(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const end = text.lastIndexOf("\n", limit - 2);
  return `${text.slice(0, end > 0 ? end : 0).trimEnd()}\n…`;
}

export function buildPreviewModal(preview: RecipientPreview, extras: PreviewExtras = {}): ModalView {
  const body = previewMrkdwn(preview.message.html);
  const cut = body.length > PREVIEW_BODY_LIMIT;
  const blocks: KnownBlock[] = [
    // A section accessory, not an input block: Slack refuses a modal with an input block and no
    // submit button, and the preview has nothing to submit.
    {
      type: "section",
      block_id: BlockId.recipientSearch,
      text: mrkdwn("*Find a recipient*"),
      accessory: {
        type: "external_select",
        action_id: ActionId.previewSearch,
        min_query_length: 1,
        placeholder: plain("Type the start of an address", Limits.placeholder),
      },
    },
    {
      type: "section",
      fields: [
        mrkdwn(`*From*\n${safeMrkdwn(formatAddress(preview.from.name, preview.from.email), 900)}`),
        mrkdwn(`*To*\n${safeMrkdwn(preview.to, 900)}`),
      ],
    },
    { type: "section", text: mrkdwn(`*Subject*\n${safeMrkdwn(preview.message.subject, 2000)}`) },
    { type: "divider" },
    // Escaped content with only the HTML's own structure as markup: nothing in a recipient's data can mention or link.
    { type: "section", text: mrkdwn(cutAtLine(body, PREVIEW_BODY_LIMIT) || " ") },
  ];
  const notes: string[] = [];
  if (cut) notes.push(`:scissors: The body is cut here; the whole message is ${formatCount(body.length)} characters. Send yourself a test to read it all.`);
  if (preview.filledVariables.length > 0) notes.push(`Filled: ${safeMrkdwn(preview.filledVariables.join(", "), 800)}`);
  if (preview.missingVariables.length > 0) notes.push(`:warning: Missing for this recipient: ${safeMrkdwn(preview.missingVariables.join(", "), 800)}`);
  if (notes.length > 0) blocks.push({ type: "context", elements: notes.map((note) => mrkdwn(note)) });
  const nav: types.Button[] = [];
  const value = (recipientId: number) => JSON.stringify({ id: preview.sendingId, r: recipientId });
  if (preview.previousId !== null) nav.push({ type: "button", text: plain("◀ Previous"), action_id: ActionId.previewPrevious, value: value(preview.previousId) });
  if (preview.nextId !== null) nav.push({ type: "button", text: plain("Next ▶"), action_id: ActionId.previewNext, value: value(preview.nextId) });
  blocks.push({
    type: "context",
    elements: [mrkdwn(`Recipient ${formatCount(preview.position)} of ${formatCount(preview.total)}`)],
  });
  const recipientValue = value(preview.recipientId);
  nav.push({ type: "button", text: plain("Send me a test"), action_id: ActionId.previewTestSend, value: recipientValue });
  if (extras.htmlUrl) nav.push({ type: "button", text: plain("Open the exact HTML"), action_id: ActionId.previewHtml, url: extras.htmlUrl });
  blocks.push({ type: "actions", elements: nav });
  if (extras.note) blocks.push({ type: "context", elements: [mrkdwn(extras.note)] });
  return {
    type: "modal",
    callback_id: CallbackId.preview,
    private_metadata: metadata({ id: preview.sendingId, r: preview.recipientId }),
    title: title("Preview"),
    close: plain("Close", Limits.modalSubmit),
    blocks,
  };
}

/** `text` is mrkdwn written by sendgate; escape any untrusted part before passing it. */
export function buildNoticeModal(heading: string, text: string): ModalView {
  return {
    type: "modal",
    title: title(heading),
    close: plain("Close", Limits.modalSubmit),
    blocks: [{ type: "section", text: mrkdwn(text) }],
  };
}

const severityIcon = { pass: ":white_check_mark:", warning: ":warning:", error: ":no_entry:" } as const;

/** The seed's Analysis tab: every check with its severity and evidence, errors first. */
export function buildAnalysisModal(ctx: ModalContext & { analysis: Analysis }): ModalView {
  const order = { error: 0, warning: 1, pass: 2 } as const;
  const checks = [...ctx.analysis.checks].sort((a, b) => order[a.severity] - order[b.severity]);
  const { passed, warnings, errors } = ctx.analysis.counts;
  const blocks: KnownBlock[] = [
    {
      type: "section",
      text: mrkdwn(`*${safeMrkdwn(ctx.name, 500)}*\n${passed} passed · ${warnings} warning${warnings === 1 ? "" : "s"} · ${errors} error${errors === 1 ? "" : "s"}`),
    },
    { type: "divider" },
    ...checks.slice(0, Limits.blocksPerModal - 3).map(
      (check): KnownBlock => ({
        type: "section",
        text: mrkdwn(`${severityIcon[check.severity]} *${safeMrkdwn(check.title, 200)}*\n${safeMrkdwn(check.evidence, 2500)}`),
      }),
    ),
  ];
  if (errors > 0) blocks.push({ type: "context", elements: [mrkdwn("Errors block approval until the content is fixed through the API.")] });
  return {
    type: "modal",
    callback_id: CallbackId.analysis,
    private_metadata: metadata({ id: ctx.sendingId }),
    title: title("Analysis"),
    close: plain("Close", Limits.modalSubmit),
    blocks,
  };
}
