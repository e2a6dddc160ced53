import type { webApi } from "@slack/bolt";
import type { Logger } from "pino";
import { systemClock, type Clock, type DeliveryProgress, type OutboxStore, type SendingEvent, type SendingNotifier } from "../sendings/support/ports.js";
import type { SendingView, SendingViews } from "../sendings/support/sending-view.js";
import { createBoundedCache } from "../sendings/support/bounded-cache.js";
import { buildApprovalMessage } from "./blocks/approval-message.js";
import { buildProgressMessage } from "./blocks/progress-message.js";
import { describeEvent } from "./blocks/thread-messages.js";
import { escapeMrkdwn, mention, safeMrkdwn, slackDate } from "./format.js";
import { createOutageReporter, isSlackUnreachable, type OutageReporter } from "./outage-reporter.js";
import type { HomeTabs } from "./home-tabs.js";
import { createOutboxDispatcher } from "../sendings/support/outbox-dispatcher.js";
import type { SendingAnalyzer } from "../sendings/support/current-analysis.js";

export interface SlackNotifierOptions {
  client: webApi.WebClient;
  views: SendingViews;
  log: Logger;
  approvalsChannel: string;
  /** Approver user and user group IDs, mentioned when approvers are needed (reminders, content changes). */
  approvers: string[];
  analyzer: SendingAnalyzer;
  /** The least time between two progress updates of one sending. */
  progressIntervalMs?: number;
  /** sendgate's clock: durations are measured on the same clock the engine stamps progress with. */
  clock?: Clock;
  /** Every change is told from the outbox it was written to with the change; see createOutboxDispatcher. */
  outbox: OutboxStore;
  /** This process, as the claim on a sending's outbox records it. */
  owner: string;
  /** The Home tabs people opened, refreshed after changes and as delivery moves. */
  home?: HomeTabs;
  /** Shared with the Home tabs, so that a Slack outage is reported once for both. */
  outage?: OutageReporter;
}

export interface SlackNotifier extends SendingNotifier {
  /** Posts approval messages that could not be posted when their sending arrived. */
  postMissing(): Promise<void>;
  /** Starts delivering the outbox on a timer too (retries, messages another replica wrote). */
  start(): void;
  /** Waits until every queued Slack update has been attempted (shutdown, tests). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

type CardPlace = { channel: string; ts: string };
const CARD_PLACES = 1000;

/**
 * Keeps Slack in step with the database: the approval message is rebuilt from the stored state after
 * every change and each change is written in its thread. Slack failures are logged, never thrown:
 * what was decided stands whether or not Slack heard about it.
 */
export function createSlackNotifier(options: SlackNotifierOptions): SlackNotifier {
  const { client, views, log } = options;
  const clock = options.clock ?? systemClock;
  const queues = new Map<string, Promise<void>>();
  const pendingProgress = new Map<string, DeliveryProgress>();
  const lastProgressAt = new Map<string, number>();
  const progressTimers = new Map<string, NodeJS.Timeout>();
  const interval = options.progressIntervalMs ?? 3000;
  // The card's one-line progress changes less often than the thread's report: two updates per
  // interval per sending would spend Slack's chat.update allowance twice as fast.
  const cardInterval = interval * 5;
  const lastCardAt = new Map<string, number>();

  /**
   * Where each sending's card is, once posted: a card never moves (only a card never posted is
   * posted, and its place recorded). At most CARD_PLACES, the least recently told forgotten first.
   */
  const cardPlaces = createBoundedCache<string, CardPlace>(CARD_PLACES);

  const outage = options.outage ?? createOutageReporter(log);
  const home = options.home;

  /** One sending's Slack calls run one after another (outbox deliveries and progress alike); different sendings do not wait. */
  function serialize<T>(sendingId: string, work: () => Promise<T>): Promise<T> {
    const previous = queues.get(sendingId) ?? Promise.resolve();
    const result = previous.then(work);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    queues.set(sendingId, settled);
    void settled.finally(() => {
      if (queues.get(sendingId) === settled) queues.delete(sendingId);
    });
    return result;
  }

  /** Progress and missing cards: best effort, the next update carries the latest state anyway. */
  function enqueue(sendingId: string, work: () => Promise<void>): Promise<void> {
    return serialize(sendingId, work).then(
      () => outage.succeeded(),
      (error) => {
        // Slack down is one warning a minute; Slack refusing what sendgate sent is a bug worth a stack.
        if (isSlackUnreachable(error)) outage.failed(error);
        else log.error({ err: error, sendingId }, "updating Slack failed");
      },
    );
  }

  const dispatcher = createOutboxDispatcher({
    store: options.outbox,
    owner: options.owner,
    clock,
    log,
    outage,
    isTransient: isSlackUnreachable,
    deliver: (sendingId, event, { updateCard }) => serialize(sendingId, () => handle(sendingId, event, updateCard)),
  });

  async function upsertApprovalMessage(sendingId: string, progress?: DeliveryProgress) {
    const view = await views.load(sendingId);
    const message = buildApprovalMessage(view, progress && { outcomes: progress });
    if (view.slackChannel && view.slackTs) {
      await client.chat.update({ channel: view.slackChannel, ts: view.slackTs, ...message });
      return { view, channel: view.slackChannel, ts: view.slackTs };
    }
    const posted = await client.chat.postMessage({ channel: options.approvalsChannel, ...message, unfurl_links: false });
    if (!posted.ts || !posted.channel) throw new Error("chat.postMessage returned no ts");
    await views.recordApprovalMessage(sendingId, posted.channel, posted.ts);
    log.info({ sendingId, channel: posted.channel, ts: posted.ts }, "approval message posted");
    return { view, channel: posted.channel, ts: posted.ts };
  }

  const approverMentions = options.approvers.map((id) => (id.startsWith("S") ? `<!subteam^${id}>` : `<@${id}>`)).join(" ");

  /** Tells one change: the card (unless a later change in the same batch will), its thread line, a DM. */
  async function handle(sendingId: string, event: SendingEvent, updateCard = true) {
    if (event.kind === "created" || event.kind === "content-changed") {
      // The approval message shows the analysis summary: make it for the new content first.
      await options.analyzer.current(sendingId).catch((error) => log.error({ err: error, sendingId }, "analysis failed"));
    }
    // A line whose card a later event of the batch updates needs only where the card is: the view
    // (which counts every recipient by status) is read only when something below reads it.
    const known = updateCard ? undefined : cardPlaces.get(sendingId);
    let loaded: SendingView | undefined;
    let place: CardPlace;
    if (known) place = known;
    else {
      const current = updateCard ? undefined : await views.load(sendingId);
      const upserted =
        current?.slackChannel && current.slackTs
          ? { view: current, channel: current.slackChannel, ts: current.slackTs }
          : await upsertApprovalMessage(sendingId);
      loaded = upserted.view;
      place = { channel: upserted.channel, ts: upserted.ts };
      cardPlaces.set(sendingId, place);
    }
    const view = async () => loaded ?? (loaded = await views.load(sendingId));
    const { channel, ts } = place;
    let line = describeEvent(event);
    if (event.kind === "reminder") {
      line = `:bell: ${approverMentions} *${escapeMrkdwn((await view()).name)}* launches ${slackDate(event.launchAt)} and still waits for approval.`;
    } else if (event.kind === "content-changed" && event.approvalsWithdrawn > 0) {
      line = `${line} ${approverMentions} please review it again.`;
    }
    if (line) await client.chat.postMessage({ channel, thread_ts: ts, text: line, unfurl_links: false });
    if (event.kind === "rejected") {
      const { name, requestedBy } = await view();
      await client.chat.postMessage({
        channel: requestedBy,
        text: `:no_entry: Your sending *${escapeMrkdwn(name)}* was rejected by ${mention(event.by)}: ${safeMrkdwn(event.reason, 2500)}`,
        unfurl_links: false,
      });
    }
    // The delivery report: once delivery began (a sending cancelled before its launch has nothing to report).
    const delivering = ["started", "paused", "resumed", "auto-paused", "late-launch", "completed"].includes(event.kind);
    if (delivering || (event.kind === "cancelled" && ((await view()).startedAt || (await view()).progressTs))) {
      await upsertProgressMessage(sendingId, "progress" in event ? event.progress : pendingProgress.get(sendingId));
    }
    if (event.kind === "completed") {
      for (const map of [pendingProgress, lastProgressAt, lastCardAt]) map.delete(sendingId);
    }
  }

  async function upsertProgressMessage(sendingId: string, progress: DeliveryProgress | undefined) {
    const view = await views.load(sendingId);
    if (!view.slackChannel || !view.slackTs) return;
    const message = buildProgressMessage(view, progress, clock.now());
    if (view.progressTs) {
      await client.chat.update({ channel: view.slackChannel, ts: view.progressTs, ...message });
      return;
    }
    const posted = await client.chat.postMessage({ channel: view.slackChannel, thread_ts: view.slackTs, ...message });
    if (posted.ts) await views.recordProgressMessage(sendingId, posted.ts);
  }

  function flushProgress(sendingId: string) {
    progressTimers.delete(sendingId);
    const progress = pendingProgress.get(sendingId);
    if (!progress) return;
    lastProgressAt.set(sendingId, Date.now());
    void enqueue(sendingId, async () => {
      await upsertProgressMessage(sendingId, progress);
      if (Date.now() - (lastCardAt.get(sendingId) ?? 0) < cardInterval) return;
      lastCardAt.set(sendingId, Date.now());
      await upsertApprovalMessage(sendingId, progress);
    });
  }

  return {
    async sendingChanged(sendingId, event, changeOptions) {
      // The use cases wrote the event with their change; the engine's own events are written here.
      if (!changeOptions?.recorded) await options.outbox.record(sendingId, event);
      // Not awaited: whoever made the change (an API caller, a click) never waits on Slack, which may hang.
      void dispatcher.wake();
      home?.sendingChanged();
    },

    deliveryProgress(sendingId, progress) {
      // Coalesced: at most one Slack update per interval per sending, always with the latest figures.
      pendingProgress.set(sendingId, progress);
      home?.progressed();
      if (progressTimers.has(sendingId)) return;
      const wait = Math.max(0, (lastProgressAt.get(sendingId) ?? 0) + interval - Date.now());
      const timer = setTimeout(() => flushProgress(sendingId), wait);
      timer.unref();
      progressTimers.set(sendingId, timer);
    },

    start() {
      dispatcher.start();
    },

    async postMissing() {
      await dispatcher.wake();
      for (const sendingId of await views.unposted()) {
        await enqueue(sendingId, async () => {
          await upsertApprovalMessage(sendingId);
        });
      }
    },

    async flush() {
      await dispatcher.wake();
      while (queues.size > 0) await Promise.all([...queues.values()]);
      await home?.flush();
    },

    async close() {
      await home?.close();
      await dispatcher.stop();
      for (const timer of progressTimers.values()) clearTimeout(timer);
      progressTimers.clear();
    },
  };
}
