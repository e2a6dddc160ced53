import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { migrate } from "../../../src/db/migrate.js";
import { formatTable, RESULTS_DIR, ROWS_FILE, type CaseRow } from "./figures.js";
import { clusterUnavailable, createOwnCluster, TEMPLATE_DATABASE } from "./postgres-cluster.js";

/**
 * The fault suite's ground: a migrated SQLite template, and a PostgreSQL cluster of its own (port
 * FAULTS_POSTGRES_PORT, 5433 by default) with a migrated template database. At the end it prints the
 * table of every case's figures and writes it to test-results/faults/table.md.
 */
export default async function setup(project: TestProject) {
  const started = Date.now();
  rmSync(ROWS_FILE, { force: true });
  mkdirSync(RESULTS_DIR, { recursive: true });
  const port = Number(process.env.FAULTS_POSTGRES_PORT ?? 5433);
  const unavailable = await clusterUnavailable(port);
  if (unavailable) throw new Error(`The fault suite cannot run here: ${unavailable}.`);

  const sqliteTemplate = join(tmpdir(), `sendgate-faults-template-${process.pid}.db`);
  const cluster = await createOwnCluster(port);
  try {
    const admin = new pg.Client({ connectionString: cluster.urlFor("postgres") });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${TEMPLATE_DATABASE}"`);
    await admin.end();
    await Promise.all([migrate(`file:${sqliteTemplate}`), migrate(cluster.urlFor(TEMPLATE_DATABASE))]);
  } catch (error) {
    await cluster.drop();
    throw error;
  }
  project.provide("faultsSqliteTemplate", sqliteTemplate);
  project.provide("faultsCluster", { name: cluster.name, port: cluster.port });

  return async () => {
    await cluster.drop();
    for (const suffix of ["", "-wal", "-shm"]) rmSync(sqliteTemplate + suffix, { force: true });
    const rows: CaseRow[] = existsSync(ROWS_FILE)
      ? readFileSync(ROWS_FILE, "utf8")
          .split("\n")
          .filter(Boolean)
          .map((line) => JSON.parse(line) as CaseRow)
      : [];
    const minutes = ((Date.now() - started) / 60_000).toFixed(1);
    const machine = `${cpus().length} cores (${cpus()[0]?.model.trim() ?? "unknown CPU"}), Node ${process.version}`;
    const heading = `Fault suite, ${new Date().toISOString().slice(0, 10)}, ${machine}, ${minutes} min in all`;
    const table = formatTable(rows);
    const notes = rows.filter((row) => row.notes).map((row) => `- ${row.case}: ${row.notes}`);
    writeFileSync(join(RESULTS_DIR, "table.md"), `${heading}\n\n${table}\n\n${notes.join("\n")}\n`);
    console.log(`\n${heading}\n\n${table}\n\n${notes.join("\n")}\n`);
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    faultsSqliteTemplate: string;
    faultsCluster: { name: string; port: number };
  }
}
