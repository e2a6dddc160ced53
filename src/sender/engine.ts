import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { setImmediate as nextTurn, setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import type { Mailer } from "../mail/transport.js";
import type { Clock, SendingEvent, SendingNotifier } from "../sendings/support/ports.js";
import { DeliveryRun, type RunEnd, type RunRole } from "./delivery-run.js";
import { Pacer } from "./pacer.js";
import type { SenderSettings } from "./settings.js";
import type { SenderStore } from "./store.js";

export interface SenderEngineDeps {
  store: SenderStore;
  mailer: Mailer;
  notifier: SendingNotifier;
  clock: Clock;
  log: Logger;
  settings: SenderSettings;
  /** Names this engine in leases; unique per process by default. */
  owner?: string;
}

export interface TickReport {
  /** Sendings this tick began delivering (or resumed delivering), as lease holder or helper. */
  delivering: string[];
  /** Due sendings found too late and paused instead (late launch). */
  lateLaunches: string[];
}

export interface SenderEngine {
  readonly owner: string;
  /**
   * Claims what is due and starts delivering it in the background; where the database lets processes
   * share a sending, also helps with sendings other engines deliver. The only thing the cron job calls.
   */
  tick(): Promise<TickReport>;
  /** Resolves when no delivery of this engine is running (tests and benches wait on it). */
  idle(): Promise<void>;
  /** Graceful shutdown: the messages in hand finish, their outcomes are written, leases are released. */
  stop(): Promise<void>;
  /** The sendings this engine is delivering now. */
  delivering(): string[];
}

/** An ask to help not answered yet is looked at again this many times, this far apart, within the tick. */
const ADMISSION_CHECKS = 3;
const ADMISSION_CHECK_MS = 150;

export function newEngineOwner(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
}

export function createSenderEngine(deps: SenderEngineDeps): SenderEngine {
  const { store, clock, settings } = deps;
  const owner = deps.owner ?? newEngineOwner();
  const log = deps.log.child({ component: "sender", owner });
  const pacer = new Pacer(settings.rate);
  const runs = new Map<string, { run: DeliveryRun; done: Promise<RunEnd> }>();
  let stopping = false;

  /** The store wrote the event with the change: this only wakes the telling of it. */
  const announce = (sendingId: string, event: SendingEvent) =>
    Promise.resolve()
      .then(() => deps.notifier.sendingChanged(sendingId, event, { recorded: true }))
      .catch((error) => log.error({ err: error, sendingId, event: event.kind }, "notifying a delivery event failed"));

  function launch(sending: Awaited<ReturnType<SenderStore["claim"]>>[number], role: RunRole = "lease-holder") {
    const run = new DeliveryRun({ ...deps, log, pacer, owner }, sending, { role });
    const done = run
      .run()
      .catch((error): RunEnd => {
        log.error({ err: error, sendingId: sending.id }, "delivery run crashed");
        return "failed";
      })
      .finally(() => runs.delete(sending.id));
    runs.set(sending.id, { run, done });
  }

  /**
   * Asks to help with sendings other engines hold; those whose lease holder admitted this engine start
   * delivering. The lease holder answers within a fraction of a second while it claims recipients, so
   * an unanswered ask is looked at again a few times before the tick ends, rather than a tick later.
   */
  async function joinOthers(until: Date, report: TickReport) {
    for (let check = 0; ; check++) {
      const room = settings.maxSendings - runs.size;
      if (stopping || room <= 0) return;
      const { admitted, waiting } = await store.joinSendings({ owner, now: clock.now(), until, limit: room, skip: [...runs.keys()] });
      for (const sending of admitted) {
        // Already delivering it (a tick that overlapped this one launched it meanwhile): one run a sending.
        if (runs.has(sending.id)) continue;
        if (stopping) {
          await store.leaveSending(sending.id, owner).catch(() => {});
          continue;
        }
        log.info({ sendingId: sending.id }, `helping deliver ${sending.id} beside its lease holder`);
        launch(sending, "helper");
        report.delivering.push(sending.id);
      }
      if (waiting === 0 || check >= ADMISSION_CHECKS) return;
      await sleep(ADMISSION_CHECK_MS);
    }
  }

  return {
    owner,

    async tick() {
      const report: TickReport = { delivering: [], lateLaunches: [] };
      const room = settings.maxSendings - runs.size;
      if (stopping || room <= 0) return report;
      const now = clock.now();
      const leaseUntil = new Date(now.getTime() + settings.leaseSeconds * 1000);
      const claimed = await store.claim({ owner, now, leaseUntil, limit: room, skip: [...runs.keys()] });
      for (const sending of claimed) {
        // Each step is a few statements that may run synchronously (SQLite): the event loop turns between them.
        await nextTurn();
        try {
          if (sending.status === "SCHEDULED") {
            const lateBy = now.getTime() - sending.launchAt.getTime();
            if (lateBy > settings.lateLaunchLimitMinutes * 60_000) {
              const note = lateLaunchNote(sending.launchAt, lateBy);
              const paused = await store.autoPause(sending.id, owner, note, { kind: "late-launch", launchAt: sending.launchAt });
              if (paused) {
                report.lateLaunches.push(sending.id);
                log.warn({ sendingId: sending.id, launchAt: sending.launchAt }, "launch date long past: paused instead of sending late");
                void announce(sending.id, paused);
              } else await store.releaseLease(sending.id, owner);
              continue;
            }
            const started = await store.start(sending.id, owner, now);
            if (!started) {
              await store.releaseLease(sending.id, owner);
              continue;
            }
            void announce(sending.id, started);
            log.info({ sendingId: sending.id }, "delivery started");
            await nextTurn();
          } else if (sending.status === "SENDING" && !sending.startedAt) {
            // Resumed after a late launch: the first delivery is its start.
            const started = await store.markStarted(sending.id, now);
            if (started) void announce(sending.id, started);
          }
          // A SENDING one taken over or resumed says so once its run has counted what is left: the tick counts nothing.
          if (stopping) {
            await store.releaseLease(sending.id, owner);
            continue;
          }
          launch({ ...sending, status: sending.status === "SCHEDULED" ? "SENDING" : sending.status });
          report.delivering.push(sending.id);
        } catch (error) {
          log.error({ err: error, sendingId: sending.id }, "starting delivery failed");
          await store.releaseLease(sending.id, owner).catch(() => {});
        }
      }
      if (store.sharesSendings) await joinOthers(leaseUntil, report);
      return report;
    },

    async idle() {
      while (runs.size > 0) await Promise.all([...runs.values()].map((entry) => entry.done));
    },

    async stop() {
      stopping = true;
      for (const { run } of runs.values()) run.requestStop("stopped");
      await this.idle();
      log.info("sender stopped; leases released");
    },

    delivering: () => [...runs.keys()],
  };
}

function lateLaunchNote(launchAt: Date, lateByMs: number): string {
  const minutes = Math.round(lateByMs / 60_000);
  const late = minutes >= 120 ? `${Math.round(minutes / 60)} hours` : `${minutes} minutes`;
  return `Not sent: its launch date (${launchAt.toISOString()}) had passed ${late} before delivery could start. Resume to deliver it now, or cancel it.`;
}
