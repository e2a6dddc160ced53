// Loaded with --import into a process a bench starts (bench/clicks.ts, BENCH_CPU_PROF=<dir>): profiles
// its main thread between the bench's "profile-start" and "profile-stop" messages only, so that start-up
// and the set-up of the data stay out of the figures, and writes a .cpuprofile (Chrome DevTools, speedscope).
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { join } from "node:path";

const dir = process.env.BENCH_CPU_PROF;
const session = new Session();
session.connect();

process.on("message", (message: { type?: string; name?: string }) => {
  if (message.type === "profile-start") {
    void (async () => {
      await session.post("Profiler.enable");
      await session.post("Profiler.setSamplingInterval", { interval: 200 });
      await session.post("Profiler.start");
      process.send?.({ type: "profile-started" });
    })();
  }
  if (message.type === "profile-stop" && dir) {
    void (async () => {
      const { profile } = await session.post("Profiler.stop");
      const file = join(dir, `${message.name ?? "profile"}-${process.pid}.cpuprofile`);
      writeFileSync(file, JSON.stringify(profile));
      process.send?.({ type: "profile-written", file });
    })();
  }
});
