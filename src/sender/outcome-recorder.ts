import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import type { RecipientOutcome, SentOutcome } from "./store.js";

const WRITE_ATTEMPTS = 6;

export interface RecorderLimits {
  /** Outcomes written in one statement, at most. */
  batch: number;
  /**
   * Messages handed over (or about to be) whose outcome is not written yet, at most: what a crash could
   * send a second time. `reserve()` holds the workers back at this many, however slow the database.
   */
  unwritten: number;
  /** How long a write waits for more outcomes (fewer, larger writes); 0 writes at once. */
  gatherMs: number;
  /** A write stops waiting for more once this many outcomes wait, or once no message is in hand (none can come). */
  gatherCount: number;
}

interface Entry {
  outcome: RecipientOutcome;
  /** Resolves the promise `add()` returned. */
  written: () => void;
}

/**
 * Writes outcomes as soon as the previous write is done, all that arrived meanwhile in one statement
 * (a group commit): one write per message when mail is slow, a few per hundred when it is fast.
 *
 * Every handoff takes a slot first (`reserve()`) and keeps it until its outcome is written: a crash
 * re-sends what the mail server accepted and the database never heard of, so slots in use are exactly
 * what a crash could send twice, and there are `unwritten` of them. When the database falls behind,
 * the workers wait here rather than hand over more.
 */
export class OutcomeRecorder {
  #buffer: Entry[] = [];
  #writing: Promise<void> | undefined;
  #inWrite = 0;
  /** Slots taken by workers whose outcome has not been added yet (the message is on its way to SMTP). */
  #reserved = 0;
  #failure: Error | undefined;
  #waiters: (() => void)[] = [];
  #endGather: (() => void) | undefined;

  constructor(
    private readonly write: (batch: readonly RecipientOutcome[]) => Promise<void>,
    private readonly log: Logger,
    private readonly limits: RecorderLimits,
  ) {}

  /** Set once outcomes could not be written at all; the run stops delivering. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /** Slots in use: messages handed over (or about to be) whose outcome is not written yet. */
  get unwritten(): number {
    return this.#reserved + this.#buffer.length + this.#inWrite;
  }

  /**
   * Takes a slot for the next handoff, once one is free (or once writing has failed: check `failure`).
   * The slot is given back by `add()` once that outcome is written, or by `release()` when no handoff followed.
   */
  async reserve(): Promise<void> {
    while (this.unwritten >= this.limits.unwritten && !this.#failure) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    this.#reserved++;
  }

  /** Gives back a slot that no handoff used (the run stops, or the sending was paused). */
  release(): void {
    this.#reserved--;
    if (this.#gathered()) this.#endGather?.();
    this.#wakeWaiters();
  }

  /** The outcome of a reserved slot; resolves once it is written, or given up on (then `failure` says why). */
  add(outcome: RecipientOutcome): Promise<void> {
    this.#reserved--;
    return new Promise<void>((written) => {
      this.#buffer.push({ outcome, written });
      if (this.#gathered()) this.#endGather?.();
      this.#kick();
    });
  }

  /**
   * Hands the outcomes of delivered messages waiting for a write to a statement that goes to the
   * database anyway (the status read before a handoff), which writes them on its way: one round trip
   * instead of two. Once it succeeds they are written; if it fails, they wait for the next write again.
   */
  async writeAlong<T>(statement: (sent: readonly SentOutcome[]) => Promise<T>): Promise<T> {
    const taken: Entry[] = [];
    const kept: Entry[] = [];
    for (const entry of this.#buffer) (entry.outcome.kind === "sent" && taken.length < this.limits.batch ? taken : kept).push(entry);
    if (taken.length === 0) return statement([]);
    this.#buffer = kept;
    this.#inWrite += taken.length;
    let result: T;
    try {
      result = await statement(taken.map((entry) => entry.outcome as SentOutcome));
    } catch (error) {
      this.#inWrite -= taken.length;
      this.#buffer.unshift(...taken);
      this.#kick();
      throw error;
    }
    this.#inWrite -= taken.length;
    for (const entry of taken) entry.written();
    this.#wakeWaiters();
    return result;
  }

  /** Resolves when everything added so far is written (or given up on). */
  async settle(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  #wakeWaiters() {
    for (const wake of this.#waiters.splice(0)) wake();
  }

  #kick() {
    if (this.#writing) return;
    this.#writing = this.#drain().finally(() => {
      this.#writing = undefined;
      if (this.#buffer.length > 0 && !this.#failure) this.#kick();
    });
  }

  /** Enough outcomes wait for the write, or no more can come before it (no message is in hand). */
  #gathered(): boolean {
    return this.#buffer.length >= this.limits.gatherCount || this.#reserved === 0;
  }

  /** Waits up to `gatherMs` for more outcomes; less when enough came, or when none can come before the write. */
  async #gather() {
    const { gatherMs } = this.limits;
    if (gatherMs <= 0 || this.#gathered()) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, gatherMs);
      this.#endGather = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#endGather = undefined;
  }

  async #drain() {
    while (this.#buffer.length > 0) {
      await this.#gather();
      const batch = this.#buffer.splice(0, this.limits.batch);
      // A status read may have taken them along meanwhile.
      if (batch.length === 0) break;
      const inWrite = batch.length;
      this.#inWrite += inWrite;
      try {
        await this.#writeWithRetries(batch.map((entry) => entry.outcome));
      } catch (error) {
        // These recipients stay PREPARED: the next run sends them again, with the same Message-ID.
        this.#failure = error as Error;
        this.log.error({ err: error, lost: batch.length + this.#buffer.length }, "delivery outcomes could not be written");
        batch.push(...this.#buffer.splice(0));
      } finally {
        this.#inWrite -= inWrite;
        for (const entry of batch) entry.written();
        this.#wakeWaiters();
      }
    }
  }

  async #writeWithRetries(batch: readonly RecipientOutcome[]) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.write(batch);
      } catch (error) {
        if (attempt >= WRITE_ATTEMPTS) throw error;
        this.log.warn({ err: error, attempt }, "writing delivery outcomes failed; trying again");
        await sleep(100 * 2 ** attempt);
      }
    }
  }
}
