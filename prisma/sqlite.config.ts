import "./engine-env.js";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { defineConfig } from "prisma/config";
import { databaseUrl } from "./engine-env.js";

export default defineConfig({
  experimental: { adapter: true },
  schema: "sqlite/schema.prisma",
  migrations: { path: "sqlite/migrations" },
  engine: "js",
  async adapter() {
    const url = databaseUrl();
    const file = url.replace(/^file:/, "");
    if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
    return new PrismaBetterSQLite3({ url });
  },
});
