import { setTimeout as sleep } from "node:timers/promises";
import { expect, it } from "vitest";
import type { SenderEngine } from "../../src/sender/engine.js";
import { startSenderLoop } from "../../src/sender/scheduler.js";
import { silentLog } from "./support/fixtures.js";

function slowEngine(tickMs: number) {
  const state = { ticks: 0, running: 0, mostAtOnce: 0, stopped: false };
  const engine: SenderEngine = {
    owner: "test",
    async tick() {
      state.ticks++;
      state.running++;
      state.mostAtOnce = Math.max(state.mostAtOnce, state.running);
      await sleep(tickMs);
      state.running--;
      return { delivering: [], lateLaunches: [] };
    },
    idle: async () => {},
    async stop() {
      state.stopped = true;
    },
    delivering: () => [],
  };
  return { engine, state };
}

it("runs the tick on the cron schedule, never two at once, and stops the engine when stopped", async () => {
  const { engine, state } = slowEngine(1_500);
  const stop = startSenderLoop(engine, "* * * * * *", silentLog);
  await sleep(3_600);
  await stop();
  expect(state.ticks).toBeGreaterThanOrEqual(1);
  expect(state.ticks).toBeLessThanOrEqual(2);
  expect(state.mostAtOnce).toBe(1);
  expect(state.stopped).toBe(true);
  const ticks = state.ticks;
  await sleep(1_200);
  expect(state.ticks).toBe(ticks);
});

it("refuses an invalid cron expression", () => {
  expect(() => startSenderLoop(slowEngine(0).engine, "every five seconds", silentLog)).toThrow(/SENDER_CRON/);
});
