import { describe, expect, it } from "vitest";
import type { Analysis } from "../../src/mail/analysis/index.js";
import type { RecipientPreview } from "../../src/sendings/preview-recipient.js";
import type { DeliveryProgress, SendingEvent } from "../../src/sendings/support/ports.js";
import type { SendingView } from "../../src/sendings/support/sending-view.js";
import { SlackStandin } from "../../src/slack-standin/standin.js";
import { buildApprovalMessage } from "../../src/slack/blocks/approval-message.js";
import {
  buildAnalysisModal,
  buildCancelModal,
  buildNoticeModal,
  buildPreviewModal,
  buildRejectModal,
  buildRescheduleModal,
} from "../../src/slack/blocks/modals.js";
import { buildProgressMessage } from "../../src/slack/blocks/progress-message.js";
import { buildHelp, buildSendingDetails, buildSendingList } from "../../src/slack/blocks/sending-lists.js";
import { describeEvent } from "../../src/slack/blocks/thread-messages.js";
import { describeRefusals } from "../support/slack-api.js";

/**
 * Every Block Kit builder fed with hostile and oversized input, and what it builds sent through the
 * strict stand-in as sendgate sends it: messages with chat.postMessage, modals with views.open.
 */

const TOKEN = "xoxb-builders";
const CHANNEL = "C0BUILDERS";
const long = (n: number) => "Ä🙂<!channel> <@U999> <https://evil.test|bank> & *x* _y_ ~z~ `c`".repeat(Math.ceil(n / 50)).slice(0, n);
const hostileName = long(10_000);
const manyVariables = Array.from({ length: 1000 }, (_, i) => `var_${i}_${"🙂".repeat(5)}`);

function sendingView(overrides: Partial<SendingView> = {}): SendingView {
  return {
    id: "snd_0a1b2c3d4e",
    name: hostileName,
    subject: long(5000),
    fromName: long(3000),
    fromEmail: "news@acme.test",
    replyTo: "help@acme.test",
    launchAt: new Date("2026-12-01T08:00:00Z"),
    requestedBy: "UREQUESTER",
    status: "PENDING_APPROVAL",
    statusNote: long(4000),
    contentHash: "a".repeat(64),
    recipientCount: 1_000_000,
    preparedCount: 123_456,
    outcomes: { queued: 400_000, prepared: 123_456, sent: 400_000, failed: 76_544, cancelled: 0 },
    failureReasons: Array.from({ length: 3 }, () => ({ reason: long(5000), count: 1_000_000 })),
    exampleSubject: long(5000),
    startedAt: new Date("2026-12-01T08:00:00Z"),
    finishedAt: new Date("2026-12-01T09:00:00Z"),
    slackChannel: CHANNEL,
    slackTs: "1700000000.000001",
    progressTs: "1700000000.000002",
    approvals: Array.from({ length: 30 }, (_, i) => ({ userId: `U${String(i).padStart(8, "0")}`, at: new Date("2026-11-27T10:00:00Z") })),
    rejection: { userId: "UAPPROVER1", reason: long(5000), at: new Date("2026-11-27T10:00:00Z") },
    lastEvent: null,
    requiredApprovals: 31,
    analysis: hostileAnalysis(),
    ...overrides,
  } as SendingView;
}

function hostileAnalysis(): Analysis {
  const severities = ["error", "warning", "pass"] as const;
  return {
    checks: Array.from({ length: 150 }, (_, i) => ({
      id: "template-errors" as const,
      title: long(500),
      severity: severities[i % 3]!,
      evidence: long(5000),
    })),
    counts: { passed: 50, warnings: 50, errors: 50 },
  } as unknown as Analysis;
}

const progress: DeliveryProgress = {
  total: 1_000_000,
  queued: 400_000,
  prepared: 200,
  sent: 599_000,
  failed: 800,
  cancelled: 0,
  rate: 1234.5,
  startedAt: new Date(Date.now() - 3600_000),
  failureReasons: Array.from({ length: 50 }, () => ({ reason: long(3000), count: 16 })),
};

const preview: RecipientPreview = {
  sendingId: "snd_0a1b2c3d4e",
  recipientId: 7,
  position: 500_000,
  total: 1_000_000,
  from: { name: hostileName, email: "news@acme.test" },
  to: `${"a".repeat(64)}@${"b".repeat(180)}.test`,
  replyTo: "help@acme.test",
  message: { subject: long(10_000), html: long(10_000), text: long(100_000) },
  filledVariables: manyVariables,
  missingVariables: manyVariables,
  previousId: 6,
  nextId: 8,
};

const statuses = ["PENDING_APPROVAL", "SCHEDULED", "SENDING", "PAUSED", "COMPLETED", "CANCELLED", "REJECTED"] as const;

const events: SendingEvent[] = [
  { kind: "created" },
  { kind: "approved", by: "UAPPROVER1", approvals: 1, required: 2, scheduled: false },
  { kind: "rejected", by: "UAPPROVER1", reason: long(10_000) },
  { kind: "rescheduled", by: "UAPPROVER1", from: new Date(), to: new Date(Date.now() + 3600_000) },
  { kind: "cancelled", by: "UAPPROVER1", reason: long(10_000), prepared: "drop", preparedCount: 200 },
  { kind: "content-changed", by: long(300), changed: manyVariables, approvalsWithdrawn: 3 },
  { kind: "started", progress },
  { kind: "paused", by: "UAPPROVER1", reason: long(10_000) },
  { kind: "resumed", by: "UAPPROVER1" },
  { kind: "auto-paused", reason: long(10_000) },
  { kind: "late-launch", launchAt: new Date() },
  { kind: "reminder", launchAt: new Date() },
  { kind: "completed", progress },
];

function newStandin() {
  // Hundreds of posts into one channel in a few milliseconds: the rate limit is not what is tested here.
  return new SlackStandin({ botToken: TOKEN, users: [{ id: "UAPPROVER1", name: "ann", realName: "Ann", tz: "UTC" }], channels: [{ id: CHANNEL, name: "approvals", members: ["UAPPROVER1"] }], rateLimitScale: 1000 });
}

/** Posts as the notifier does: blocks JSON-encoded in a form post. */
function post(standin: SlackStandin, message: { text: string; blocks?: unknown[] }) {
  return standin.callApi("chat.postMessage", { channel: CHANNEL, text: message.text, ...(message.blocks ? { blocks: JSON.stringify(message.blocks) } : {}) }, TOKEN).body;
}

function open(standin: SlackStandin, view: object) {
  return standin.callApi("views.open", { trigger_id: standin.workspace.issueTrigger("UAPPROVER1"), view: JSON.stringify(view) }, TOKEN).body;
}

describe("every builder, with hostile input, through the strict stand-in", () => {
  it("approval, progress and detail messages in every status", () => {
    const standin = newStandin();
    for (const status of statuses) {
      for (const view of [sendingView({ status }), sendingView({ status, analysis: null, approvals: [], rejection: null, progressTs: null })]) {
        expect(post(standin, buildApprovalMessage(view)), `approval message, ${status}`).toMatchObject({ ok: true });
        expect(post(standin, buildProgressMessage(view, progress, new Date())), `progress, ${status}`).toMatchObject({ ok: true });
        expect(post(standin, buildProgressMessage(view, undefined, new Date())), `progress without figures, ${status}`).toMatchObject({ ok: true });
        expect(post(standin, buildSendingDetails(view)), `details, ${status}`).toMatchObject({ ok: true });
      }
    }
    expect(standin.refusals, describeRefusals(standin.refusals)).toEqual([]);
    expect(standin.warnings).toEqual([]);
  });

  it("lists, help and every thread line", () => {
    const standin = newStandin();
    const items = Array.from({ length: 10 }, (_, i) => ({
      id: `snd_00000000${String(i).padStart(2, "0")}`,
      name: hostileName,
      status: statuses[i % statuses.length]!,
      launchAt: new Date(),
      requestedBy: long(100),
      recipientCount: 1_000_000,
      updatedAt: new Date(),
      finishedAt: null,
      sent: 999_999,
      failed: 1,
    }));
    for (const list of ["pending", "scheduled", "in-progress", "recent"] as const) {
      expect(post(standin, buildSendingList({ list, page: 99_999, pageSize: 10, total: 1_000_000, items })), list).toMatchObject({ ok: true });
      expect(post(standin, buildSendingList({ list, page: 1, pageSize: 10, total: 0, items: [] })), `${list}, empty`).toMatchObject({ ok: true });
    }
    expect(post(standin, buildHelp(long(10_000)))).toMatchObject({ ok: true });
    for (const event of events) {
      const line = describeEvent(event);
      if (line !== null) expect(post(standin, { text: line }), event.kind).toMatchObject({ ok: true });
    }
    expect(standin.refusals, describeRefusals(standin.refusals)).toEqual([]);
  });

  it("every modal", () => {
    const standin = newStandin();
    const ctx = { sendingId: "snd_0a1b2c3d4e", name: hostileName };
    const modals = [
      buildRejectModal(ctx),
      buildRescheduleModal({ ...ctx, launchAt: new Date("2026-12-01T08:00:00Z") }),
      buildRescheduleModal({ ...ctx, launchAt: new Date("2026-12-01T08:00:00Z"), lateLaunch: true }),
      buildCancelModal({ ...ctx, recipientCount: 999_999_999, outcomes: { queued: 1, prepared: 123_456_789, sent: 800_000_000, failed: 76_543_209, cancelled: 0 } }),
      buildCancelModal({ ...ctx, recipientCount: 5, outcomes: { queued: 5, prepared: 0, sent: 0, failed: 0, cancelled: 0 } }),
      buildPreviewModal(preview),
      buildPreviewModal({ ...preview, previousId: null, nextId: null, filledVariables: [], missingVariables: [] }, { htmlUrl: `https://sendgate.acme.test/preview/${"x".repeat(2000)}`, note: long(5000) }),
      buildNoticeModal(long(100), long(10_000)),
      buildAnalysisModal({ ...ctx, analysis: hostileAnalysis() }),
    ];
    for (const [i, modal] of modals.entries()) expect(open(standin, modal), `modal ${i}: ${modal.callback_id}`).toMatchObject({ ok: true });
    expect(standin.refusals, describeRefusals(standin.refusals)).toEqual([]);
  });
});
