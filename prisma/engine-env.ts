// The JS engine path runs Prisma's WASM engines; without these the CLI still tries to download
// native engines it never uses, which fails on machines without internet access.
import { fileURLToPath } from "node:url";

const placeholder = fileURLToPath(new URL("./engine-placeholder", import.meta.url));
process.env.PRISMA_QUERY_ENGINE_LIBRARY ??= placeholder;
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= placeholder;

export function databaseUrl(): string {
  return process.env.DATABASE_URL ?? "file:./data/sendgate.db";
}
