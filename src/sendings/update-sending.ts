import { AppError } from "../domain/errors.js";
import { editable } from "../domain/sending-status.js";
import { apiActor, commitContentChange, notEditableIn, type ContentChangeResult, type SendingRevision } from "./support/content-change.js";
import type { SendingAnalyzer } from "./support/current-analysis.js";
import type { UseCaseDeps } from "./support/deps.js";
import { invalidInput, sendingChangeSchema } from "./support/sending-input.js";
import { SENDING_ID } from "./support/sending-id.js";
import { analysisAfterCommit, type AnalysisSummary } from "./support/sending-representation.js";

export interface UpdateResult extends ContentChangeResult {
  /** What the analysis finds in the content as it is now; null if it could not be made. */
  analysis: AnalysisSummary | null;
}

export interface UpdateInput {
  sendingId: string;
  /** The request body: any of the content fields, and optionally `changedBy`. */
  change: unknown;
  /** The name of the API token the request came with. */
  tokenName: string;
}

/**
 * Changes some of a sending's fields through the API (`PATCH /api/sendings/:id`), only before
 * delivery; the fields left out keep their value. The change is made by `changedBy` (a Slack user)
 * when the request names one, else by the API token (`api:<name>`).
 */
export async function updateSending(deps: UseCaseDeps & { analyzer: SendingAnalyzer }, input: UpdateInput): Promise<UpdateResult> {
  const { db, clock } = deps;
  const { sendingId } = input;
  const sending = SENDING_ID.test(sendingId) ? await db.prisma.sending.findUnique({ where: { id: sendingId } }) : null;
  if (!sending) throw new AppError("NOT_FOUND", `Sending ${sendingId} does not exist.`);
  const parsed = sendingChangeSchema(() => clock.now()).safeParse(input.change);
  if (!parsed.success) throw invalidInput(parsed.error, "change");
  if (!editable.includes(sending.status)) throw notEditableIn(sending.status);
  const change = parsed.data;

  const next: SendingRevision = {
    subject: change.subject ?? sending.subject,
    fromName: change.from ? (change.from.name ?? null) : sending.fromName,
    fromEmail: change.from?.email ?? sending.fromEmail,
    replyTo: change.replyTo === undefined ? sending.replyTo : change.replyTo,
    html: change.html ?? sending.html,
    text: change.text === undefined ? sending.text : change.text,
    name: change.name ?? sending.name,
    launchAt: change.launchAt ?? sending.launchAt,
  };
  const via = apiActor(input.tokenName);
  const result = await commitContentChange(deps, sending, next, { actor: change.changedBy ?? via, via });
  return { ...result, analysis: await analysisAfterCommit(deps, sendingId) };
}
