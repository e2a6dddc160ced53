// Loaded with --import into a process a bench starts (bench/clicks.ts, BENCH_CPU_PROF=<dir>): profiles
// its main thread between the bench's "profile-start" and "profile-stop" messages only, so that start-up
// and the set-up of the data stay out of the figures, and writes a .cpuprofile (Chrome DevTools, speedscope).
import { join } from "node:path";
import { startCpuProfile } from "./support-cpu-profile.js";

const dir = process.env.BENCH_CPU_PROF;
let profiling: ReturnType<typeof startCpuProfile> | undefined;

process.on("message", (message: { type?: string; name?: string }) => {
  if (message.type === "profile-start") {
    void (async () => {
      profiling = startCpuProfile();
      await profiling;
      process.send?.({ type: "profile-started" });
    })();
  }
  if (message.type === "profile-stop" && dir && profiling) {
    const started = profiling;
    profiling = undefined;
    void (async () => {
      const file = await (await started).stop(join(dir, `${message.name ?? "profile"}-${process.pid}.cpuprofile`));
      process.send?.({ type: "profile-written", file });
    })();
  }
});
