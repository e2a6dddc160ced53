import type { Database } from "../db/database.js";
import { AppError } from "../domain/errors.js";
import { compileSending, templateVariables, type RenderedMessage } from "../mail/templates.js";

export interface RecipientPreview {
  sendingId: string;
  recipientId: number;
  /** 1-based position in the list, and the list's length. */
  position: number;
  total: number;
  from: { name: string | null; email: string };
  to: string;
  replyTo: string | null;
  message: RenderedMessage;
  filledVariables: string[];
  missingVariables: string[];
  previousId: number | null;
  nextId: number | null;
}

/**
 * Renders the message exactly as one recipient will get it. Steps by recipient id, so moving
 * through a list of a million stays an index lookup.
 */
export async function previewRecipient(
  db: Database,
  input: { sendingId: string; recipientId?: number },
): Promise<RecipientPreview> {
  const sending = await db.prisma.sending.findUnique({ where: { id: input.sendingId } });
  if (!sending) throw new AppError("NOT_FOUND", `Sending ${input.sendingId} does not exist.`);
  const recipients = db.prisma.recipient;
  const recipient = await recipients.findFirst({
    where: { sendingId: sending.id, ...(input.recipientId ? { id: input.recipientId } : {}) },
    orderBy: { id: "asc" },
  });
  if (!recipient) throw new AppError("NOT_FOUND", "This sending has no recipients to preview.");
  const [previous, next, before, total] = await Promise.all([
    recipients.findFirst({ where: { sendingId: sending.id, id: { lt: recipient.id } }, orderBy: { id: "desc" }, select: { id: true } }),
    recipients.findFirst({ where: { sendingId: sending.id, id: { gt: recipient.id } }, orderBy: { id: "asc" }, select: { id: true } }),
    recipients.count({ where: { sendingId: sending.id, id: { lt: recipient.id } } }),
    recipients.count({ where: { sendingId: sending.id } }),
  ]);
  const vars = parseVars(recipient.vars);
  const context: Record<string, unknown> & { email: string } = { email: recipient.email, ...vars };
  const used = templateVariables(sending);
  const isFilled = (name: string) => context[name] !== undefined && context[name] !== null && context[name] !== "";
  return {
    sendingId: sending.id,
    recipientId: recipient.id,
    position: before + 1,
    total,
    from: { name: sending.fromName, email: sending.fromEmail },
    to: recipient.email,
    replyTo: sending.replyTo,
    message: compileSending(sending).render(context),
    filledVariables: used.filter(isFilled),
    missingVariables: used.filter((name) => !isFilled(name)),
    previousId: previous?.id ?? null,
    nextId: next?.id ?? null,
  };
}

function parseVars(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
