import type { Logger } from "pino";
import { compileSending, type CompiledSending } from "../mail/templates.js";
import type { DeliveryOutcome, Mailer, OutgoingMessage } from "../mail/transport.js";
import type { Clock, DeliveryProgress, SendingEvent, SendingNotifier } from "../sendings/support/ports.js";
import { ErrorBudget } from "./error-budget.js";
import { freshReads } from "./fresh-reads.js";
import { personalize } from "../mail/message.js";
import { OutcomeRecorder } from "./outcome-recorder.js";
import type { Pacer } from "./pacer.js";
import { PreparedWindow } from "./prepared-window.js";
import { ProgressTracker } from "./progress-tracker.js";
import { retryDelaySeconds, type SenderSettings } from "./settings.js";
import type { ClaimedSending, DeliveryGate, PendingRecipient, RecipientOutcome, SenderStore } from "./store.js";

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

/** Why a run ended. */
export type RunEnd =
  | "completed" // every recipient sent or failed: SENDING → COMPLETED
  | "waiting" // only retries not yet due are left; a later tick takes the sending up again
  | "paused" // someone paused it
  | "cancelled" // cancelled, and nothing prepared is left to deliver
  | "auto-paused" // the error budget was spent, or the template does not render
  | "lease-lost" // another engine holds the sending now; this one changes nothing more
  | "stopped" // the engine shuts down
  | "failed"; // the database failed us; the lease expires and someone takes over

type Stop = Exclude<RunEnd, "completed" | "waiting">;

interface Item {
  recipient: PendingRecipient;
  message?: OutgoingMessage;
  /** Set when this recipient's message could not be rendered. */
  renderError?: string;
}

/**
 * Messages a run keeps in hand per SMTP connection: one being transmitted, the others waiting in
 * the pool or for their status read. After a Pause, at most this many per connection still go out.
 */
export const HANDOFFS_PER_CONNECTION = 4;
/** Outcomes are written at most this long after the server accepted them (fewer, larger writes). */
const RECORD_GATHER_MS = 20;

/** Passes in a row that delivered nothing while work seemed left: something else holds it, give up for this tick. */
const MAX_IDLE_PASSES = 3;

/**
 * Delivers one leased sending until it is done, paused, cancelled or the engine stops. Recipients
 * are streamed by id in pages; a bounded window of them is rendered and marked PREPARED ahead of
 * the workers; each worker re-reads the sending's status right before handing a message to SMTP.
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

  constructor(
    private readonly deps: RunDeps,
    private readonly sending: ClaimedSending,
    private readonly options: { announceStart: boolean },
  ) {
    this.sendingId = sending.id;
    this.#log = deps.log.child({ sendingId: sending.id });
    this.#recorder = new OutcomeRecorder((batch) => deps.store.record(batch), this.#log, {
      batch: 500,
      pending: 100,
      gatherMs: RECORD_GATHER_MS,
    });
    this.#budget = new ErrorBudget(deps.settings.errorBudget);
    // A read may wait for two handoffs per connection to clear with it; the messages already in the
    // pool keep every connection busy meanwhile.
    this.#readGate = freshReads(() => deps.store.readGate(sending.id, deps.owner, deps.clock.now()), {
      ms: deps.store.statusReadGatherMs,
      callers: deps.settings.concurrency * 2,
    });
  }

  /** Asks the run to stop after the messages in hand; what is prepared stays PREPARED. */
  requestStop(end: Stop, cause?: string) {
    if (this.#stop) return;
    this.#stop = { end, cause };
    this.#window?.abandon();
  }

  async run(): Promise<RunEnd> {
    const { store, clock, settings } = this.deps;
    const id = this.sendingId;
    let compiled: CompiledSending;
    try {
      compiled = compileSending(this.sending.content);
    } catch (error) {
      const cause = `The template does not render: ${(error as Error).message.split("\n")[0]}`;
      return this.#finish({ end: "auto-paused", cause });
    }

    const renew = setInterval(() => void this.#renewLease(), (settings.leaseSeconds * 1000) / 3);
    const report = setInterval(() => this.#reportProgress(), settings.progressIntervalMs);
    renew.unref();
    report.unref();
    try {
      const tracker = new ProgressTracker(
        await store.counts(id),
        this.sending.startedAt ?? clock.now(),
        await store.failureReasons(id, 5),
      );
      this.#tracker = tracker;
      if (this.options.announceStart) this.#announce({ kind: "started", progress: tracker.snapshot() });
      this.#reportProgress();

      for (let idlePasses = 0; ; ) {
        const before = this.#processed;
        await this.#pass(compiled);
        await this.#recorder.settle();
        if (this.#recorder.failure) this.requestStop("failed", "delivery outcomes could not be written");
        if (this.#stop) return await this.#finish(this.#stop);

        const next = await this.#afterPass();
        if (next !== "again") return next;
        idlePasses = this.#processed === before ? idlePasses + 1 : 0;
        if (idlePasses >= MAX_IDLE_PASSES) {
          this.#log.warn("recipients look ready but none could be delivered; trying again on a later tick");
          await store.releaseLease(id, this.deps.owner);
          return "waiting";
        }
      }
    } catch (error) {
      this.#log.error({ err: error }, "delivery run failed");
      await store.releaseLease(id, this.deps.owner).catch(() => {});
      return "failed";
    } finally {
      clearInterval(renew);
      clearInterval(report);
      this.#reportProgress();
    }
  }

  /** Delivers what was left prepared, then every recipient due now, until done or stopped. */
  async #pass(compiled: CompiledSending) {
    const window = new PreparedWindow<Item>(this.deps.settings.prepareWindow);
    this.#window = window;
    const workers = Array.from({ length: this.#workerCount() }, () => this.#work(window));
    try {
      await this.#produce(window, compiled);
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

  async #produce(window: PreparedWindow<Item>, compiled: CompiledSending) {
    const { store, clock } = this.deps;
    const id = this.sendingId;
    const page = this.#pageSize();
    // Left PREPARED by an earlier run (a pause, a crash, a lost lease): they go first, as they are.
    for (let after = 0; !this.#stop; ) {
      await window.roomFor(page);
      if (this.#stop) return;
      const rows = await store.preparedRecipients(id, after, page);
      if (rows.length === 0) break;
      after = (rows.at(-1) as PendingRecipient).id;
      for (const row of rows) window.push(this.#render(compiled, row));
    }
    if (this.sending.status === "CANCELLED") return;
    for (let after = 0; !this.#stop && !this.#cancelSeen; ) {
      await window.roomFor(page);
      if (this.#stop || this.#cancelSeen) return;
      const rows = await store.dueRecipients(id, after, clock.now(), page);
      if (rows.length === 0) break;
      after = (rows.at(-1) as PendingRecipient).id;
      // Rendered before they are marked, so a page either goes out whole or stays queued.
      const items = rows.map((row) => this.#render(compiled, row));
      const prepared = new Set(await store.markPrepared(id, rows.map((row) => row.id)));
      this.#tracker?.prepared(prepared.size);
      for (const item of items) if (prepared.has(item.recipient.id)) window.push(item);
    }
  }

  #render(compiled: CompiledSending, recipient: PendingRecipient): Item {
    try {
      const { sendingId, sending, deps } = this;
      const message = personalize({ compiled, sendingId, content: sending.content, recipient, unsubscribeUrl: deps.settings.unsubscribeUrl });
      return { recipient, message };
    } catch (error) {
      return { recipient, renderError: `Rendering failed: ${(error as Error).message.split("\n")[0]}` };
    }
  }

  async #work(window: PreparedWindow<Item>) {
    for (;;) {
      if (this.#stop) return;
      const item = await window.take();
      if (!item) return;
      // The window keeps the item until its outcome is written: until then it is PREPARED in the database.
      let leaves: Promise<void> | undefined;
      try {
        if (!item.message) {
          leaves = this.#record(item, { recipientId: item.recipient.id, kind: "failed", reason: item.renderError ?? "", response: "" });
          continue;
        }
        await this.deps.pacer.turn();
        if (this.#stop || !(await this.#mayHandOff())) return;
        const outcome = await this.deps.mailer.send(item.message).catch((error: Error) => ({
          accepted: false as const,
          temporary: true,
          reason: `Mailer error: ${error.message}`,
          response: String(error),
        }));
        leaves = this.#record(item, this.#outcomeOf(item, outcome));
        await this.#recorder.roomFor();
        if (this.#recorder.failure) this.requestStop("failed", "delivery outcomes could not be written");
      } catch (error) {
        this.#log.error({ err: error, recipientId: item.recipient.id }, "delivering a message failed");
        this.requestStop("failed", (error as Error).message);
      } finally {
        if (leaves) void leaves.then(() => window.done());
        else window.done();
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

  #record(item: Item, outcome: RecipientOutcome): Promise<void> {
    const written = this.#recorder.add(outcome);
    this.#processed++;
    const tracker = this.#tracker;
    if (outcome.kind === "sent") tracker?.sent();
    else if (outcome.kind === "failed") tracker?.failed(outcome.reason);
    else tracker?.retrying();
    const cause = this.#budget.record(outcome.kind !== "sent", outcome.kind === "sent" ? undefined : outcome.reason);
    if (cause) this.requestStop("auto-paused", cause);
    else if (outcome.kind !== "sent") this.#log.debug({ recipientId: item.recipient.id, outcome }, "message not delivered");
    return written;
  }

  /** After a pass that went through everything due: complete, go again, or wait for retries. */
  async #afterPass(): Promise<RunEnd | "again"> {
    const { store, clock, owner } = this.deps;
    const id = this.sendingId;
    const [gate, counts] = await Promise.all([store.readGate(id, owner, clock.now()), store.counts(id)]);
    this.#tracker?.reset(counts);
    if (!gate.holdsLease) return "lease-lost";
    if (gate.status === "CANCELLED" && gate.cancelPrepared === "deliver") {
      if (counts.prepared > 0) return "again";
      await store.finishCancelled(id, owner, clock.now());
      this.#log.info({ sent: counts.sent, failed: counts.failed }, "prepared messages of a cancelled sending delivered");
      return "cancelled";
    }
    if (gate.status !== "SENDING") {
      await store.releaseLease(id, owner);
      return gate.status === "PAUSED" ? "paused" : "cancelled";
    }
    if (counts.prepared > 0) return "again";
    if (counts.queued === 0) {
      if (!(await store.complete(id, owner, clock.now()))) return "lease-lost";
      const progress = this.#tracker?.snapshot() as DeliveryProgress;
      const failureReasons = await store.failureReasons(id, 5);
      this.#log.info({ sent: counts.sent, failed: counts.failed, total: counts.total }, "sending completed");
      this.#announce({ kind: "completed", progress: { ...progress, ...counts, failureReasons } });
      return "completed";
    }
    const nextRetryAt = await store.nextRetryAt(id);
    if (nextRetryAt && nextRetryAt.getTime() <= clock.now().getTime()) return "again";
    // Nothing to do before the next retry: no tick picks the sending up (and counts a long list) until then.
    await store.releaseLease(id, owner, nextRetryAt ?? undefined);
    this.#log.info({ queued: counts.queued, nextRetryAt }, "waiting for retries");
    return "waiting";
  }

  async #finish(stop: { end: Stop; cause?: string }): Promise<RunEnd> {
    const { store, owner } = this.deps;
    const id = this.sendingId;
    switch (stop.end) {
      case "auto-paused":
        if (await store.autoPause(id, owner, stop.cause ?? "Too many failures.")) {
          this.#log.warn({ cause: stop.cause }, "sending paused itself");
          this.#announce({ kind: "auto-paused", reason: stop.cause ?? "Too many failures." });
        } else {
          // Paused or cancelled by someone meanwhile: their word stands.
          await store.releaseLease(id, owner);
        }
        break;
      case "lease-lost":
        this.#log.warn("another engine took this sending over; stopping");
        break;
      default:
        await store.releaseLease(id, owner);
        this.#log.info({ end: stop.end, cause: stop.cause }, "delivery stopped");
    }
    await this.#refreshCounts();
    return stop.end;
  }

  async #renewLease() {
    const { store, owner, clock, settings } = this.deps;
    try {
      const until = new Date(clock.now().getTime() + settings.leaseSeconds * 1000);
      if (!(await store.renewLease(this.sendingId, owner, until))) this.requestStop("lease-lost");
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

  /** Never awaited and never thrown from: Slack being slow or down must not slow delivery. */
  #reportProgress() {
    const tracker = this.#tracker;
    if (!tracker) return;
    try {
      const returned: unknown = this.deps.notifier.deliveryProgress(this.sendingId, tracker.snapshot());
      if (returned instanceof Promise) returned.catch((error) => this.#log.warn({ err: error }, "progress notifier failed"));
    } catch (error) {
      this.#log.warn({ err: error }, "progress notifier failed");
    }
  }

  #announce(event: SendingEvent) {
    Promise.resolve()
      .then(() => this.deps.notifier.sendingChanged(this.sendingId, event))
      .catch((error) => this.#log.error({ err: error, event: event.kind }, "notifying a delivery event failed"));
  }
}
