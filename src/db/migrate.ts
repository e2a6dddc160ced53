import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { providerOf } from "./provider.js";

const run = promisify(execFile);
const prismaCli = createRequire(import.meta.url).resolve("prisma/build/index.js");
const root = fileURLToPath(new URL("../../", import.meta.url));

/** Applies pending migrations with Prisma's own `migrate deploy`, for the provider the URL names. */
export async function migrate(databaseUrl: string): Promise<string> {
  const config = `prisma/${providerOf(databaseUrl)}.config.ts`;
  try {
    const { stdout } = await run(process.execPath, [prismaCli, "migrate", "deploy", "--config", config], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: databaseUrl, CHECKPOINT_DISABLE: "1", PRISMA_HIDE_UPDATE_MESSAGE: "1" },
    });
    return stdout;
  } catch (error) {
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    throw new Error(`database migration failed:\n${stderr || stdout}`, { cause: error });
  }
}
