import { createRequire } from "node:module";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * Connections of our own beside Prisma's, for the paths where Prisma costs too much (the engine's
 * per-message statements, bulk uploads). Both follow the same rule: each write is one short
 * synchronous transaction, and while another connection holds the write lock we wait
 * asynchronously and try again. better-sqlite3's own busy timeout would wait synchronously,
 * blocking the event loop that the lock holder (often a Prisma transaction of this very process)
 * needs in order to finish.
 */

/** The slice of better-sqlite3 used here (it ships without types; it comes with Prisma's adapter). */
export interface SqliteStatement {
  run(...params: unknown[]): { changes: number };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

export interface SqliteConnection {
  prepare(sql: string): SqliteStatement;
  pragma(source: string): unknown;
  exec(sql: string): void;
  transaction<A extends unknown[], R>(fn: (...args: A) => R): ((...args: A) => R) & { immediate(...args: A): R };
  close(): void;
}

const requireFromAdapter = createRequire(createRequire(import.meta.url).resolve("@prisma/adapter-better-sqlite3"));

export interface SqliteConnectionOptions {
  /** Durable across a crash of the process, not a power cut: the engine's outcomes, where a lost one means a re-send with the same Message-ID. */
  synchronous?: "NORMAL" | "FULL";
}

/** Opens a connection in WAL mode with foreign keys on and no synchronous busy wait (see retryWhileBusy). */
export function openSqliteConnection(file: string, options: SqliteConnectionOptions = {}): SqliteConnection {
  if (file === ":memory:") throw new Error("A second connection needs a database file, not an in-memory SQLite database.");
  const BetterSqlite3 = requireFromAdapter("better-sqlite3") as new (file: string, options: { timeout: number }) => SqliteConnection;
  const connection = new BetterSqlite3(file, { timeout: 0 });
  connection.pragma("journal_mode = WAL");
  connection.pragma("foreign_keys = ON");
  if (options.synchronous) connection.pragma(`synchronous = ${options.synchronous}`);
  return connection;
}

const BUSY_GIVE_UP_MS = 30_000;

const isBusy = (error: unknown) => /^SQLITE_(BUSY|LOCKED)/.test((error as { code?: string }).code ?? "");

/** Runs a short synchronous statement or transaction, waiting asynchronously (1 ms doubling to 50 ms) while another connection holds the lock. */
export async function retryWhileBusy<R>(work: () => R): Promise<R> {
  const giveUpAt = Date.now() + BUSY_GIVE_UP_MS;
  for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
    try {
      return work();
    } catch (error) {
      if (!isBusy(error) || Date.now() > giveUpAt) throw error;
      await sleep(wait);
    }
  }
}

/** A date as Prisma stores DateTime in SQLite, so that text comparison orders correctly. */
export const sqliteDate = (date: Date) => date.toISOString().replace("Z", "+00:00");
