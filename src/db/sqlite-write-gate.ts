import type { SqlDriverAdapterFactory } from "@prisma/client/runtime/client";

/**
 * SQLite lets one connection write at a time, and the main thread's Prisma connection waits for the
 * write lock synchronously (better-sqlite3's busy timeout stops the whole thread). While the upload
 * thread holds the lock to publish a long list (seconds for a million rows), a write on the main
 * thread would stop its event loop, and with it every Slack acknowledgement, for as long.
 *
 * The gate makes the main thread wait without blocking instead: the upload thread holds it before it
 * takes the lock and until it lets go; the main thread's lone writes and transactions pass through it
 * (any number at once) and, while it is held, wait their turn as promises. Reads pass freely: in WAL
 * mode nothing blocks them. A holder waits for the writes and transactions already under way, and
 * new ones wait behind a waiting holder, so that a stream of small writes cannot starve a publish.
 */
export class SqliteWriteGate {
  #passing = 0;
  #held = false;
  readonly #holders: (() => void)[] = [];
  readonly #passers: (() => void)[] = [];

  /** Lets one write or transaction through; call the returned function once it is over. */
  async pass(): Promise<() => void> {
    if (this.#held || this.#holders.length > 0) await new Promise<void>((resolve) => this.#passers.push(resolve));
    this.#passing += 1;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#passing -= 1;
      this.#next();
    };
  }

  /** Runs `work` (which takes the write lock elsewhere) once nothing passes, and lets nothing pass until it settles. */
  async hold<T>(work: () => Promise<T>): Promise<T> {
    if (this.#held || this.#passing > 0 || this.#holders.length > 0) await new Promise<void>((resolve) => this.#holders.push(resolve));
    else this.#held = true;
    try {
      return await work();
    } finally {
      this.#held = false;
      this.#next();
    }
  }

  #next() {
    if (this.#held) return;
    const holder = this.#holders[0];
    if (holder) {
      if (this.#passing > 0) return;
      this.#holders.shift();
      this.#held = true;
      holder();
      return;
    }
    for (const passer of this.#passers.splice(0)) passer();
  }
}

type AdapterFactory = SqlDriverAdapterFactory;
type Adapter = Awaited<ReturnType<AdapterFactory["connect"]>>;
type Transaction = Awaited<ReturnType<Adapter["startTransaction"]>>;
type Query = Parameters<Adapter["queryRaw"]>[0];

/** Statements that only read: all Prisma's reads start with SELECT. Anything else is taken for a write. */
const isRead = (query: Query) => /^\s*select\b/i.test(query.sql);

/** A Prisma driver adapter (SQLite's) whose writes and transactions pass through `gate` first. */
export function gatedAdapter(factory: AdapterFactory, gate: SqliteWriteGate): AdapterFactory {
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => gateConnection(await factory.connect(), gate),
  };
}

function gateConnection(adapter: Adapter, gate: SqliteWriteGate): Adapter {
  const through = async <R>(work: () => Promise<R>): Promise<R> => {
    const done = await gate.pass();
    try {
      return await work();
    } finally {
      done();
    }
  };
  return {
    provider: adapter.provider,
    adapterName: adapter.adapterName,
    queryRaw: (query) => (isRead(query) ? adapter.queryRaw(query) : through(() => adapter.queryRaw(query))),
    executeRaw: (query) => (isRead(query) ? adapter.executeRaw(query) : through(() => adapter.executeRaw(query))),
    executeScript: (script) => through(() => adapter.executeScript(script)),
    // A transaction passes once, at its start, and is through until it commits or rolls back: its
    // statements never wait at the gate (a holder waits for the transaction instead).
    startTransaction: async (isolationLevel) => {
      const done = await gate.pass();
      let transaction: Transaction;
      try {
        transaction = await adapter.startTransaction(isolationLevel);
      } catch (error) {
        done();
        throw error;
      }
      return {
        provider: transaction.provider,
        adapterName: transaction.adapterName,
        options: transaction.options,
        queryRaw: (query) => transaction.queryRaw(query),
        executeRaw: (query) => transaction.executeRaw(query),
        commit: () => transaction.commit().finally(done),
        rollback: () => transaction.rollback().finally(done),
      };
    },
    ...(adapter.getConnectionInfo ? { getConnectionInfo: () => adapter.getConnectionInfo!() } : {}),
    dispose: () => adapter.dispose(),
  };
}
