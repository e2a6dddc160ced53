import type { types } from "@slack/bolt";
import type { DeliveryProgress } from "../../sendings/support/ports.js";
import type { SendingView } from "../../sendings/support/sending-view.js";
import { formatCount, mrkdwn, plain, safeMrkdwn, Limits } from "../format.js";
import { ActionId } from "../ids.js";
import type { SlackMessage } from "./approval-message.js";

const BAR_WIDTH = 20;

export function progressBar(done: number, total: number): string {
  const filled = total > 0 ? Math.min(BAR_WIDTH, Math.round((done / total) * BAR_WIDTH)) : 0;
  return `${"█".repeat(filled)}${"░".repeat(BAR_WIDTH - filled)}`;
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "unknown";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

/** The live delivery message in a sending's thread, with the controls that apply now (`now` from sendgate's clock). */
export function buildProgressMessage(view: SendingView, progress: DeliveryProgress | undefined, now: Date): SlackMessage {
  const total = progress?.total ?? view.recipientCount;
  const sent = progress?.sent ?? 0;
  const failed = progress?.failed ?? 0;
  const done = sent + failed + (progress?.cancelled ?? 0);
  const remaining = Math.max(0, total - done);
  const rate = progress?.rate ?? 0;
  const lines = [`\`${progressBar(done, total)}\` ${total > 0 ? Math.floor((done / total) * 100) : 0}%`];
  lines.push(`*${formatCount(sent)}* sent · *${formatCount(failed)}* failed · ${formatCount(total)} in all`);
  if (view.status === "SENDING") lines.push(`${rate.toFixed(1)} messages/s · about ${duration(rate > 0 ? remaining / rate : NaN)} left`);
  if (progress && (view.status === "COMPLETED" || view.status === "CANCELLED")) {
    lines.push(`Took ${duration((now.getTime() - progress.startedAt.getTime()) / 1000)}.`);
    if (progress.cancelled > 0) lines.push(`${formatCount(progress.cancelled)} not sent (cancelled).`);
  }
  if (progress && progress.failureReasons.length > 0) {
    lines.push(
      `Main failure reasons: ${progress.failureReasons
        .slice(0, 3)
        .map((r) => `${safeMrkdwn(r.reason, 200)} (${formatCount(r.count)})`)
        .join("; ")}`,
    );
  }
  if (view.statusNote && view.status === "PAUSED") lines.push(`:warning: ${safeMrkdwn(view.statusNote, 1000)}`);
  const heading: Record<string, string> = {
    SENDING: ":outbox_tray: Delivering",
    PAUSED: ":double_vertical_bar: Paused",
    COMPLETED: ":checkered_flag: Delivered",
    CANCELLED: ":x: Cancelled",
  };
  const blocks: types.KnownBlock[] = [
    { type: "section", text: mrkdwn(`*${heading[view.status] ?? view.status}*\n${lines.join("\n")}`) },
  ];
  const button = (text: string, actionId: string, style?: "primary" | "danger"): types.Button => ({
    type: "button",
    text: plain(text, Limits.buttonText),
    action_id: actionId,
    value: view.id,
    ...(style ? { style } : {}),
  });
  if (view.status === "SENDING") blocks.push({ type: "actions", elements: [button("Pause", ActionId.pause), button("Cancel", ActionId.cancel, "danger")] });
  if (view.status === "PAUSED") blocks.push({ type: "actions", elements: [button("Resume", ActionId.resume, "primary"), button("Cancel", ActionId.cancel, "danger")] });
  return { text: `${heading[view.status] ?? view.status}: ${formatCount(sent)} of ${formatCount(total)} sent`, blocks };
}
