import type { Database } from "../../db/database.js";
import { AppError } from "../../domain/errors.js";
import type { ApproverDirectory } from "./ports.js";

const OPERATOR_PREFIX = "operator:";

/**
 * The actor of a change made with an operator token (OPERATOR_TOKENS), as the audit and Slack show
 * it. Only the HTTP layer makes one, after checking that the request carries an operator token: a
 * Slack user ID never contains ":", so no Slack user can pass for an operator.
 */
export const operatorActor = (tokenName: string) => `${OPERATOR_PREFIX}${tokenName}`;

export const isOperatorActor = (actor: string) => actor.startsWith(OPERATOR_PREFIX) && actor.length > OPERATOR_PREFIX.length;

/**
 * Approvers and the sending's requester may steer it (preview, reschedule, pause, resume, cancel);
 * so may an operator, who holds a token for when Slack is down. An operator is never looked up in
 * Slack's user groups: with Slack down, that lookup would fail.
 */
export async function assertMayControl(
  deps: { db: Database; approvers: ApproverDirectory },
  sendingId: string,
  userId: string,
): Promise<void> {
  // A plain read: Prisma's query compiler costs about 2 ms of CPU a call here, the raw statement 0.3 ms.
  const [sending] = await deps.db.prisma.$queryRawUnsafe<{ requestedBy: string }[]>(
    `SELECT "requestedBy" FROM "Sending" WHERE "id" = ${deps.db.provider === "sqlite" ? "?" : "$1"}`,
    sendingId,
  );
  if (!sending) throw new AppError("NOT_FOUND", `Sending ${sendingId} does not exist.`);
  await assertMayControlSending(deps.approvers, sending, userId);
}

/** assertMayControl for a sending already read. */
export async function assertMayControlSending(approvers: ApproverDirectory, sending: { requestedBy: string }, userId: string): Promise<void> {
  if (isOperatorActor(userId)) return;
  if (sending.requestedBy === userId) return;
  if (await approvers.isApprover(userId)) return;
  throw new AppError("NOT_ALLOWED", "Only approvers and the person who requested this sending can do that.");
}

/** Only configured approvers decide whether a sending goes out. */
export async function assertApprover(approvers: ApproverDirectory, userId: string, verb: "approve" | "reject"): Promise<void> {
  if (!(await approvers.isApprover(userId))) throw new AppError("NOT_ALLOWED", `Only the configured approvers can ${verb} sendings.`);
}
