/** The lifecycle of a sending. This table is the only place that says what may follow what. */
export const SendingStatus = {
  PENDING_APPROVAL: "PENDING_APPROVAL",
  SCHEDULED: "SCHEDULED",
  SENDING: "SENDING",
  PAUSED: "PAUSED",
  COMPLETED: "COMPLETED",
  REJECTED: "REJECTED",
  CANCELLED: "CANCELLED",
} as const;
export type SendingStatus = (typeof SendingStatus)[keyof typeof SendingStatus];

export const allStatuses = Object.values(SendingStatus);

/** The actions that move a sending, each with the statuses it may start from and where it leads. */
export const transitions = {
  approve: { from: ["PENDING_APPROVAL"], to: "SCHEDULED" },
  reject: { from: ["PENDING_APPROVAL"], to: "REJECTED" },
  start: { from: ["SCHEDULED"], to: "SENDING" },
  complete: { from: ["SENDING"], to: "COMPLETED" },
  pause: { from: ["SENDING"], to: "PAUSED" },
  autoPause: { from: ["SENDING", "SCHEDULED"], to: "PAUSED" },
  resume: { from: ["PAUSED"], to: "SENDING" },
  cancel: { from: ["PENDING_APPROVAL", "SCHEDULED", "SENDING", "PAUSED"], to: "CANCELLED" },
  withdrawApproval: { from: ["SCHEDULED"], to: "PENDING_APPROVAL" },
} as const satisfies Record<string, { from: readonly SendingStatus[]; to: SendingStatus }>;

export type Transition = keyof typeof transitions;

export function sourcesOf(transition: Transition): readonly SendingStatus[] {
  return transitions[transition].from;
}

export function targetOf(transition: Transition): SendingStatus {
  return transitions[transition].to;
}

export function canApply(transition: Transition, status: SendingStatus): boolean {
  return (transitions[transition].from as readonly SendingStatus[]).includes(status);
}

/** Reschedule changes the launch date without changing the status. */
export const reschedulable: readonly SendingStatus[] = ["PENDING_APPROVAL", "SCHEDULED"];

/** Content (template, recipients) may change only before delivery starts. */
export const editable: readonly SendingStatus[] = ["PENDING_APPROVAL", "SCHEDULED"];

export const isFinal = (status: SendingStatus) =>
  status === "COMPLETED" || status === "REJECTED" || status === "CANCELLED";

export const statusLabel: Record<SendingStatus, string> = {
  PENDING_APPROVAL: "Pending approval",
  SCHEDULED: "Scheduled",
  SENDING: "Sending",
  PAUSED: "Paused",
  COMPLETED: "Completed",
  REJECTED: "Rejected",
  CANCELLED: "Cancelled",
};
