import cron from "node-cron";
import type { Logger } from "pino";
import type { SenderEngine } from "./engine.js";

/**
 * Runs the engine's tick on the cron expression (SENDER_CRON); ticks never overlap. Returns the
 * graceful stop: no further ticks, then the engine finishes the messages in hand and releases its leases.
 */
export function startSenderLoop(engine: SenderEngine, expression: string, log: Logger): () => Promise<void> {
  if (!cron.validate(expression)) throw new Error(`SENDER_CRON "${expression}" is not a valid cron expression`);
  const task = cron.schedule(
    expression,
    async () => {
      try {
        const report = await engine.tick();
        if (report.delivering.length || report.lateLaunches.length) log.debug(report, "sender tick");
      } catch (error) {
        log.error({ err: error }, "sender tick failed");
      }
    },
    {
      name: "sendgate-sender",
      noOverlap: true,
      logger: {
        info: (message) => log.debug(message),
        warn: (message) => log.warn(message),
        error: (message, err) => log.error({ err: err ?? message }, "sender schedule error"),
        debug: (message) => log.trace(String(message)),
      },
    },
  );
  log.info({ cron: expression, owner: engine.owner }, "sender loop started");
  let stopped: Promise<void> | undefined;
  return () =>
    (stopped ??= (async () => {
      await task.destroy();
      await engine.stop();
    })());
}
