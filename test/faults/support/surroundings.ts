import { afterAll, beforeAll } from "vitest";
import { startStandin, type RunningStandin } from "../../support/slack-api.js";
import { createFaultDatabase, type FaultDatabase } from "./databases.js";
import { startFaultSink, type FaultSink } from "./fault-sink.js";
import type { SendgateProcess } from "./sendgate-process.js";

/** What a case runs sendgate against: its own database, a mail server that keeps every copy, and Slack's stand-in. */
export interface CaseSurroundings {
  db: FaultDatabase;
  sink: FaultSink;
  slack: RunningStandin;
  /** The sendgate processes the case starts: killed after it, whatever state it left them in. */
  processes: SendgateProcess[];
}

/**
 * Makes a case's surroundings before its tests and ends them after: processes first, then the sink and
 * Slack, then `beforeDestroy` (e.g. a cluster the case stopped, started again), then the database.
 */
export function useCaseSurroundings(provider: "sqlite" | "postgresql", options: { beforeDestroy?: () => Promise<unknown> } = {}): CaseSurroundings {
  const surroundings = { processes: [] as SendgateProcess[] } as CaseSurroundings;
  beforeAll(async () => {
    surroundings.db = await createFaultDatabase(provider);
    surroundings.sink = await startFaultSink();
    surroundings.slack = await startStandin();
  });
  afterAll(async () => {
    for (const process of surroundings.processes) await process.kill();
    await surroundings.sink?.close();
    await surroundings.slack?.close();
    await options.beforeDestroy?.();
    await surroundings.db?.destroy();
  });
  return surroundings;
}
