import type { types } from "@slack/bolt";
import type { DeliveryProgress } from "../../sendings/support/ports.js";
import type { SendingView } from "../../sendings/support/sending-view.js";
import { formatCount, mrkdwn, safeMrkdwn } from "../format.js";
import { percent, type SlackMessage } from "./approval-message.js";
import { progressBar } from "./progress-bar.js";

function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

/** A rate is worth showing once it rests on a few seconds of delivery. */
const RATE_KNOWN_AFTER_MS = 5_000;

/**
 * The delivery report in a sending's thread (`now` from sendgate's clock): a bar of what was
 * delivered, where every recipient stands, the rate and time left once known, the main failure
 * reasons. The controls are on the card; the thread holds the report and the notes.
 */
export function buildProgressMessage(view: SendingView, progress: DeliveryProgress | undefined, now: Date): SlackMessage {
  const total = progress?.total ?? view.recipientCount;
  const o = progress ?? { ...view.outcomes, rate: 0, startedAt: view.startedAt ?? now, failureReasons: view.failureReasons };
  const waiting = o.queued + o.prepared;
  const lines = [`${progressBar(o.sent, total)} ${percent(o.sent, total)} delivered`];
  const parts = [`*${formatCount(o.sent)}* delivered`, `*${formatCount(o.failed)}* failed`];
  if (waiting > 0) parts.push(`*${formatCount(waiting)}* waiting`);
  if (o.cancelled > 0) parts.push(`*${formatCount(o.cancelled)}* cancelled`);
  lines.push(`${parts.join(" · ")} — of ${formatCount(total)}`);
  const elapsedMs = now.getTime() - o.startedAt.getTime();
  if (view.status === "SENDING" && o.rate > 0 && elapsedMs >= RATE_KNOWN_AFTER_MS) {
    lines.push(`${o.rate >= 10 ? Math.round(o.rate) : o.rate.toFixed(1)} messages/s · about ${duration(waiting / o.rate)} left`);
  }
  if (view.status === "PAUSED") {
    lines.push("_Messages already handed to the mail server when it paused still arrive, so the count can rise a little._");
  }
  if (progress && (view.status === "COMPLETED" || view.status === "CANCELLED") && elapsedMs > 0) {
    lines.push(`Took ${duration(elapsedMs / 1000)}.`);
  }
  if (o.failureReasons.length > 0) {
    lines.push(
      `Main failure reasons: ${o.failureReasons
        .slice(0, 3)
        .map((r) => `${safeMrkdwn(r.reason, 200)} (${formatCount(r.count)})`)
        .join("; ")}`,
    );
  }
  const heading: Record<string, string> = {
    SCHEDULED: ":outbox_tray: Starting",
    SENDING: ":outbox_tray: Delivering",
    PAUSED: ":double_vertical_bar: Paused",
    COMPLETED: o.failed > 0 ? ":warning: Delivered with failures" : ":checkered_flag: Delivered",
    CANCELLED: ":x: Cancelled",
  };
  const title = heading[view.status] ?? view.status;
  const blocks: types.KnownBlock[] = [{ type: "section", text: mrkdwn(`*${title}*\n${lines.join("\n")}`) }];
  return { text: `${title}: ${formatCount(o.sent)} of ${formatCount(total)} delivered`, blocks };
}
