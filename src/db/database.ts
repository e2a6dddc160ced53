import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient as PostgresClient } from "./generated/postgresql/client.js";
import { PrismaClient as SqliteClient } from "./generated/sqlite/client.js";
import { providerOf, sqliteFile, type Provider } from "./provider.js";
import { gatedAdapter, SqliteWriteGate } from "./sqlite-write-gate.js";

/** Both generated clients share one model definition, so one type describes them. */
export type Prisma = SqliteClient;
export type Tx = Parameters<Parameters<Prisma["$transaction"]>[0]>[0];

export interface Database {
  provider: Provider;
  url: string;
  prisma: Prisma;
  close(): Promise<void>;
  /** SQLite: held while a long upload is published, so that the client's writes wait for it without blocking the event loop. */
  writeGate?: SqliteWriteGate;
}

const SQLITE_BUSY_TIMEOUT_MS = 10_000;
const TRANSACTION_MAX_WAIT_MS = 60_000;

export async function openDatabase(url: string): Promise<Database> {
  const provider = providerOf(url);
  if (provider === "sqlite") {
    const file = sqliteFile(url);
    if (file !== ":memory:") mkdirSync(dirname(file), { recursive: true });
    const writeGate = new SqliteWriteGate();
    const prisma = new SqliteClient({
      adapter: gatedAdapter(new PrismaBetterSQLite3({ url, timeout: SQLITE_BUSY_TIMEOUT_MS }), writeGate),
      // A transaction may wait at the write gate while a long upload is published: seconds, without blocking.
      transactionOptions: { maxWait: TRANSACTION_MAX_WAIT_MS },
    });
    // WAL lets the bulk recipient writer and readers work beside the client without blocking each other.
    await prisma.$queryRawUnsafe("PRAGMA journal_mode = WAL");
    await prisma.$executeRawUnsafe("PRAGMA foreign_keys = ON");
    return { provider, url, prisma, writeGate, close: () => prisma.$disconnect() };
  }
  const prisma = new PostgresClient({ adapter: new PrismaPg({ connectionString: url }) }) as unknown as Prisma;
  return { provider, url, prisma, close: () => prisma.$disconnect() };
}
