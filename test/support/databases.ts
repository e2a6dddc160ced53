import { copyFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { describe, inject } from "vitest";
import { openDatabase, type Database } from "../../src/db/database.js";
import type { Provider } from "../../src/db/provider.js";
import { adminUrl, databaseUrlFor, postgresUrl } from "./database-urls.js";

export interface TestDatabase extends Database {
  /** Closes the client and deletes the database. */
  destroy(): Promise<void>;
}

/** A fresh, migrated database of its own for one test file or test. */
export async function createTestDatabase(provider: Provider): Promise<TestDatabase> {
  const name = `sendgate_t_${process.pid}_${randomBytes(4).toString("hex")}`;
  if (provider === "sqlite") {
    const file = join(tmpdir(), `${name}.db`);
    copyFileSync(inject("sqliteTemplate"), file);
    const db = await openDatabase(`file:${file}`);
    return {
      ...db,
      async destroy() {
        await db.close();
        for (const suffix of ["", "-wal", "-shm"]) rmSync(file + suffix, { force: true });
      },
    };
  }
  const base = postgresUrl();
  if (!base) throw new Error("TEST_POSTGRES_URL is not set");
  await adminQuery(base, `CREATE DATABASE "${name}" TEMPLATE "${inject("postgresTemplate")}"`);
  const db = await openDatabase(databaseUrlFor(base, name));
  return {
    ...db,
    async destroy() {
      await db.close();
      await adminQuery(base, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

async function adminQuery(base: string, sql: string) {
  const client = new pg.Client({ connectionString: adminUrl(base) });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** The providers this run tests against; PostgreSQL only when TEST_POSTGRES_URL is set (the run says so). */
export function testedProviders(): Provider[] {
  return inject("postgresEnabled") ? ["sqlite", "postgresql"] : ["sqlite"];
}

/** Runs a suite once per tested provider. */
export function describeEachDatabase(name: string, suite: (provider: Provider) => void) {
  for (const provider of testedProviders()) describe(`${name} [${provider}]`, () => suite(provider));
  if (!inject("postgresEnabled")) describe.skip(`${name} [postgresql] (TEST_POSTGRES_URL not set)`, () => suite("postgresql"));
}
