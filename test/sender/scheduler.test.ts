import { afterEach, beforeEach, expect, it, vi } from "vitest";
import type { SenderEngine } from "../../src/sender/engine.js";
import { startSenderLoop } from "../../src/sender/scheduler.js";
import { silentLog } from "./support/fixtures.js";

// Time is faked: the cron schedule, the slow ticks and the waits below run in virtual seconds.
beforeEach(() => {
  vi.useFakeTimers({ now: new Date("2026-11-28T10:00:00.250Z") });
});
afterEach(() => {
  vi.useRealTimers();
});

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const elapse = (ms: number) => vi.advanceTimersByTimeAsync(ms);

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
  await elapse(3_600);
  // Every second is due, but a tick takes 1.5 s: the ones due while it runs are skipped.
  expect(state.ticks).toBeGreaterThanOrEqual(1);
  expect(state.ticks).toBeLessThanOrEqual(2);
  expect(state.mostAtOnce).toBe(1);
  const stopping = stop();
  await elapse(2_000);
  await stopping;
  expect(state.stopped).toBe(true);
  const ticks = state.ticks;
  await elapse(5_000);
  expect(state.ticks).toBe(ticks);
});

it("refuses an invalid cron expression", () => {
  expect(() => startSenderLoop(slowEngine(0).engine, "every five seconds", silentLog)).toThrow(/SENDER_CRON/);
});
