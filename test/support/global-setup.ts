import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { migrate } from "../../src/db/migrate.js";
import { adminUrl, databaseUrlFor, postgresUrl } from "./database-urls.js";

/**
 * Migrates one template database per provider; each test copies it instead of migrating again.
 * Names carry this run's pid so that test runs side by side never share or delete each other's.
 */
export default async function setup(project: TestProject) {
  const sqliteTemplate = join(tmpdir(), `sendgate-template-${process.pid}.db`);
  const templateDatabase = `sendgate_template_${process.pid}`;
  const tasks: Promise<unknown>[] = [migrate(`file:${sqliteTemplate}`)];
  const url = postgresUrl();
  if (url) {
    await adminQuery(url, `DROP DATABASE IF EXISTS "${templateDatabase}" WITH (FORCE)`);
    await adminQuery(url, `CREATE DATABASE "${templateDatabase}"`);
    tasks.push(migrate(databaseUrlFor(url, templateDatabase)));
  } else {
    console.warn("TEST_POSTGRES_URL is not set: PostgreSQL tests are SKIPPED (only SQLite runs).");
  }
  await Promise.all(tasks);
  project.provide("postgresEnabled", Boolean(url));
  project.provide("sqliteTemplate", sqliteTemplate);
  project.provide("postgresTemplate", templateDatabase);

  return async () => {
    for (const suffix of ["", "-wal", "-shm"]) rmSync(sqliteTemplate + suffix, { force: true });
    if (url) await adminQuery(url, `DROP DATABASE IF EXISTS "${templateDatabase}" WITH (FORCE)`);
  };
}

async function adminQuery(url: string, sql: string) {
  const admin = new pg.Client({ connectionString: adminUrl(url) });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

declare module "vitest" {
  export interface ProvidedContext {
    postgresEnabled: boolean;
    sqliteTemplate: string;
    postgresTemplate: string;
  }
}
