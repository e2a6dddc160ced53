import { randomBytes } from "node:crypto";
import { z } from "zod";
import { AppError } from "../domain/errors.js";
import type { Mailer, OutgoingMessage } from "../mail/transport.js";
import { assertMayControl } from "./support/authority.js";
import type { UseCaseDeps } from "./support/deps.js";
import type { ApproverDirectory } from "./support/ports.js";
import { renderRecipientMessage } from "./render-recipient-message.js";
import { recordAudit } from "../db/transition.js";

export interface TestSendInput {
  sendingId: string;
  recipientId: number;
  /** The approver's own address, from their Slack profile: the only place a test goes. */
  approverEmail: string;
  /** The Slack user asking. */
  actor: string;
}

export type TestSendResult =
  | { sent: true; to: string; recipientEmail: string; subject: string; messageId: string }
  | { sent: false; to: string; recipientEmail: string; reason: string; temporary: boolean };

export const TEST_SUBJECT_PREFIX = "[TEST] ";

const address = z.email();

/**
 * Sends one recipient's personalized message, exactly as the engine renders it, to the approver
 * alone, through the mailer real delivery uses. Three things differ, on purpose: the subject says
 * `[TEST]`; the Message-ID is its own, so the recipient's real message is never taken for a copy of
 * it; and there is no List-Unsubscribe header, whose one-click button in the approver's inbox would
 * unsubscribe the recipient. Audited whether or not the server accepted it.
 */
export async function sendTestMessage(
  deps: UseCaseDeps & { mailer: Mailer; approvers: ApproverDirectory; unsubscribeUrl?: string },
  input: TestSendInput,
): Promise<TestSendResult> {
  const to = input.approverEmail.trim();
  if (!address.safeParse(to).success) {
    throw new AppError("VALIDATION", `Your Slack profile's address "${to}" cannot receive a test; add an email address to your profile.`);
  }
  await assertMayControl(deps, input.sendingId, input.actor);
  const { sendingId, recipient, message } = await renderRecipientMessage(
    deps.db,
    { sendingId: input.sendingId, recipientId: input.recipientId },
    { unsubscribeUrl: deps.unsubscribeUrl },
  );

  const test: OutgoingMessage = {
    ...message,
    to,
    subject: `${TEST_SUBJECT_PREFIX}${message.subject}`,
    messageId: message.messageId.replace(/@/, `.test-${randomBytes(6).toString("hex")}@`),
    headers: {},
  };
  const outcome = await deps.mailer.send(test);

  const details = { recipientId: recipient.id, recipientEmail: recipient.email, to, messageId: test.messageId };
  await deps.db.prisma.$transaction((tx) =>
    outcome.accepted
      ? recordAudit(tx, sendingId, { actor: input.actor, action: "test-sent", details })
      : recordAudit(tx, sendingId, { actor: input.actor, action: "test-failed", reason: outcome.reason, details }),
  );
  if (!outcome.accepted) {
    deps.log.warn({ sendingId, recipientId: recipient.id, to, reason: outcome.reason }, "test message refused");
    return { sent: false, to, recipientEmail: recipient.email, reason: outcome.reason, temporary: outcome.temporary };
  }
  deps.log.info({ sendingId, recipientId: recipient.id, to, actor: input.actor }, "test message sent");
  return { sent: true, to, recipientEmail: recipient.email, subject: test.subject, messageId: test.messageId };
}
