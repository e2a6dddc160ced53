import { rmSync } from "node:fs";
import type { TestProject } from "vitest/node";
import { migrate } from "../../src/db/migrate.js";
import { SQLITE_TEMPLATE, TEMPLATE_DATABASE, adminUrl, databaseUrlFor, postgresUrl } from "./database-urls.js";
import pg from "pg";

/** Migrates one template database per provider; each test copies it instead of migrating again. */
export default async function setup(project: TestProject) {
  rmSync(SQLITE_TEMPLATE, { force: true });
  const tasks: Promise<unknown>[] = [migrate(`file:${SQLITE_TEMPLATE}`)];
  const url = postgresUrl();
  if (url) {
    const admin = new pg.Client({ connectionString: adminUrl(url) });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${TEMPLATE_DATABASE}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${TEMPLATE_DATABASE}"`);
    await admin.end();
    tasks.push(migrate(databaseUrlFor(url, TEMPLATE_DATABASE)));
  } else {
    console.warn("TEST_POSTGRES_URL is not set: PostgreSQL tests are SKIPPED (only SQLite runs).");
  }
  await Promise.all(tasks);
  project.provide("postgresEnabled", Boolean(url));
}

declare module "vitest" {
  export interface ProvidedContext {
    postgresEnabled: boolean;
  }
}
