import type { UseCaseDeps } from "./deps.js";
import type { SendingEvent } from "./ports.js";

/**
 * Wakes the telling of a change that has committed. The use case wrote the event to the outbox in
 * its transaction (recordOutboxMessage), so nothing here can lose it: a failure is logged, and the
 * outbox is delivered again until Slack takes it. It never undoes or blocks what was decided.
 */
export async function notifyAfterCommit(deps: Pick<UseCaseDeps, "notifier" | "log">, sendingId: string, event: SendingEvent): Promise<void> {
  await deps.notifier
    .sendingChanged(sendingId, event, { recorded: true })
    .catch((error) => deps.log.error({ err: error, sendingId, event: event.kind }, "telling Slack about a change failed"));
}
