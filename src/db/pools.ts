import pg from "pg";

/**
 * A PostgreSQL pool for a path that bypasses Prisma (the engine's per-message statements, bulk
 * uploads). The composition root creates each one, so every connection the process holds is
 * counted in one place: Prisma's own pool, plus these.
 */
export function createPostgresPool(url: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, idleTimeoutMillis: 10_000, allowExitOnIdle: true });
  // An idle connection the server drops (restart, failover) must not crash the process; the next query reconnects.
  pool.on("error", () => {});
  return pool;
}
