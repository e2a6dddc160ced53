import { randomBytes } from "node:crypto";
import { copyFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { inject } from "vitest";
import { openDatabase, type Database } from "../../../src/db/database.js";
import { ownCluster, TEMPLATE_DATABASE, type OwnCluster } from "./postgres-cluster.js";

export interface FaultDatabase extends Database {
  /** Closes the test's client and deletes the database. */
  destroy(): Promise<void>;
}

/** The suite's own PostgreSQL cluster, which a case may restart. */
export function suiteCluster(): OwnCluster {
  const { name, port } = inject("faultsCluster");
  return ownCluster(name, port);
}

/** A fresh, migrated database for one case: a SQLite file, or a database in the suite's own cluster. */
export async function createFaultDatabase(provider: "sqlite" | "postgresql"): Promise<FaultDatabase> {
  const name = `sendgate_f_${process.pid}_${randomBytes(4).toString("hex")}`;
  if (provider === "sqlite") {
    const file = join(tmpdir(), `${name}.db`);
    copyFileSync(inject("faultsSqliteTemplate"), file);
    const db = await openDatabase(`file:${file}`);
    return {
      ...db,
      async destroy() {
        await db.close();
        for (const suffix of ["", "-wal", "-shm"]) rmSync(file + suffix, { force: true });
      },
    };
  }
  const cluster = suiteCluster();
  await adminQuery(cluster, `CREATE DATABASE "${name}" TEMPLATE "${TEMPLATE_DATABASE}"`);
  const db = await openDatabase(cluster.urlFor(name));
  return {
    ...db,
    async destroy() {
      await db.close();
      await adminQuery(cluster, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

async function adminQuery(cluster: OwnCluster, sql: string) {
  const client = new pg.Client({ connectionString: cluster.urlFor("postgres") });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
