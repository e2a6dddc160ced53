import type { Database } from "../db/database.js";
import { AppError } from "../domain/errors.js";
import { compileSending } from "../mail/templates.js";
import type { OutgoingMessage } from "../mail/transport.js";
import { personalize } from "../mail/message.js";

export interface RecipientMessage {
  sendingId: string;
  recipient: { id: number; email: string };
  message: OutgoingMessage;
}

/**
 * One recipient's message exactly as the delivery engine builds it: through the engine's own
 * personalize(). The HTML preview and the test send go through here, so what an approver sees is
 * what the recipient gets.
 */
export async function renderRecipientMessage(
  db: Database,
  input: { sendingId: string; recipientId: number },
  settings: { unsubscribeUrl?: string } = {},
): Promise<RecipientMessage> {
  const sending = await db.prisma.sending.findUnique({
    where: { id: input.sendingId },
    select: { id: true, subject: true, html: true, text: true, fromName: true, fromEmail: true, replyTo: true },
  });
  if (!sending) throw new AppError("NOT_FOUND", `Sending ${input.sendingId} does not exist.`);
  const recipient = await db.prisma.recipient.findFirst({
    where: { id: input.recipientId, sendingId: sending.id },
    select: { id: true, email: true, vars: true },
  });
  if (!recipient) throw new AppError("NOT_FOUND", `Recipient ${input.recipientId} is not on sending ${sending.id}.`);

  const { id: sendingId, ...content } = sending;
  try {
    const compiled = compileSending(content);
    const message = personalize({ compiled, sendingId, content, recipient, unsubscribeUrl: settings.unsubscribeUrl });
    return { sendingId, recipient: { id: recipient.id, email: recipient.email }, message };
  } catch (error) {
    throw new AppError("VALIDATION", `The template does not render: ${(error as Error).message.split("\n")[0]}`);
  }
}
