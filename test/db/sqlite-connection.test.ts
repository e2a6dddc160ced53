import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it, describe } from "vitest";
import { openSqliteConnection, retryWhileBusy, sqliteDate, type SqliteConnection } from "../../src/db/sqlite-connection.js";

describe("the SQLite connection helper", () => {
  let dir: string;
  let holder: SqliteConnection;
  let writer: SqliteConnection;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "sendgate-sqlite-"));
    holder = openSqliteConnection(join(dir, "db.sqlite"));
    holder.exec("CREATE TABLE t (n INTEGER)");
    writer = openSqliteConnection(join(dir, "db.sqlite"));
  });
  afterEach(() => {
    holder.close();
    writer.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("opens in WAL mode with foreign keys on", () => {
    expect(writer.pragma("journal_mode")).toEqual([{ journal_mode: "wal" }]);
    expect(writer.pragma("foreign_keys")).toEqual([{ foreign_keys: 1 }]);
  });

  it("waits asynchronously while another connection holds the write lock, then writes", async () => {
    holder.exec("BEGIN IMMEDIATE");
    const insert = writer.prepare("INSERT INTO t (n) VALUES (1)");
    let ticks = 0;
    const ticking = setInterval(() => ticks++, 1);
    const written = retryWhileBusy(() => insert.run().changes);
    // The event loop keeps turning while the write waits: the lock holder can finish.
    await new Promise((resolve) => setTimeout(resolve, 30));
    holder.exec("COMMIT");
    expect(await written).toBe(1);
    clearInterval(ticking);
    // Any turn at all proves it (how many depends on the machine's load, so none is counted on).
    expect(ticks).toBeGreaterThan(0);
    expect(holder.prepare("SELECT count(*) AS n FROM t").get()).toEqual({ n: 1 });
  });

  it("passes on an error that is not a busy database at once", async () => {
    await expect(retryWhileBusy(() => writer.prepare("INSERT INTO missing (n) VALUES (1)").run())).rejects.toThrow(/no such table/);
  });

  it("stores dates as Prisma does, so that text order is time order", () => {
    expect(sqliteDate(new Date("2026-11-28T10:00:00.000Z"))).toBe("2026-11-28T10:00:00.000+00:00");
  });
});
