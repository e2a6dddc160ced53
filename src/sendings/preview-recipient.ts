import { AppError } from "../domain/errors.js";
import { parseVars } from "../mail/message.js";
import { compileSending, templateVariables, type RenderedMessage } from "../mail/templates.js";
import { parseVariablePath, readPath } from "../mail/variable-paths.js";
import { assertMayControl } from "./support/authority.js";
import type { ControlDeps } from "./support/deps.js";
import { placeholders, queryAlongIndex } from "./support/index-walk.js";

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
  /**
   * The paths the template reads (`firstName`, `picks[].title`) that this recipient's message fills,
   * and those it leaves empty (for a list item's path: any item lacks it). A path through a list the
   * recipient has no items in is in neither: nothing is repeated.
   */
  filledVariables: string[];
  missingVariables: string[];
  previousId: number | null;
  nextId: number | null;
}

/**
 * Renders the message exactly as one recipient will get it. Steps through the list in address order
 * along the (sendingId, email) index, so moving through a list of a million stays an index lookup.
 */
export async function previewRecipient(
  deps: Pick<ControlDeps, "db" | "approvers">,
  input: { sendingId: string; userId: string; recipientId?: number },
): Promise<RecipientPreview> {
  await assertMayControl(deps, input.sendingId, input.userId);
  const { db } = deps;
  const sending = await db.prisma.sending.findUnique({ where: { id: input.sendingId } });
  if (!sending) throw new AppError("NOT_FOUND", `Sending ${input.sendingId} does not exist.`);
  const p = placeholders(db);
  type Row = { id: number; email: string; vars: string };
  const [recipient] = input.recipientId
    ? await db.prisma.recipient.findMany({ where: { id: input.recipientId, sendingId: sending.id }, select: { id: true, email: true, vars: true } })
    : await queryAlongIndex<Row>(db, `SELECT "id", "email", "vars" FROM "Recipient" WHERE "sendingId" = ${p()} ORDER BY "email" LIMIT 1`, [sending.id]);
  if (!recipient) throw new AppError("NOT_FOUND", "This sending has no such recipient to preview.");
  const neighbour = (direction: "<" | ">") => {
    const q = placeholders(db);
    return queryAlongIndex<{ id: number }>(
      db,
      `SELECT "id" FROM "Recipient" WHERE "sendingId" = ${q()} AND "email" ${direction} ${q()} ORDER BY "email" ${direction === "<" ? "DESC" : "ASC"} LIMIT 1`,
      [sending.id, recipient.email],
    );
  };
  const [[previous], [next], before] = await Promise.all([
    neighbour("<"),
    neighbour(">"),
    db.prisma.recipient.count({ where: { sendingId: sending.id, email: { lt: recipient.email } } }),
  ]);
  const context: Record<string, unknown> & { email: string } = { email: recipient.email, ...parseVars(recipient.vars) };
  const message = compileSending(sending).render(context);
  const readings = templateVariables(sending).map((path) => ({ path, ...readPath(context, parseVariablePath(path)) }));
  return {
    sendingId: sending.id,
    recipientId: recipient.id,
    position: before + 1,
    total: sending.recipientCount,
    from: { name: sending.fromName, email: sending.fromEmail },
    to: recipient.email,
    replyTo: sending.replyTo,
    message,
    filledVariables: readings.filter((r) => r.present && !r.missing).map((r) => r.path),
    missingVariables: readings.filter((r) => r.missing).map((r) => r.path),
    previousId: previous?.id ?? null,
    nextId: next?.id ?? null,
  };
}
