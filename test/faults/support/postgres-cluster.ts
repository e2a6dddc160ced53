import { execFile } from "node:child_process";
import { chownSync, chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const VERSION = "15";
const PREFIX = "faults_";
/** The migrated database each case copies (CREATE DATABASE … TEMPLATE). */
export const TEMPLATE_DATABASE = "sendgate_faults_template";

/**
 * A PostgreSQL cluster of the fault suite's own (Debian's postgresql-common), with its data in a
 * temporary directory: the suite restarts it at will, and no other database is ever touched.
 */
export interface OwnCluster {
  name: string;
  port: number;
  /** postgresql://postgres@127.0.0.1:<port>/<database> */
  urlFor(database: string): string;
  start(): Promise<void>;
  /** `pg_ctlcluster restart -m fast`: every connection is cut, the server is back when this resolves. */
  restart(): Promise<void>;
  drop(): Promise<void>;
}

/** Clusters of earlier runs whose process is gone (a run killed before its teardown): dropped, so the port is free. */
async function dropStaleClusters() {
  const configs = `/etc/postgresql/${VERSION}`;
  if (!existsSync(configs)) return;
  for (const name of readdirSync(configs).filter((entry) => entry.startsWith(PREFIX))) {
    const pid = Number(name.slice(PREFIX.length));
    if (Number.isInteger(pid) && isAlive(pid)) continue;
    await run("pg_dropcluster", ["--stop", VERSION, name]).catch(() => undefined);
  }
}

function isAlive(pid: number) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function createOwnCluster(port: number): Promise<OwnCluster> {
  await dropStaleClusters();
  const name = `${PREFIX}${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), "sendgate-faults-pg-"));
  // initdb runs as the postgres user, which must own the data directory's parent.
  chmodSync(dir, 0o755);
  const { uid, gid } = await postgresUser();
  chownSync(dir, uid, gid);
  await run("pg_createcluster", [VERSION, name, "--port", String(port), "-d", join(dir, "data"), "--", "--auth=trust"]);
  const cluster = ownCluster(name, port, dir);
  try {
    await cluster.start();
  } catch (error) {
    await cluster.drop();
    throw error;
  }
  return cluster;
}

/** The suite's cluster by name, from a test file (the global setup created it). */
export function ownCluster(name: string, port: number, dir?: string): OwnCluster {
  // As .ci/run starts the main cluster: straight to pg_ctl, never through systemd, whose unit would not know a cluster in /tmp.
  const ctl = (...args: string[]) => run("pg_ctlcluster", ["--skip-systemctl-redirect", VERSION, name, ...args]);
  return {
    name,
    port,
    urlFor: (database) => `postgresql://postgres@127.0.0.1:${port}/${database}`,
    start: async () => void (await ctl("start")),
    restart: async () => void (await ctl("restart", "-m", "fast")),
    async drop() {
      await run("pg_dropcluster", ["--stop", VERSION, name]).catch(() => undefined);
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function postgresUser() {
  const { stdout: uid } = await run("id", ["-u", "postgres"]);
  const { stdout: gid } = await run("id", ["-g", "postgres"]);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

/** Why this machine cannot run the suite's own cluster, or undefined when it can. */
export async function clusterUnavailable(port: number): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return "the fault suite creates a PostgreSQL cluster of its own with pg_createcluster, which needs root (CI runs as root)";
  if (!existsSync("/usr/bin/pg_createcluster")) return "pg_createcluster is not installed (Debian's postgresql-common)";
  const { stdout } = await run("pg_lsclusters", ["--no-header"]).catch(() => ({ stdout: "" }));
  const stale = (name = "") => name.startsWith(PREFIX) && !isAlive(Number(name.slice(PREFIX.length)));
  const taken = stdout
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .find((fields) => fields[2] === String(port) && !stale(fields[1]));
  if (taken) return `port ${port} belongs to the cluster ${taken[0]}/${taken[1]}; set FAULTS_POSTGRES_PORT to a free port`;
  return undefined;
}
