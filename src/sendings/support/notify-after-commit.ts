import type { UseCaseDeps } from "./deps.js";
import type { SendingEvent } from "./ports.js";

/**
 * Tells the outside world (Slack, the log) about a change that has committed. A failure there is
 * logged and never undoes or blocks what was decided: the notifier posts what is missing later.
 */
export async function notifyAfterCommit(deps: Pick<UseCaseDeps, "notifier" | "log">, sendingId: string, event: SendingEvent): Promise<void> {
  await deps.notifier
    .sendingChanged(sendingId, event)
    .catch((error) => deps.log.error({ err: error, sendingId, event: event.kind }, "telling Slack about a change failed"));
}
