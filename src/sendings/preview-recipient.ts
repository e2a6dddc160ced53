import { AppError } from "../domain/errors.js";
import { parseVars } from "../mail/message.js";
import type { Database } from "../db/database.js";
import type { RenderedMessage } from "../mail/templates.js";
import { parseVariablePath, readPath } from "../mail/variable-paths.js";
import { assertMayControlSending } from "./support/authority.js";
import { createBoundedCache, sharedDerivation } from "./support/bounded-cache.js";
import { compiledContent } from "./support/compiled-content.js";
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

/** Previews kept ready: a card's first recipient and the ones people step to; about 20 KB each. */
const PREVIEW_LIMIT = 256;
const previews = createBoundedCache<string, Promise<RecipientPreview>>(PREVIEW_LIMIT);

/**
 * Renders the message exactly as one recipient will get it. Steps through the list in address order
 * along the (sendingId, email) index, so moving through a list of a million stays an index lookup.
 *
 * Each click reads only who may look and the sending's content hash (once for clicks whose work
 * starts together); the preview itself is rendered once per content hash and recipient, however
 * many people open it at the same moment. The hash
 * covers the templates, the sender and every recipient (recipients are only ever appended, and each
 * append changes it), so a kept preview always shows what the sending holds now.
 */
export async function previewRecipient(
  deps: Pick<ControlDeps, "db" | "approvers">,
  input: { sendingId: string; userId: string; recipientId?: number },
): Promise<RecipientPreview> {
  const { db } = deps;
  const current = await revisionForClicksStartedTogether(db, input.sendingId);
  if (!current) throw new AppError("NOT_FOUND", `Sending ${input.sendingId} does not exist.`);
  await assertMayControlSending(deps.approvers, current, input.userId);
  const key = `${input.sendingId}:${current.contentHash}:${input.recipientId ?? "first"}`;
  return sharedDerivation(previews, key, async () => {
    const rendered = await renderPreview(db, input.sendingId, input.recipientId);
    // Content changed while it was rendered: the preview is of newer content; it is shown, not kept under the older hash.
    const after = await currentHash(db, input.sendingId);
    if (rendered.contentHash !== current.contentHash || after?.contentHash !== current.contentHash) previews.delete(key);
    return rendered.preview;
  });
}

type Revision = { requestedBy: string; contentHash: string } | undefined;
const readsInProgress = new WeakMap<Database, Map<string, Promise<Revision>>>();

/**
 * The sending's revision, read once for the clicks whose work starts together: the work after the
 * acknowledgements of a burst starts in batches, each in one synchronous stretch, and the read is
 * shared only within that stretch. Every click of the batch had arrived before the read was issued,
 * so it sees every change made before any of them; any later call reads again.
 */
function revisionForClicksStartedTogether(db: Database, sendingId: string): Promise<Revision> {
  let reads = readsInProgress.get(db);
  if (!reads) readsInProgress.set(db, (reads = new Map()));
  const known = reads.get(sendingId);
  if (known) return known;
  const read = currentHash(db, sendingId);
  reads.set(sendingId, read);
  const stretch = reads;
  // Microtasks run as soon as the synchronous stretch ends: nothing that starts after it shares this read.
  queueMicrotask(() => stretch.delete(sendingId));
  return read;
}

/** A plain read: through Prisma's query compiler the same row costs several times the CPU, on every click. */
async function currentHash(db: Database, sendingId: string): Promise<Revision> {
  const p = placeholders(db);
  const [row] = await db.prisma.$queryRawUnsafe<{ requestedBy: string; contentHash: string }[]>(
    `SELECT "requestedBy", "contentHash" FROM "Sending" WHERE "id" = ${p()}`,
    sendingId,
  );
  return row;
}

async function renderPreview(db: Database, sendingId: string, recipientId: number | undefined): Promise<{ preview: RecipientPreview; contentHash: string }> {
  const sending = await db.prisma.sending.findUnique({ where: { id: sendingId } });
  if (!sending) throw new AppError("NOT_FOUND", `Sending ${sendingId} does not exist.`);
  const p = placeholders(db);
  type Row = { id: number; email: string; vars: string };
  const [recipient] = recipientId
    ? await db.prisma.recipient.findMany({ where: { id: recipientId, sendingId: sending.id }, select: { id: true, email: true, vars: true } })
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
  const { compiled, variables } = compiledContent(sending);
  const message = Object.freeze(compiled.render(context));
  const readings = variables.map((path) => ({ path, ...readPath(context, parseVariablePath(path)) }));
  const preview: RecipientPreview = Object.freeze({
    sendingId: sending.id,
    recipientId: Number(recipient.id),
    position: before + 1,
    total: sending.recipientCount,
    from: Object.freeze({ name: sending.fromName, email: sending.fromEmail }),
    to: recipient.email,
    replyTo: sending.replyTo,
    message,
    filledVariables: Object.freeze(readings.filter((r) => r.present && !r.missing).map((r) => r.path)) as string[],
    missingVariables: Object.freeze(readings.filter((r) => r.missing).map((r) => r.path)) as string[],
    previousId: previous ? Number(previous.id) : null,
    nextId: next ? Number(next.id) : null,
  });
  return { preview, contentHash: sending.contentHash };
}
