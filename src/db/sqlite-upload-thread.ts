import { Worker } from "node:worker_threads";
import { AppError, type ErrorCode } from "../domain/errors.js";
import type { RecipientRow } from "./recipient-bulk.js";

/**
 * The main thread's side of the SQLite upload thread (sqlite-upload-worker.ts): it starts the thread
 * on the first upload, sends it each upload's batches and the step that publishes them, and hands
 * back its answers and errors (an AppError stays one, so the API answers as before).
 */

export interface StepReference {
  module: string;
  name: string;
}

export type UploadRequest =
  | { type: "open"; uploadId: string }
  | { type: "stage"; uploadId: string; emails: string; vars: string; count: number }
  | { type: "publish"; uploadId: string; sendingId: string; step: StepReference; before: unknown; after: unknown }
  | { type: "discard"; uploadId: string }
  | { type: "close" };

/** An error as it crosses between threads (structured cloning keeps only an Error's message). */
export type ThreadError =
  | { kind: "app"; code: ErrorCode; message: string; details?: unknown }
  | { kind: "error"; name: string; message: string; code?: string; stack?: string };

export type UploadReply = { id: number; value: unknown } | { id: number; error: ThreadError };

export interface UploadThreadData {
  databaseUrl: string;
}

export function toThreadError(error: unknown): ThreadError {
  if (error instanceof AppError) return { kind: "app", code: error.code, message: error.message, details: error.details };
  const { name = "Error", message = String(error), code, stack } = (error ?? {}) as Partial<Error> & { code?: unknown };
  return { kind: "error", name, message, stack, ...(typeof code === "string" ? { code } : {}) };
}

function fromThreadError(error: ThreadError): Error {
  if (error.kind === "app") return new AppError(error.code, error.message, error.details);
  const revived = Object.assign(new Error(error.message), error.code ? { code: error.code } : {});
  revived.name = error.name;
  if (error.stack) revived.stack = `${error.stack}\n    (in the SQLite upload thread)`;
  return revived;
}

/**
 * The thread's garbage is short-lived (each batch's strings): a small young generation collects it
 * as well as V8's default, which would grow to tens of MB for nothing.
 */
const resourceLimits = { maxYoungGenerationSizeMb: 8 };

export class SqliteUploadThread {
  #worker: Worker | undefined;
  #exited: Promise<void> | undefined;
  readonly #pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  #nextId = 1;

  constructor(private readonly databaseUrl: string) {}

  open(uploadId: string): Promise<void> {
    return this.#call({ type: "open", uploadId });
  }

  stage(uploadId: string, rows: readonly RecipientRow[]): Promise<void> {
    // Two strings cross to the thread by a copy of their bytes; 5,000 objects would be cloned one by one.
    // Addresses hold no newline and JSON text escapes its own (the thread checks the counts).
    const emails = rows.map((row) => row.email).join("\n");
    const vars = rows.map((row) => row.vars).join("\n");
    return this.#call({ type: "stage", uploadId, emails, vars, count: rows.length });
  }

  publish<T>(uploadId: string, sendingId: string, step: StepReference, before: unknown, after: unknown): Promise<T> {
    return this.#call({ type: "publish", uploadId, sendingId, step, before, after });
  }

  /** Forgets the upload and deletes what it staged (after it was published, or instead). */
  discard(uploadId: string): Promise<void> {
    return this.#call({ type: "discard", uploadId });
  }

  async close(): Promise<void> {
    if (!this.#worker) return;
    const exited = this.#exited;
    await this.#call({ type: "close" }).catch(() => {});
    await exited;
  }

  #call<T>(request: UploadRequest): Promise<T> {
    const worker = this.#worker ?? this.#start();
    const id = this.#nextId++;
    // The thread keeps the process alive only while it has work in hand.
    if (this.#pending.size === 0) worker.ref();
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      worker.postMessage({ id, ...request });
    });
  }

  #settle(id: number, settle: (entry: { resolve(value: unknown): void; reject(error: Error): void }) => void) {
    const entry = this.#pending.get(id);
    if (!entry) return;
    this.#pending.delete(id);
    if (this.#pending.size === 0) this.#worker?.unref();
    settle(entry);
  }

  #start(): Worker {
    const workerData: UploadThreadData = { databaseUrl: this.databaseUrl };
    const entry = new URL(import.meta.url.endsWith(".ts") ? "./sqlite-upload-worker.ts" : "./sqlite-upload-worker.js", import.meta.url);
    const worker = entry.pathname.endsWith(".ts")
      ? // Run from source (tsx, vitest): the thread compiles TypeScript as the main thread does.
        new Worker(
          `import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`,
          { eval: true, workerData, resourceLimits },
        )
      : new Worker(entry, { workerData, resourceLimits });
    worker.unref();
    worker.on("message", (reply: UploadReply) =>
      this.#settle(reply.id, (entry) => ("error" in reply ? entry.reject(fromThreadError(reply.error)) : entry.resolve(reply.value))),
    );
    let failure: Error | undefined;
    worker.on("error", (error) => (failure = error));
    this.#exited = new Promise((resolve) =>
      worker.once("exit", (code) => {
        if (this.#worker === worker) this.#worker = undefined;
        const error = failure ?? new Error(`The SQLite upload thread stopped (exit code ${code}).`);
        for (const id of [...this.#pending.keys()]) this.#settle(id, (entry) => entry.reject(error));
        resolve();
      }),
    );
    this.#worker = worker;
    return worker;
  }
}
