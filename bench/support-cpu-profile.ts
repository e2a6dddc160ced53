// A .cpuprofile of this process's main thread (Chrome DevTools, speedscope), from the call to stop(file):
// the benches that take BENCH_CPU_PROF=<dir> profile only the part they measure.
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";

export async function startCpuProfile(intervalMicros = 200): Promise<{ stop(file: string): Promise<string> }> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: intervalMicros });
  await session.post("Profiler.start");
  return {
    /** Stops the profile and writes it to `file`; returns `file`. */
    async stop(file: string) {
      const { profile } = await session.post("Profiler.stop");
      session.disconnect();
      writeFileSync(file, JSON.stringify(profile));
      return file;
    },
  };
}
