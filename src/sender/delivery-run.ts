import { setImmediate as nextTurn, setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { compileSending, type CompiledSending } from "../mail/templates.js";
import type { DeliveryOutcome, Mailer, OutgoingMessage } from "../mail/transport.js";
import type { Clock, DeliveryProgress, SendingEvent, SendingNotifier } from "../sendings/support/ports.js";
import { ErrorBudget } from "./error-budget.js";
import { freshReads } from "./fresh-reads.js";
import { personalize } from "../mail/message.js";
import { OutcomeRecorder } from "./outcome-recorder.js";
import { Pacer } from "./pacer.js";
import { PreparedWindow } from "./prepared-window.js";
import { ProgressTracker } from "./progress-tracker.js";
import { retryDelaySeconds, type SenderSettings } from "./settings.js";
import type { ClaimedSending, DeliveryGate, PendingRecipient, RecipientCounts, RecipientOutcome, SenderStore } from "./store.js";

export interface RunDeps {
  store: SenderStore;
  mailer: Mailer;
  notifier: SendingNotifier;
  clock: Clock;
  log: Logger;
  settings: SenderSettings;
  pacer: Pacer;
  owner: string;
}

/**
 * How an engine takes part in a sending: it holds the lease (it starts the sending, admits helpers,
 * waits for retries), or it helps beside the lease holder (PostgreSQL), admitted by it.
 */
export type RunRole = "lease-holder" | "helper";

/** Why a run ended. */
export type RunEnd =
  | "completed" // every recipient sent or failed: SENDING → COMPLETED (by this engine or another taking part)
  | "waiting" // only retries not yet due are left; a later tick takes the sending up again
  | "left" // a helper found nothing more it could take; the others taking part finish the sending
  | "paused" // someone paused it
  | "cancelled" // cancelled, and nothing prepared is left to deliver
  | "auto-paused" // the error budget was spent, or the template does not render
  | "lease-lost" // another engine holds the sending now; this one changes nothing more
  | "stopped" // the engine shuts down
  | "failed"; // the database failed us; the lease expires and someone takes over

type Stop = Exclude<RunEnd, "completed" | "waiting">;

interface Item {
  recipient: PendingRecipient;
  /** Set once its outcome is queued: resolves when it is written. */
  written?: Promise<void>;
}

/**
 * Messages a run keeps in hand per SMTP connection: one being transmitted, the others waiting in
 * the pool, for their status read, or for their outcome to be written. After a Pause at most this
 * many per connection still go out; after a crash at most this many per connection go out twice
 * (handed over, perhaps accepted, and not yet recorded), however slow the database is to take outcomes.
 */
export const HANDOFFS_PER_CONNECTION = 4;
/**
 * Outcomes are written at most this long after the server accepted them (fewer, larger writes); sooner
 * once half the slots wait on the write, or when no message is in hand.
 */
const RECORD_GATHER_MS = 20;

/** Passes in a row that delivered nothing while work seemed left: something else holds it, give up for this tick. */
const MAX_IDLE_PASSES = 3;

/** The lease holder, done with what it could claim while helpers still deliver: how often it looks again. */
const HELPERS_POLL_MS = 250;
/** How often the lease holder lets in the engines that asked to help, while it claims recipients. */
const ADMIT_EVERY_MS = 250;

/**
 * Delivers one sending, as its lease holder or as a helper, until it is done, paused, cancelled or
 * the engine stops. Recipients are claimed by id in batches (marked PREPARED and held by this
 * engine); a bounded window of them waits for the workers; each worker renders a recipient's message
 * when it takes it, and re-reads the sending's status right before handing it to SMTP.
 *
 * Shared by several engines (PostgreSQL), each claims batches of its own, so a recipient is handed
 * over by one engine only; every engine reads the status before each handoff, so Pause and Cancel
 * stop them all within the messages each has in hand; each goes at its share of the sending's rate
 * (SEND_RATE divided among the engines taking part); each keeps an error budget of its own over the
 * outcomes it saw, and the first to find it spent pauses the sending for all; whoever finds nothing
 * left completes the sending, once.
 */
export class DeliveryRun {
  readonly sendingId: string;
  #stop: { end: Stop; cause?: string } | undefined;
  #window: PreparedWindow<Item> | undefined;
  #cancelSeen = false;
  #tracker: ProgressTracker | undefined;
  readonly #recorder: OutcomeRecorder;
  readonly #budget: ErrorBudget;
  readonly #readGate: () => Promise<DeliveryGate>;
  readonly #log: Logger;
  /** Outcomes recorded by this run; a pass that adds none made no progress. */
  #processed = 0;
  /** This engine's share of the sending's rate, from the engines taking part at the last status read. */
  readonly #pace: Pacer;
  #participants = 1;
  #lastAdmit = -Infinity;
  #refreshingCounts = false;

  constructor(
    private readonly deps: RunDeps,
    private readonly sending: ClaimedSending,
    private readonly options: { role?: RunRole },
  ) {
    this.sendingId = sending.id;
    this.#log = deps.log.child({ sendingId: sending.id, ...(this.#helping ? { role: "helper" } : {}) });
    this.#pace = new Pacer(deps.settings.rate);
    // The messages in hand and the outcomes not yet written share one bound: what a crash re-sends.
    const inHand = this.#workerCount();
    this.#recorder = new OutcomeRecorder((batch) => deps.store.record(batch), this.#log, {
      batch: 500,
      unwritten: inHand,
      gatherMs: RECORD_GATHER_MS,
      // Half the slots waiting on one write: writes of several outcomes, and two messages a connection still in hand.
      // Where status reads take outcomes along, those reads write them: a write of their own only when no read comes.
      gatherCount: deps.store.writesWithStatusRead ? inHand : Math.max(1, Math.floor(inHand / 2)),
    });
    this.#budget = new ErrorBudget(deps.settings.errorBudget);
    // A read may wait for two handoffs per connection to clear with it; the messages already in the
    // pool keep every connection busy meanwhile.
    // Where reads are round trips to a server, each takes the outcomes waiting for a write along.
    const readGate = deps.store.writesWithStatusRead
      ? () => this.#recorder.writeAlong((sent) => deps.store.readGate(sending.id, deps.owner, deps.clock.now(), sent))
      : () => deps.store.readGate(sending.id, deps.owner, deps.clock.now());
    this.#readGate = freshReads(readGate, {
      ms: deps.store.statusReadGatherMs,
      callers: deps.settings.concurrency * 2,
    });
  }

  get #helping(): boolean {
    return this.options.role === "helper";
  }

  /** Asks the run to stop after the messages in hand; what is prepared stays PREPARED. */
  requestStop(end: Stop, cause?: string) {
    if (this.#stop) return;
    this.#stop = { end, cause };
    this.#window?.abandon();
  }

  async run(): Promise<RunEnd> {
    const { store, clock, settings, owner } = this.deps;
    const id = this.sendingId;
    let compiled: CompiledSending;
    try {
      compiled = compileSending(this.sending.content);
    } catch (error) {
      const cause = `The template does not render: ${(error as Error).message.split("\n")[0]}`;
      return this.#finish({ end: "auto-paused", cause });
    }

    const renew = setInterval(() => void this.#renew(), (settings.leaseSeconds * 1000) / 3);
    const report = setInterval(() => this.#reportProgress(), settings.progressIntervalMs);
    renew.unref();
    report.unref();
    try {
      // Recipients an earlier run of this engine could not give back (the database was away) are free again.
      await store.releaseRecipients(id, owner);
      await nextTurn();
      const counts = await store.counts(id);
      const tracker = new ProgressTracker(counts, this.sending.startedAt ?? clock.now(), await store.failureReasons(id, 5));
      this.#tracker = tracker;
      if (!this.#helping && this.sending.status === "SENDING" && this.sending.startedAt) {
        // Taken over after a restart, a crash or another process's stop, resumed, or back for its retries: say so.
        const left = counts.queued + counts.prepared;
        this.#log.info({ left }, `resuming delivery of ${id} (${left.toLocaleString("en-US")} left)`);
      }
      this.#observe(await store.readGate(id, owner, clock.now()));
      this.#reportProgress();

      for (let idlePasses = 0; ; ) {
        const before = this.#processed;
        await this.#pass(compiled);
        await this.#recorder.settle();
        if (this.#recorder.failure) this.requestStop("failed", "delivery outcomes could not be written");
        if (this.#stop) return await this.#finish(this.#stop);

        const progressed = this.#processed > before;
        const next = this.#helping ? await this.#afterHelpingPass(progressed) : await this.#afterPass();
        if (next === "helpers-busy") {
          // Helpers still deliver what they claimed: look again soon (their recipients come back if they stop or die).
          idlePasses = 0;
          await sleep(HELPERS_POLL_MS);
          continue;
        }
        if (next !== "again") return next;
        idlePasses = progressed ? 0 : idlePasses + 1;
        if (idlePasses >= MAX_IDLE_PASSES) {
          this.#log.warn("recipients look ready but none could be delivered; trying again on a later tick");
          await store.releaseLease(id, owner);
          return "waiting";
        }
      }
    } catch (error) {
      this.#log.error({ err: error }, "delivery run failed");
      if (!this.#helping) await store.releaseLease(id, owner).catch(() => {});
      return "failed";
    } finally {
      clearInterval(renew);
      clearInterval(report);
      // What this engine claimed and did not hand over goes back, for whoever delivers next.
      await (this.#helping ? store.leaveSending(id, owner) : store.releaseRecipients(id, owner)).catch((error) =>
        this.#log.warn({ err: error }, "giving back claimed recipients failed; they are free once this engine's part runs out"),
      );
      this.#reportProgress();
    }
  }

  /** Delivers what was left prepared, then every recipient due now, until done or stopped. */
  async #pass(compiled: CompiledSending) {
    const window = new PreparedWindow<Item>(this.deps.settings.prepareWindow);
    this.#window = window;
    const workers = Array.from({ length: this.#workerCount() }, () => this.#work(window, compiled));
    try {
      await this.#produce(window);
    } catch (error) {
      this.#log.error({ err: error }, "preparing recipients failed");
      this.requestStop("failed", (error as Error).message);
    } finally {
      window.close();
    }
    await Promise.all(workers);
  }

  /** Enough messages in hand to keep every SMTP connection busy while the next status read is on its way. */
  #workerCount() {
    return Math.max(1, this.deps.settings.concurrency * HANDOFFS_PER_CONNECTION);
  }

  #pageSize() {
    return Math.max(1, Math.min(500, Math.ceil(this.deps.settings.prepareWindow / 2)));
  }

  async #produce(window: PreparedWindow<Item>) {
    const { store, clock, owner } = this.deps;
    const id = this.sendingId;
    const page = this.#pageSize();
    // Left PREPARED and free (a pause, a stop, an engine that died): they go first, as they are.
    for (let after = 0; !this.#stop; ) {
      await window.roomFor(page);
      if (this.#stop) return;
      const rows = await store.claimPrepared(id, owner, clock.now(), after, page);
      if (rows.length === 0) break;
      after = (rows.at(-1) as PendingRecipient).id;
      for (const recipient of rows) window.push({ recipient });
    }
    if (this.sending.status === "CANCELLED") return;
    for (let after = 0; !this.#stop && !this.#cancelSeen; ) {
      await window.roomFor(page);
      if (this.#stop || this.#cancelSeen) return;
      await this.#admitHelpers();
      const rows = await store.claimQueued(id, owner, clock.now(), after, page);
      if (rows.length === 0) break;
      after = (rows.at(-1) as PendingRecipient).id;
      this.#tracker?.prepared(rows.length);
      for (const recipient of rows) window.push({ recipient });
    }
  }

  /** The lease holder lets in, every so often while there is work to share, the engines that asked to help. */
  async #admitHelpers() {
    const { store, clock, owner } = this.deps;
    if (this.#helping || !store.sharesSendings || performance.now() - this.#lastAdmit < ADMIT_EVERY_MS) return;
    this.#lastAdmit = performance.now();
    try {
      const admitted = await store.admitHelpers(this.sendingId, owner, clock.now());
      if (admitted > 0) this.#log.info({ admitted }, "engines admitted to help deliver");
    } catch (error) {
      this.#log.warn({ err: error }, "admitting helpers failed");
    }
  }

  /** The recipient's message, or why it could not be rendered. */
  #render(compiled: CompiledSending, recipient: PendingRecipient): { message: OutgoingMessage } | { renderError: string } {
    try {
      const { sendingId, sending, deps } = this;
      return { message: personalize({ compiled, sendingId, content: sending.content, recipient, unsubscribeUrl: deps.settings.unsubscribeUrl }) };
    } catch (error) {
      return { renderError: `Rendering failed: ${(error as Error).message.split("\n")[0]}` };
    }
  }

  async #work(window: PreparedWindow<Item>, compiled: CompiledSending) {
    for (;;) {
      if (this.#stop) return;
      const item = await window.take();
      if (!item) return;
      // The window keeps the item until its outcome is written: until then it is PREPARED in the database.
      let reserved = false;
      try {
        // A slot first, kept until the outcome is written: the handoffs a crash could repeat stay within the bound.
        await this.#recorder.reserve();
        reserved = true;
        if (this.#recorder.failure) {
          this.requestStop("failed", "delivery outcomes could not be written");
          return;
        }
        // Rendered now, with its slot: a message lives from here to its handoff, not while the window
        // fills (GC: a window of rendered messages was copied at every young collection, then promoted).
        const rendered = this.#render(compiled, item.recipient);
        if ("renderError" in rendered) {
          this.#record(item, { recipientId: item.recipient.id, kind: "failed", reason: rendered.renderError, response: "" });
          continue;
        }
        await this.deps.pacer.turn();
        await this.#pace.turn();
        if (this.#stop || !(await this.#mayHandOff())) return;
        const outcome = await this.deps.mailer.send(rendered.message).catch((error: Error) => ({
          accepted: false as const,
          temporary: true,
          reason: `Mailer error: ${error.message}`,
          response: String(error),
        }));
        this.#record(item, this.#outcomeOf(item, outcome));
      } catch (error) {
        this.#log.error({ err: error, recipientId: item.recipient.id }, "delivering a message failed");
        this.requestStop("failed", (error as Error).message);
      } finally {
        if (item.written) void item.written.then(() => window.done());
        else {
          if (reserved) this.#recorder.release();
          window.done();
        }
      }
    }
  }

  #outcomeOf(item: Item, outcome: DeliveryOutcome): RecipientOutcome {
    const { clock, settings } = this.deps;
    const recipientId = item.recipient.id;
    if (outcome.accepted) return { recipientId, kind: "sent", at: clock.now(), response: outcome.response };
    const attempts = item.recipient.attempts + 1;
    if (outcome.temporary && attempts < settings.maxAttempts) {
      const retryAt = new Date(clock.now().getTime() + retryDelaySeconds(settings, attempts) * 1000);
      return { recipientId, kind: "retry", reason: outcome.reason, response: outcome.response, retryAt };
    }
    return { recipientId, kind: "failed", reason: outcome.reason, response: outcome.response };
  }

  /** The status read right before a handoff: Pause and Cancel take effect here. */
  async #mayHandOff(): Promise<boolean> {
    const gate = await this.#readGate();
    this.#observe(gate);
    if (!gate.holdsLease) {
      this.requestStop("lease-lost");
      return false;
    }
    if (gate.status === "SENDING") return true;
    if (gate.status === "CANCELLED" && gate.cancelPrepared === "deliver") {
      // Cancelled, keeping what is prepared: those go out, nothing new is prepared.
      if (!this.#cancelSeen) {
        this.#cancelSeen = true;
        void this.#refreshCounts();
      }
      return true;
    }
    this.requestStop(gate.status === "PAUSED" ? "paused" : gate.status === "CANCELLED" ? "cancelled" : "stopped");
    return false;
  }

  /** Queues the outcome (its slot is given back once it is written, and the window lets the item go) and counts it. */
  #record(item: Item, outcome: RecipientOutcome) {
    item.written = this.#recorder.add(outcome);
    this.#processed++;
    const tracker = this.#tracker;
    if (outcome.kind === "sent") tracker?.sent();
    else if (outcome.kind === "failed") tracker?.failed(outcome.reason);
    else tracker?.retrying();
    const cause = this.#budget.record(outcome.kind !== "sent", outcome.kind === "sent" ? undefined : outcome.reason);
    if (cause) this.requestStop("auto-paused", cause);
    else if (outcome.kind !== "sent") this.#log.debug({ recipientId: item.recipient.id, outcome }, "message not delivered");
  }

  /** After a pass that went through everything due: complete, go again, or wait for retries (the lease holder). */
  async #afterPass(): Promise<RunEnd | "again" | "helpers-busy"> {
    const { store, clock, owner } = this.deps;
    const id = this.sendingId;
    const [gate, counts] = await Promise.all([store.readGate(id, owner, clock.now()), store.counts(id)]);
    this.#observe(gate);
    this.#tracker?.reset(counts);
    // Finished by a helper that was done last: it said so.
    if (gate.status === "COMPLETED") return "completed";
    if (gate.status === "CANCELLED" && gate.cancelPrepared === "deliver" && counts.prepared === 0 && !gate.holdsLease) return "cancelled";
    if (!gate.holdsLease) return "lease-lost";
    const othersDeliver = gate.participants > 1;
    if (gate.status === "CANCELLED" && gate.cancelPrepared === "deliver") {
      if (counts.prepared > 0) return othersDeliver ? "helpers-busy" : "again";
      await this.#finishCancelled(counts);
      return "cancelled";
    }
    if (gate.status !== "SENDING") {
      await store.releaseLease(id, owner);
      return gate.status === "PAUSED" ? "paused" : "cancelled";
    }
    if (counts.prepared > 0) return othersDeliver ? "helpers-busy" : "again";
    if (counts.queued === 0) return (await this.#complete(counts)) ? "completed" : "lease-lost";
    const nextRetryAt = await store.nextRetryAt(id);
    if (nextRetryAt && nextRetryAt.getTime() <= clock.now().getTime()) return "again";
    // Nothing to do before the next retry: no tick picks the sending up (and counts a long list) until then.
    await store.releaseLease(id, owner, nextRetryAt ?? undefined);
    this.#log.info({ queued: counts.queued, nextRetryAt }, "waiting for retries");
    return "waiting";
  }

  /**
   * After a helper's pass: it completes the sending if nothing is left, goes again while it found
   * work, and otherwise leaves the rest (retries not yet due, recipients others hold) to the others.
   */
  async #afterHelpingPass(progressed: boolean): Promise<RunEnd | "again"> {
    const { store, clock, owner } = this.deps;
    const id = this.sendingId;
    const [gate, counts] = await Promise.all([store.readGate(id, owner, clock.now()), store.counts(id)]);
    this.#observe(gate);
    this.#tracker?.reset(counts);
    const delivering = gate.status === "SENDING" || (gate.status === "CANCELLED" && gate.cancelPrepared === "deliver");
    if (!delivering) return gate.status === "PAUSED" ? "paused" : gate.status === "COMPLETED" ? "completed" : "cancelled";
    if (!gate.holdsLease) return "lease-lost";
    if (gate.status === "SENDING" && counts.queued === 0 && counts.prepared === 0) {
      return (await this.#complete(counts)) ? "completed" : "left";
    }
    if (gate.status === "CANCELLED" && counts.prepared === 0) {
      await this.#finishCancelled(counts);
      return "cancelled";
    }
    return progressed ? "again" : "left";
  }

  /** SENDING → COMPLETED once nothing is left; only one engine's transition succeeds, and it announces. */
  async #complete(counts: RecipientCounts): Promise<boolean> {
    const { store, clock, owner } = this.deps;
    const progress = this.#tracker?.snapshot() as DeliveryProgress;
    const failureReasons = await store.failureReasons(this.sendingId, 5);
    const completed = await store.complete(this.sendingId, owner, clock.now(), { ...progress, ...counts, failureReasons });
    if (!completed) return false;
    this.#log.info({ sent: counts.sent, failed: counts.failed, total: counts.total }, "sending completed");
    this.#announce(completed);
    return true;
  }

  async #finishCancelled(counts: RecipientCounts) {
    const { store, clock, owner } = this.deps;
    if (await store.finishCancelled(this.sendingId, owner, clock.now())) {
      this.#log.info({ sent: counts.sent, failed: counts.failed }, "prepared messages of a cancelled sending delivered");
    }
  }

  async #finish(stop: { end: Stop; cause?: string }): Promise<RunEnd> {
    const { store, owner } = this.deps;
    const id = this.sendingId;
    switch (stop.end) {
      case "auto-paused": {
        const cause = stop.cause ?? "Too many failures.";
        const paused = await store.autoPause(id, owner, cause, { kind: "auto-paused", reason: cause });
        if (paused) {
          this.#log.warn({ cause: stop.cause }, "sending paused itself");
          this.#announce(paused);
        } else if (!this.#helping) {
          // Paused or cancelled by someone meanwhile: their word stands.
          await store.releaseLease(id, owner);
        }
        break;
      }
      case "lease-lost":
        this.#log.warn(this.#helping ? "this engine's share ran out; stopping" : "another engine took this sending over; stopping");
        break;
      default:
        if (!this.#helping) await store.releaseLease(id, owner);
        this.#log.info({ end: stop.end, cause: stop.cause }, "delivery stopped");
    }
    await this.#refreshCounts();
    return stop.end;
  }

  /** The lease holder renews its lease; a helper its share. */
  async #renew() {
    const { store, owner, clock, settings } = this.deps;
    try {
      const now = clock.now();
      const until = new Date(now.getTime() + settings.leaseSeconds * 1000);
      const renewed = this.#helping
        ? await store.renewShare(this.sendingId, owner, now, until)
        : await store.renewLease(this.sendingId, owner, until);
      if (!renewed) this.requestStop("lease-lost");
    } catch (error) {
      // Not fatal by itself: the status read before each handoff stops delivery if the lease runs out.
      this.#log.warn({ err: error }, "renewing the lease failed");
    }
  }

  async #refreshCounts() {
    try {
      const [counts, reasons] = await Promise.all([
        this.deps.store.counts(this.sendingId),
        this.deps.store.failureReasons(this.sendingId, 5),
      ]);
      this.#tracker?.reset(counts, reasons);
    } catch (error) {
      this.#log.warn({ err: error }, "reading delivery counts failed");
    }
  }

  /** Keeps this engine to its share of the sending's rate: SEND_RATE among the engines taking part. */
  #observe(gate: DeliveryGate) {
    if (gate.participants === this.#participants) return;
    this.#participants = gate.participants;
    this.#pace.setRate(this.deps.settings.rate / gate.participants);
  }

  /**
   * Never awaited and never thrown from: Slack being slow or down must not slow delivery. Only the
   * lease holder reports; while others deliver beside it, its counts are read from the database first,
   * since its own tally holds only what it delivered.
   */
  #reportProgress() {
    if (this.#helping) return;
    if (this.#participants > 1) {
      void this.#reportSharedProgress();
      return;
    }
    this.#notifyProgress();
  }

  async #reportSharedProgress() {
    if (this.#refreshingCounts) return;
    this.#refreshingCounts = true;
    try {
      this.#tracker?.reset(await this.deps.store.counts(this.sendingId));
    } catch (error) {
      this.#log.warn({ err: error }, "reading delivery counts failed");
    } finally {
      this.#refreshingCounts = false;
    }
    this.#notifyProgress();
  }

  #notifyProgress() {
    const tracker = this.#tracker;
    if (!tracker) return;
    try {
      const returned: unknown = this.deps.notifier.deliveryProgress(this.sendingId, tracker.snapshot());
      if (returned instanceof Promise) returned.catch((error) => this.#log.warn({ err: error }, "progress notifier failed"));
    } catch (error) {
      this.#log.warn({ err: error }, "progress notifier failed");
    }
  }

  /** The store wrote the event with the change: this only wakes the telling of it. */
  #announce(event: SendingEvent) {
    Promise.resolve()
      .then(() => this.deps.notifier.sendingChanged(this.sendingId, event, { recorded: true }))
      .catch((error) => this.#log.error({ err: error, event: event.kind }, "notifying a delivery event failed"));
  }
}
