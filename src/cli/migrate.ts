// Applies pending migrations to DATABASE_URL before start (`npm run db:deploy`, run by `npm start`).
import { existsSync } from "node:fs";
import { migrate } from "../db/migrate.js";
import { providerOf } from "../db/provider.js";

// The same .env the service reads, so both agree on which database to migrate.
if (existsSync(".env")) process.loadEnvFile(".env");
const url = process.env.DATABASE_URL || "file:./data/sendgate.db";
try {
  const output = await migrate(url);
  console.log(`sendgate: migrating the ${providerOf(url)} database`);
  // Prisma's preamble (config, datasource, a warning about the url the adapter replaces) says nothing here.
  const lines = output.split("\n").filter((line) => line.trim());
  const from = lines.findIndex((line) => /migrations? found|No migration found/i.test(line));
  console.log(lines.slice(Math.max(from, 0)).join("\n"));
} catch (error) {
  console.error((error as Error).message);
  process.exitCode = 1;
}
