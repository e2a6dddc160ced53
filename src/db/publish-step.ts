import type { Tx } from "./database.js";

// Apart from recipient-bulk.ts so that the SQLite upload thread, which loads every step's module,
// loads no more than a step needs (not the PostgreSQL client).

export interface AppendCounts {
  /** Rows that were not repeats within the upload. */
  fresh: number;
  /** Rows new to the sending, now its recipients. */
  appended: number;
  /** The digest of every row written, in order, repeats included (createBatchDigest): what the content hash covers. */
  digest: string;
}

/**
 * What the transaction that makes an upload's rows visible does besides: `before` any row is written
 * (creating the sending the rows belong to, say), `after` them (the sending's count and hash, the
 * audit). On SQLite that transaction runs in the upload thread, where no closure can travel: a step is
 * a module's export (see definePublishStep) and takes plain data.
 */
export interface PublishStep<B, A, T> {
  before?(tx: Tx, data: B): Promise<void>;
  /** Its result is the upload's; plain data too. */
  after(tx: Tx, data: A, counts: AppendCounts): Promise<T>;
}

/** A step that the upload thread can load by name. */
export interface NamedPublishStep<B, A, T> extends PublishStep<B, A, T> {
  /** The URL of the module that exports the step (its import.meta.url). */
  readonly module: string;
  /** The name it is exported under. */
  readonly name: string;
}

/** `export const myStep = definePublishStep(import.meta.url, "myStep", { … })`: the name must be the export's. */
export function definePublishStep<B, A, T>(module: string, name: string, step: PublishStep<B, A, T>): NamedPublishStep<B, A, T> {
  return { ...step, module, name };
}
