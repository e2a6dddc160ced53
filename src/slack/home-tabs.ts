import { createHash } from "node:crypto";
import type { webApi } from "@slack/bolt";
import type { Logger } from "pino";
import { loadHomeLists, loadHomeOverview, type HomeLists, type HomeOverview, type HomeOverviewDeps } from "../sendings/home-overview.js";
import { systemClock, type Clock } from "../sendings/support/ports.js";
import { buildHomeTab } from "./blocks/home-tab.js";
import { createOutageReporter, isSlackUnreachable, type OutageReporter } from "./outage-reporter.js";

export interface HomeTabsOptions {
  client: webApi.WebClient;
  deps: HomeOverviewDeps;
  log: Logger;
  /** sendgate's clock: how long a sending has waited is told on it. */
  clock?: Clock;
  /** Shared with the notifier, so that a Slack outage is one warning a minute for both. */
  outage?: OutageReporter;
  /** A refresh waits this long after the change that asks for it: the changes within it are told in one refresh. */
  changeDelayMs?: number;
  /** Delivery figures move all the time: they refresh the Home tabs this seldom. */
  progressDelayMs?: number;
  /** After Slack was unreachable, the next try waits this long. */
  retryDelayMs?: number;
  /** How many people's Home tabs are kept fresh: those who opened theirs last. */
  maxViewers?: number;
  /**
   * views.publish calls a minute spent on refreshes. Slack allows about 100 a minute to the whole
   * workspace; the rest is left for people opening the tab, who are answered at once.
   */
  publishesPerMinute?: number;
  /** Wall time, which Slack's rate limits run on (tests move it); Date.now by default. */
  now?: () => number;
}

export interface HomeTabs {
  /** Someone opened the Home tab: publish theirs now (`shown`: Slack already shows them a view of ours). */
  opened(userId: string, options?: { shown?: boolean }): Promise<void>;
  /** A sending changed: the Home tabs of those who opened theirs are refreshed, coalesced. */
  sendingChanged(): void;
  /** Delivery figures moved: refreshed too, less often. */
  progressed(): void;
  /** Waits for the publishing under way (shutdown, tests); a refresh still waiting for its delay is not forced. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

interface Viewer {
  /** The change count the published view reflects. */
  shownVersion: number;
  /** What was last published, to skip publishing the same view again. */
  digest?: string;
}

const PERMALINKS_KEPT = 1000;

/**
 * Keeps the Home tab of each person who opened it in step with the sendings. Every change bumps a
 * counter; one refresh, a few seconds later, reads the lists everyone sees once and publishes each
 * stale tab that differs from what Slack shows, the longest stale first, within a budget of
 * views.publish calls: 50 people and a burst of 40 changes cost one refresh of at most 50 publishes,
 * spread over a minute, not 2,000. Nothing here blocks a change or a delivery, and a Slack outage
 * is reported, not thrown.
 */
export function createHomeTabs(options: HomeTabsOptions): HomeTabs {
  const { client, deps, log } = options;
  const clock = options.clock ?? systemClock;
  const outage = options.outage ?? createOutageReporter(log);
  const changeDelayMs = options.changeDelayMs ?? 3000;
  const progressDelayMs = options.progressDelayMs ?? 30_000;
  const retryDelayMs = options.retryDelayMs ?? 30_000;
  const maxViewers = options.maxViewers ?? 200;
  const perMinute = options.publishesPerMinute ?? 50;
  const now = options.now ?? Date.now;

  // In order of opening, the latest last: the first are forgotten when there are too many.
  const viewers = new Map<string, Viewer>();
  const permalinks = new Map<string, string>();
  const userQueues = new Map<string, Promise<void>>();
  const inFlight = new Set<Promise<unknown>>();
  let version = 0;
  let timer: NodeJS.Timeout | undefined;
  let dueAt: number | undefined;
  let rounds: Promise<void> = Promise.resolve();
  let closed = false;

  // A token bucket over wall time (Slack's limits are), refilled at `perMinute`; opening a tab may overdraw it.
  const capacity = Math.max(1, Math.ceil(perMinute / 5));
  let tokens = capacity;
  let tokensAt = now();
  const refill = () => {
    const at = now();
    tokens = Math.min(capacity, tokens + ((at - tokensAt) / 60_000) * perMinute);
    tokensAt = at;
  };

  function track<T>(promise: Promise<T>): Promise<T> {
    inFlight.add(promise);
    void promise.finally(() => inFlight.delete(promise)).catch(() => undefined);
    return promise;
  }

  /** One person's publishes go out one after another, so an older view never lands on a newer one. */
  function serialize<T>(userId: string, work: () => Promise<T>): Promise<T> {
    const result = (userQueues.get(userId) ?? Promise.resolve()).then(work);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    userQueues.set(userId, settled);
    void settled.finally(() => {
      if (userQueues.get(userId) === settled) userQueues.delete(userId);
    });
    return result;
  }

  async function flush() {
    while (inFlight.size > 0) await Promise.all([...inFlight]);
  }

  function schedule(delayMs: number) {
    if (closed || viewers.size === 0) return;
    const at = Date.now() + delayMs;
    if (dueAt !== undefined && dueAt <= at) return;
    clearTimeout(timer);
    dueAt = at;
    timer = setTimeout(() => {
      timer = undefined;
      dueAt = undefined;
      rounds = track(rounds.then(refresh).catch((error: unknown) => log.error({ err: error }, "refreshing the Home tabs failed")));
    }, delayMs);
    timer.unref();
  }

  async function cardLinks(overview: HomeOverview): Promise<Map<string, string>> {
    const links = new Map<string, string>();
    await Promise.all(
      (overview.approvals?.items ?? []).map(async (item) => {
        if (!item.card) return;
        const key = `${item.card.channel}/${item.card.ts}`;
        let link = permalinks.get(key);
        if (!link) {
          // A missing link leaves the name without one; the Preview button still works.
          const answer = await client.chat.getPermalink({ channel: item.card.channel, message_ts: item.card.ts }).catch((error: unknown) => {
            log.debug({ err: error, sendingId: item.id }, "no permalink for the approval message");
            return undefined;
          });
          link = answer?.permalink;
          if (!link) return;
          permalinks.set(key, link);
          if (permalinks.size > PERMALINKS_KEPT) permalinks.delete(permalinks.keys().next().value!);
        }
        links.set(item.id, link);
      }),
    );
    return links;
  }

  /**
   * Builds one person's tab as of change `asOf` (`lists` are shared by a refresh) and publishes it
   * unless Slack already shows the same; resolves to whether Slack was called. Throws only when Slack
   * is unreachable (the caller stops and retries later); a refusal is logged.
   */
  function publish(userId: string, asOf: number, lists?: HomeLists): Promise<boolean> {
    return serialize(userId, async () => {
      const viewer = viewers.get(userId);
      // Forgotten meanwhile, or a view at least as fresh went out (the person opened the tab during the refresh).
      if (!viewer || (lists && viewer.shownVersion >= asOf)) return false;
      const overview = await loadHomeOverview(deps, userId, lists);
      const view = buildHomeTab(overview, { userId, now: clock.now() }, await cardLinks(overview));
      const digest = createHash("sha256").update(JSON.stringify(view)).digest("base64url");
      const changed = viewer.digest !== digest;
      if (changed) {
        try {
          await client.views.publish({ user_id: userId, view });
          outage.succeeded();
        } catch (error) {
          if (isSlackUnreachable(error)) {
            outage.failed(error);
            throw error;
          }
          const code = (error as { data?: { error?: string } }).data?.error;
          log.error({ err: error, userId, slackError: code }, "publishing the Home tab failed");
          // Someone who left the workspace has no Home tab to keep fresh.
          if (code === "user_not_found" || code === "account_inactive") viewers.delete(userId);
        }
        viewer.digest = digest;
      }
      viewer.shownVersion = Math.max(viewer.shownVersion, asOf);
      return changed;
    });
  }

  /** One refresh: the stale tabs, longest stale first and then the latest opened, as far as the budget goes. */
  async function refresh() {
    if (closed) return;
    const asOf = version;
    const stale = [...viewers.entries()]
      .reverse()
      .filter(([, viewer]) => viewer.shownVersion < asOf)
      .sort(([, a], [, b]) => a.shownVersion - b.shownVersion)
      .map(([userId]) => userId);
    if (stale.length === 0) return;
    // When the budget runs out, the rest wait until it holds one publish again.
    const untilAffordable = () => Math.max(changeDelayMs, Math.ceil((Math.max(0, 1 - tokens) * 60_000) / perMinute));
    refill();
    if (tokens < 1) return schedule(untilAffordable());
    let lists: HomeLists;
    try {
      lists = await loadHomeLists(deps);
    } catch (error) {
      log.error({ err: error }, "reading the Home tab's lists failed");
      return schedule(retryDelayMs);
    }
    for (const userId of stale) {
      if (closed) return;
      refill();
      if (tokens < 1) return schedule(untilAffordable());
      try {
        // A tab that did not change costs nothing of the budget.
        if (await publish(userId, asOf, lists)) tokens -= 1;
      } catch (error) {
        if (isSlackUnreachable(error)) return schedule(retryDelayMs);
        log.error({ err: error, userId }, "refreshing the Home tab failed");
      }
    }
  }

  return {
    opened(userId, openOptions = {}) {
      const viewer = viewers.get(userId) ?? { shownVersion: -1 };
      viewers.delete(userId);
      viewers.set(userId, viewer);
      if (viewers.size > maxViewers) viewers.delete(viewers.keys().next().value!);
      // Slack shows nothing of ours yet (first opening, or a view lost): publish even an unchanged one.
      if (!openOptions.shown) viewer.digest = undefined;
      refill();
      tokens -= 1;
      return track(
        publish(userId, version).then(
          () => undefined,
          (error: unknown) => {
            // Published once Slack answers again (unreachable), or at the next change.
            if (isSlackUnreachable(error)) schedule(retryDelayMs);
            else log.error({ err: error, userId }, "publishing the Home tab failed");
          },
        ),
      );
    },

    sendingChanged() {
      version += 1;
      schedule(changeDelayMs);
    },

    progressed() {
      version += 1;
      schedule(progressDelayMs);
    },

    flush,

    async close() {
      closed = true;
      clearTimeout(timer);
      timer = undefined;
      dueAt = undefined;
      await flush();
    },
  };
}
