// `npm run bench`: runs every bench/*.ts (except this runner and bench/support*) in turn, each in a
// process of its own so that one's memory and handles never colour the next one's figures.
// `npm run bench -- --quick`: every bench runs its reduced version (BENCH_QUICK=1), under two minutes in all.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const dir = fileURLToPath(new URL(".", import.meta.url));
const benches = readdirSync(dir)
  .filter((file) => file.endsWith(".ts") && file !== "run.ts" && !file.startsWith("support"))
  .sort();

const quick = process.argv.includes("--quick");
const only = process.argv.slice(2).filter((arg) => !arg.startsWith("--"));
const env = quick ? { ...process.env, BENCH_QUICK: "1" } : process.env;

let failed = 0;
for (const file of benches.filter((name) => only.length === 0 || only.some((wanted) => name.startsWith(wanted)))) {
  console.log(`\n=== bench/${file} ===`);
  const { status } = spawnSync(process.execPath, ["--import", "tsx", `${dir}${file}`], { stdio: "inherit", env });
  if (status !== 0) {
    failed += 1;
    console.error(`bench/${file} failed (exit status ${status})`);
  }
}
process.exitCode = failed ? 1 : 0;
