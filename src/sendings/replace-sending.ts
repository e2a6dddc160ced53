import { editable } from "../domain/sending-status.js";
import { readSending } from "./get-sending.js";
import { apiActor, commitContentChange, notEditableIn } from "./support/content-change.js";
import type { SendingAnalyzer } from "./support/current-analysis.js";
import type { UseCaseDeps } from "./support/deps.js";
import { analysisAfterCommit, invalidRepresentation, sendingRepresentationSchema } from "./support/sending-representation.js";
import type { UpdateResult } from "./update-sending.js";

export interface ReplaceInput {
  sendingId: string;
  /** The request body: the sending as GET returns it, whole (see sendingRepresentationSchema). */
  representation: unknown;
  /** The name of the API token the request came with. */
  tokenName: string;
}

/**
 * Replaces a sending's content with the representation sent (`PUT /api/sendings/:id`), only before
 * delivery: what GET returned, edited and sent back. Optional fields left out are removed; read-only
 * fields must be unchanged. The same change as PATCH from there on (see commitContentChange).
 */
export async function replaceSending(deps: UseCaseDeps & { analyzer: SendingAnalyzer }, input: ReplaceInput): Promise<UpdateResult> {
  const { stored: sending, state } = await readSending(deps, input.sendingId);
  const parsed = sendingRepresentationSchema(() => deps.clock.now(), state).safeParse(input.representation);
  if (!parsed.success) throw invalidRepresentation(parsed.error);
  if (!editable.includes(sending.status)) throw notEditableIn(sending.status);
  const { revision, changedBy } = parsed.data;

  const via = apiActor(input.tokenName);
  const result = await commitContentChange(deps, sending, revision, { actor: changedBy ?? via, via });
  return { ...result, analysis: await analysisAfterCommit(deps, sending.id) };
}
