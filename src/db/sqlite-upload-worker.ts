import { readdirSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import { parentPort, workerData } from "node:worker_threads";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import type { Prisma } from "./database.js";
import { PrismaClient as SqliteClient } from "./generated/sqlite/client.js";
import { sqliteFile } from "./provider.js";
import { createBatchDigest } from "../sendings/support/recipient-batch.js";
import type { NamedPublishStep } from "./publish-step.js";
import { toThreadError, type StepReference, type UploadReply, type UploadRequest, type UploadThreadData } from "./sqlite-upload-thread.js";

/**
 * The SQLite upload thread: it stages each upload's rows in a file of the upload's own and publishes
 * them into Recipient in one transaction with the upload's step, on a connection of its own.
 *
 * Why a thread: better-sqlite3 is synchronous, and publishing a million rows is one statement of
 * seconds; on the main thread it would stop the event loop that acknowledges Slack within 3 seconds.
 * Why the whole transaction runs here, the step included: the main thread's Prisma connection waits
 * for SQLite's write lock synchronously, so a transaction holding that lock while it waited for the
 * main thread could wait on a main thread that waits on it.
 */

const { databaseUrl } = workerData as UploadThreadData;
const databaseFile = sqliteFile(databaseUrl);

/** Waiting for the write lock blocks this thread only. */
const BUSY_TIMEOUT_MS = 30_000;
/** Publishing a million rows takes seconds; Prisma's default is 5. */
const PUBLISH_TRANSACTION = { timeout: 10 * 60_000, maxWait: 60_000 };
/** A staging file this old was left by a process that died mid-upload (an upload ends within the HTTP request timeout). */
const ABANDONED_AFTER_MS = 24 * 60 * 60 * 1000;
/** Rows of the staging tables of earlier versions removed at a time, so that other writers wait milliseconds. */
const LEGACY_CLEANUP_SLICE = 20_000;

const requireFromAdapter = createRequire(createRequire(import.meta.url).resolve("@prisma/adapter-better-sqlite3"));
interface StagingConnection {
  prepare(sql: string): { run(...params: unknown[]): unknown };
  pragma(source: string): unknown;
  exec(sql: string): void;
  transaction<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R;
  close(): void;
}
const BetterSqlite3 = requireFromAdapter("better-sqlite3") as new (file: string) => StagingConnection;

const prisma = new SqliteClient({ adapter: new PrismaBetterSQLite3({ url: databaseUrl, timeout: BUSY_TIMEOUT_MS }) }) as Prisma;
let prepared: Promise<void> | undefined;

const stagingFileOf = (uploadId: string) => `${databaseFile}-upload-${uploadId}`;

/**
 * The staged rows of one upload: a throw-away database file beside the main one, never journaled or
 * synced, rows in upload order and nothing else (no index: repeats are settled when publishing).
 */
class StagedUpload {
  readonly file: string;
  rows = 0;
  /** Taken here, beside the writing, rather than on the main thread, which has the lines to read. */
  readonly digest = createBatchDigest();
  #connection: StagingConnection | undefined;
  readonly #stage: (emails: string[], vars: string[]) => void;

  constructor(uploadId: string) {
    this.file = stagingFileOf(uploadId);
    const connection = new BetterSqlite3(this.file);
    this.#connection = connection;
    // Nothing here needs to survive a crash: an upload that did not finish is given up whole.
    connection.pragma("journal_mode = OFF");
    connection.pragma("synchronous = OFF");
    // Rows are only appended here: pages need no cache beyond the one being filled.
    connection.pragma("cache_size = -1024");
    connection.exec('CREATE TABLE "UploadRow" ("email" TEXT NOT NULL, "vars" TEXT NOT NULL)');
    const insert = connection.prepare('INSERT INTO "UploadRow" ("email", "vars") VALUES (?, ?)');
    this.#stage = connection.transaction((emails: string[], vars: string[]) => {
      for (let i = 0; i < emails.length; i++) insert.run(emails[i], vars[i]);
    });
  }

  stage(emails: string, vars: string, count: number): void {
    if (!this.#connection) throw new Error("this upload is already being published");
    const emailList = emails.split("\n");
    const varsList = vars.split("\n");
    if (emailList.length !== count || varsList.length !== count) throw new Error("a staged batch lost its shape (a newline inside a value)");
    this.#stage(emailList, varsList);
    for (let i = 0; i < count; i++) this.digest.add({ email: emailList[i]!, vars: varsList[i]! });
    this.rows += count;
  }

  /** Writing is over: the publishing connection reads the file next. */
  seal() {
    this.#connection?.close();
    this.#connection = undefined;
  }

  remove() {
    this.seal();
    rmSync(this.file, { force: true });
  }
}

const uploads = new Map<string, StagedUpload>();
/** One publish at a time: ATTACH is refused while a transaction is open on the connection. */
let publishing: Promise<unknown> = Promise.resolve();

/** In upload order, so that the first occurrence of an address within the upload is the one kept. */
const PUBLISH_SQL = `INSERT INTO "Recipient" ("sendingId", "email", "vars")
  SELECT ?, "email", "vars" FROM "upload"."UploadRow" WHERE true ORDER BY "rowid"
  ON CONFLICT ("sendingId", "email") DO NOTHING`;
const DISTINCT_SQL = 'SELECT count(DISTINCT "email") AS "fresh" FROM "upload"."UploadRow"';

async function publish(request: Extract<UploadRequest, { type: "publish" }>): Promise<unknown> {
  const upload = uploads.get(request.uploadId);
  if (!upload) throw new Error(`no upload ${request.uploadId} is staged`);
  upload.seal();
  const step = await loadStep(request.step);
  const run = async () => {
    await prisma.$executeRawUnsafe('ATTACH DATABASE ? AS "upload"', upload.file);
    try {
      return await prisma.$transaction(async (tx) => {
        if (step.before) await step.before(tx, request.before);
        // One statement in upload order, the whole list at once: this thread may take the seconds it needs.
        const appended = await tx.$executeRawUnsafe(PUBLISH_SQL, request.sendingId);
        // Every row went in: no address was repeated. Otherwise count the upload's distinct addresses
        // to tell repeats within it from addresses the sending had (a sort, on this rarer path only).
        const fresh = appended === upload.rows ? appended : Number((await tx.$queryRawUnsafe<{ fresh: number | bigint }[]>(DISTINCT_SQL))[0]?.fresh ?? 0);
        return step.after(tx, request.after, { fresh, appended, digest: upload.digest.digest() });
      }, PUBLISH_TRANSACTION);
    } finally {
      await prisma.$executeRawUnsafe('DETACH DATABASE "upload"');
    }
  };
  const result = publishing.then(run, run);
  publishing = result.catch(() => {});
  return result;
}

async function loadStep(reference: StepReference): Promise<NamedPublishStep<unknown, unknown, unknown>> {
  if (!reference.module.startsWith("file:")) throw new Error(`a publish step must come from a local module, not ${reference.module}`);
  const exports = (await import(reference.module)) as Record<string, unknown>;
  const step = exports[reference.name] as Partial<NamedPublishStep<unknown, unknown, unknown>> | undefined;
  if (!step || step.module !== reference.module || step.name !== reference.name || typeof step.after !== "function") {
    throw new Error(`${reference.name} of ${reference.module} is not a publish step (definePublishStep)`);
  }
  return step as NamedPublishStep<unknown, unknown, unknown>;
}

/** Once, before the first upload: foreign keys on, and what crashed uploads left behind removed. */
function prepare(): Promise<void> {
  prepared ??= (async () => {
    await prisma.$executeRawUnsafe("PRAGMA foreign_keys = ON");
    // SQLite's own default: a larger cache makes no faster publish (measured) and only holds memory.
    await prisma.$executeRawUnsafe("PRAGMA cache_size = -2000");
    removeAbandonedStagingFiles();
    await removeLegacyStaging();
  })();
  return prepared;
}

function removeAbandonedStagingFiles() {
  const directory = dirname(databaseFile);
  const prefix = `${basename(databaseFile)}-upload-`;
  for (const name of readdirSync(directory)) {
    if (!name.startsWith(prefix)) continue;
    const path = join(directory, name);
    try {
      if (Date.now() - statSync(path).mtimeMs > ABANDONED_AFTER_MS) rmSync(path, { force: true });
    } catch {
      // Gone meanwhile.
    }
  }
}

/** Earlier versions staged uploads in the StagedRecipient table; rows of an upload abandoned there are removed in slices. */
async function removeLegacyStaging() {
  const abandonedBefore = new Date(Date.now() - ABANDONED_AFTER_MS).toISOString();
  const abandoned = await prisma.$queryRawUnsafe<{ id: string }[]>('SELECT "id" FROM "RecipientUpload" WHERE "createdAt" < ?', abandonedBefore);
  for (const { id } of abandoned) {
    let deleted: number;
    do {
      deleted = await prisma.$executeRawUnsafe(
        'DELETE FROM "StagedRecipient" WHERE "id" IN (SELECT "id" FROM "StagedRecipient" WHERE "uploadId" = ? LIMIT ?)',
        id,
        LEGACY_CLEANUP_SLICE,
      );
    } while (deleted > 0);
    await prisma.$executeRawUnsafe('DELETE FROM "RecipientUpload" WHERE "id" = ?', id);
  }
}

const isUploadId = (uploadId: string) => /^upl_[a-z0-9_]+$/.test(uploadId);

async function handle(request: UploadRequest): Promise<unknown> {
  switch (request.type) {
    case "open": {
      if (!isUploadId(request.uploadId) || uploads.has(request.uploadId)) throw new Error(`cannot open upload ${request.uploadId}`);
      await prepare();
      uploads.set(request.uploadId, new StagedUpload(request.uploadId));
      return undefined;
    }
    case "stage": {
      const upload = uploads.get(request.uploadId);
      if (!upload) throw new Error(`no upload ${request.uploadId} is open`);
      upload.stage(request.emails, request.vars, request.count);
      return undefined;
    }
    case "publish":
      return publish(request);
    case "discard": {
      const upload = uploads.get(request.uploadId);
      uploads.delete(request.uploadId);
      if (upload) upload.remove();
      // Staged by a thread that stopped since (the main thread started this one): its file is known by name.
      else if (isUploadId(request.uploadId)) rmSync(stagingFileOf(request.uploadId), { force: true });
      return undefined;
    }
    case "close": {
      await publishing;
      for (const upload of uploads.values()) upload.remove();
      uploads.clear();
      await prisma.$disconnect();
      return undefined;
    }
  }
}

const port = parentPort!;
port.on("message", (message: UploadRequest & { id: number }) => {
  const reply = (answer: Omit<UploadReply, "id">) => port.postMessage({ id: message.id, ...answer });
  handle(message).then(
    (value) => {
      reply({ value });
      if (message.type === "close") port.close();
    },
    (error: unknown) => reply({ error: toThreadError(error) }),
  );
});
