/**
 * Every Slack id sendgate uses. Builders, listener registrations and tests import them from here.
 * Per-item context (the sending id) travels in the button value or the modal's private_metadata.
 */
export const ActionId = {
  approve: "sending.approve",
  reject: "sending.reject",
  preview: "sending.preview",
  reschedule: "sending.reschedule",
  cancel: "sending.cancel",
  pause: "sending.pause",
  resume: "sending.resume",
  analysis: "sending.analysis",
  /** The card's overflow menu; each option's value names the action it stands for. */
  more: "sending.more",
  previewPrevious: "preview.previous",
  previewSearch: "preview.search",
  previewTestSend: "preview.test_send",
  previewHtml: "preview.html",
  previewNext: "preview.next",
  listPage: "list.page",
} as const;

export const CallbackId = {
  reject: "modal.reject",
  reschedule: "modal.reschedule",
  cancel: "modal.cancel",
  preview: "modal.preview",
  analysis: "modal.analysis",
} as const;

export const BlockId = {
  reason: "reason",
  launchAt: "launch_at",
  when: "when",
  prepared: "prepared",
  actions: "sending_actions",
  recipientSearch: "recipient_search",
} as const;

/** The input element inside each input block. */
export const InputActionId = {
  reason: "reason_input",
  launchAt: "launch_at_input",
  when: "when_input",
  prepared: "prepared_input",
} as const;

export const SLASH_COMMAND = "/sendings";
