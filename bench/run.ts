// `npm run bench`: runs every bench/*.ts (except this runner and bench/support*) in turn, each in a
// process of its own so that one's memory and handles never colour the next one's figures.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const dir = fileURLToPath(new URL(".", import.meta.url));
const benches = readdirSync(dir)
  .filter((file) => file.endsWith(".ts") && file !== "run.ts" && !file.startsWith("support"))
  .sort();

let failed = 0;
for (const file of benches) {
  console.log(`\n=== bench/${file} ===`);
  const { status } = spawnSync(process.execPath, ["--import", "tsx", `${dir}${file}`], { stdio: "inherit" });
  if (status !== 0) {
    failed += 1;
    console.error(`bench/${file} failed (exit status ${status})`);
  }
}
process.exitCode = failed ? 1 : 0;
