import { describe, expect, it } from "vitest";
import type { RecipientPreview } from "../../src/sendings/preview-recipient.js";
import type { SendingView } from "../../src/sendings/support/sending-view.js";
import { buildApprovalMessage } from "../../src/slack/blocks/approval-message.js";
import { buildAnalysisModal, buildCancelModal, buildPreviewModal, buildRejectModal, buildRescheduleModal } from "../../src/slack/blocks/modals.js";
import { buildProgressMessage } from "../../src/slack/blocks/progress-message.js";
import { buildHelp, buildSendingList } from "../../src/slack/blocks/sending-lists.js";
import { escapeMrkdwn, Limits, truncate } from "../../src/slack/format.js";

const NOW = new Date("2026-11-27T10:00:00Z");
const hostile = "<!channel> <@U999> <https://evil.test|Your bank> & *bold* " + "ÄÖÜ🙂".repeat(2000);

function view(overrides: Partial<SendingView> = {}): SendingView {
  return {
    id: "snd_0a1b2c3d4e",
    name: "Spring newsletter",
    subject: "Hello {{firstName}}",
    fromName: "Acme",
    fromEmail: "news@acme.test",
    replyTo: null,
    launchAt: new Date("2026-12-01T08:00:00Z"),
    requestedBy: "UREQUESTER",
    status: "PENDING_APPROVAL",
    statusNote: null,
    contentHash: "a".repeat(64),
    recipientCount: 12345,
    preparedCount: 0,
    slackChannel: "C0APPROVALS",
    slackTs: "1700000000.000001",
    progressTs: null,
    approvals: [],
    rejection: null,
    lastEvent: null,
    requiredApprovals: 2,
    analysis: null,
    ...overrides,
  };
}

/** Every text object in a block tree, with its type. */
function texts(node: unknown, out: { type: string; text: string }[] = []) {
  if (Array.isArray(node)) node.forEach((n) => texts(n, out));
  else if (node && typeof node === "object") {
    const o = node as Record<string, unknown>;
    if ((o.type === "mrkdwn" || o.type === "plain_text") && typeof o.text === "string") out.push({ type: o.type, text: o.text });
    Object.values(o).forEach((v) => texts(v, out));
  }
  return out;
}

function expectWithinLimits(blocks: unknown[], maxBlocks: number = Limits.blocksPerMessage) {
  expect(blocks.length).toBeLessThanOrEqual(maxBlocks);
  for (const t of texts(blocks)) {
    expect(t.text.length).toBeLessThanOrEqual(Limits.sectionText);
    if (t.type === "mrkdwn") {
      // Untrusted text can neither ping, mention nor link.
      expect(t.text).not.toContain("<!channel>");
      expect(t.text).not.toContain("<@U999>");
      expect(t.text).not.toContain("<https://evil.test");
    }
  }
  const buttons = JSON.stringify(blocks).match(/"type":"button","text":\{"type":"plain_text","text":"((?:[^"\\]|\\.)*)"/g) ?? [];
  for (const b of buttons) expect(b.length).toBeLessThan(Limits.buttonText + 60);
}

describe("approval message", () => {
  it("renders a pending sending (snapshot)", () => {
    expect(buildApprovalMessage(view())).toMatchSnapshot();
  });

  it("renders a rejected sending without buttons, with who and why (snapshot)", () => {
    const message = buildApprovalMessage(
      view({ status: "REJECTED", rejection: { userId: "UAPPROVER1", reason: "Wrong code", at: new Date("2026-11-27T10:00:00Z") } }),
    );
    expect(message).toMatchSnapshot();
    expect(JSON.stringify(message.blocks)).not.toContain('"type":"actions"');
  });

  it("keeps hostile names, subjects and reasons inert and within limits", () => {
    for (const status of ["PENDING_APPROVAL", "REJECTED", "CANCELLED", "SCHEDULED"] as const) {
      const message = buildApprovalMessage(
        view({
          status,
          name: hostile,
          subject: hostile,
          fromName: hostile,
          statusNote: hostile,
          rejection: { userId: "UAPPROVER1", reason: hostile, at: new Date() },
          lastEvent: { actor: "UAPPROVER1", action: "cancelled", reason: hostile, at: new Date() },
        }),
      );
      expectWithinLimits(message.blocks);
      const header = message.blocks[0] as { text: { text: string } };
      expect([...header.text.text].length).toBeLessThanOrEqual(Limits.headerText);
    }
  });

  it("a forged approver id is not turned into a mention", () => {
    const message = buildApprovalMessage(view({ requestedBy: "<!here>", approvals: [{ userId: "U1|x>", at: new Date() }] }));
    expect(JSON.stringify(message.blocks)).not.toContain("<!here>");
  });
});

describe("modals", () => {
  it("reject, reschedule and cancel modals (snapshots) respect title and metadata limits", () => {
    const ctx = { sendingId: "snd_0a1b2c3d4e", name: hostile };
    const modals = [
      buildRejectModal(ctx),
      buildRescheduleModal({ ...ctx, launchAt: new Date("2026-12-01T08:00:00Z") }),
      buildRescheduleModal({ ...ctx, launchAt: new Date("2026-12-01T08:00:00Z"), lateLaunch: true }),
      buildCancelModal({ ...ctx, preparedCount: 1200 }),
      buildCancelModal({ ...ctx, preparedCount: 0 }),
    ];
    for (const modal of modals) {
      expect(modal.title.text.length).toBeLessThanOrEqual(Limits.modalTitle);
      expect((modal.private_metadata ?? "").length).toBeLessThanOrEqual(Limits.privateMetadata);
      expectWithinLimits(modal.blocks, Limits.blocksPerModal);
    }
    expect(JSON.stringify(modals[3])).toContain("Drop the 1,200 prepared messages");
    expect(JSON.stringify(modals[4]!.blocks)).not.toContain("prepared");
    expect(modals.slice(0, 2).map((m) => ({ ...m, blocks: m.blocks.slice(1) }))).toMatchSnapshot();
  });

  it("preview cuts long bodies with a note and shows missing variables", () => {
    const preview: RecipientPreview = {
      sendingId: "snd_0a1b2c3d4e",
      recipientId: 7,
      position: 3,
      total: 1_000_000,
      from: { name: hostile, email: "news@acme.test" },
      to: "ann@example.com",
      replyTo: null,
      message: { subject: hostile, html: "", text: "x".repeat(10_000) },
      filledVariables: ["firstName"],
      missingVariables: ["coupon"],
      previousId: 6,
      nextId: 8,
    };
    const modal = buildPreviewModal(preview);
    expectWithinLimits(modal.blocks, Limits.blocksPerModal);
    const json = JSON.stringify(modal.blocks);
    expect(json).toContain("The body is cut at 2,900 characters of 10,000");
    expect(json).toContain("Missing for this recipient: coupon");
    expect(json).toContain("Recipient 3 of 1,000,000");
  });

  it("every modal with an input block has a submit button, as Slack requires", () => {
    const ctx = { sendingId: "snd_0a1b2c3d4e", name: "Spring" };
    const preview: RecipientPreview = {
      sendingId: ctx.sendingId, recipientId: 7, position: 1, total: 2,
      from: { name: "Acme", email: "news@acme.test" }, to: "ann@example.com", replyTo: null,
      message: { subject: "Hi", html: "", text: "Hi" }, filledVariables: [], missingVariables: [], previousId: null, nextId: 8,
    };
    const modals = [
      buildPreviewModal(preview),
      buildPreviewModal(preview, { htmlUrl: "https://sendgate.acme.test/preview/x", note: "Test sent" }),
      buildRejectModal(ctx),
      buildRescheduleModal({ ...ctx, launchAt: new Date("2026-12-01T08:00:00Z"), lateLaunch: true }),
      buildCancelModal({ ...ctx, preparedCount: 3 }),
    ];
    for (const modal of modals) {
      if (modal.blocks.some((block) => block.type === "input")) expect(modal.submit, modal.callback_id).toBeDefined();
    }
    // The preview is a viewer: its search is an accessory, and there is nothing to submit.
    expect(modals[0]!.submit).toBeUndefined();
    expect(JSON.stringify(modals[0]!.blocks)).toContain('"type":"external_select"');
  });
});

describe("lists and progress", () => {
  it("a full page of hostile names stays within limits", () => {
    const items = Array.from({ length: 10 }, (_, i) => ({
      id: `snd_00000000${String(i).padStart(2, "0")}`,
      name: hostile,
      status: "SENDING" as const,
      launchAt: new Date(),
      requestedBy: "U1",
      recipientCount: 1000,
      updatedAt: new Date(),
      sent: 500,
      failed: 3,
    }));
    const message = buildSendingList({ list: "in-progress", page: 2, pageSize: 10, total: 35, items });
    expectWithinLimits(message.blocks);
    expect(JSON.stringify(message.blocks)).toContain("Page 2 of 4");
    expect(JSON.stringify(message.blocks).match(/sending\.pause/g)).toHaveLength(10);
    expect(buildHelp(hostile).blocks.length).toBe(2);
    expectWithinLimits(buildHelp(hostile).blocks);
  });

  it("progress shows the controls that apply to the status", () => {
    const progress = {
      total: 1000, queued: 400, prepared: 50, sent: 540, failed: 10, cancelled: 0, rate: 25,
      startedAt: new Date(NOW.getTime() - 60_000), failureReasons: [{ reason: hostile, count: 10 }],
    };
    const sending = buildProgressMessage(view({ status: "SENDING" }), progress, NOW);
    expect(JSON.stringify(sending.blocks)).toMatch(/sending\.pause.*sending\.cancel/);
    const paused = buildProgressMessage(view({ status: "PAUSED", statusNote: "5 failures in a row" }), progress, NOW);
    expect(JSON.stringify(paused.blocks)).toMatch(/sending\.resume.*sending\.cancel/);
    const done = buildProgressMessage(view({ status: "COMPLETED" }), progress, NOW);
    expect(JSON.stringify(done.blocks)).not.toContain('"actions"');
    // Measured on sendgate's clock, the one the engine stamped startedAt with.
    expect(JSON.stringify(done.blocks)).toContain("Took 1m 0s.");
    for (const m of [sending, paused, done]) expectWithinLimits(m.blocks);
    expect(JSON.stringify(sending.blocks)).toContain("*540* sent · *10* failed · 1,000 in all");
  });
});

describe("format", () => {
  it("escapes the three characters Slack parses", () => {
    expect(escapeMrkdwn("a & <b> c")).toBe("a &amp; &lt;b&gt; c");
  });
  it("truncates by code points, never splitting an emoji", () => {
    expect(truncate("🙂🙂🙂", 2)).toBe("🙂…");
    expect(truncate("abc", 3)).toBe("abc");
  });
});

describe("analysis on the approval message", () => {
  const analysis = (warnings: string[], errors: string[]) => ({
    checks: [
      { id: "links" as const, title: "Links", severity: "pass" as const, evidence: "All 4 links are well-formed https links." },
      ...warnings.map((title) => ({ id: "image-alt" as const, title, severity: "warning" as const, evidence: "<img src=x> has no alt" })),
      ...errors.map((title) => ({ id: "template-errors" as const, title, severity: "error" as const, evidence: "line 3" })),
    ],
    counts: { passed: 1, warnings: warnings.length, errors: errors.length },
  });
  const approveButton = (blocks: unknown[]) =>
    (blocks as Array<{ elements?: Array<{ action_id?: string; confirm?: { text: { text: string } } }> }>)
      .flatMap((b) => b.elements ?? [])
      .find((e) => e.action_id === "sending.approve");

  it("summarizes the checks and makes approving acknowledge each warning", () => {
    const message = buildApprovalMessage(view({ analysis: analysis(["Images without alt text", "No unsubscribe link"], []) }));
    expect(JSON.stringify(message.blocks)).toContain("Analysis: 1 check passed, 2 warnings, 0 errors.");
    const confirm = approveButton(message.blocks)?.confirm?.text.text ?? "";
    expect(confirm).toContain("acknowledge 2 warnings");
    expect(confirm).toContain("Images without alt text");
    expect(confirm.length).toBeLessThanOrEqual(Limits.confirmText);
  });

  it("with errors, says approval is blocked and Approve has nothing to confirm", () => {
    const message = buildApprovalMessage(view({ analysis: analysis([], ["Template errors"]) }));
    expect(JSON.stringify(message.blocks)).toContain("Approval is blocked until the errors are fixed.");
    expect(approveButton(message.blocks)?.confirm).toBeUndefined();
  });

  it("the analysis modal lists errors first, escaped, within limits", () => {
    const modal = buildAnalysisModal({ sendingId: "snd_0a1b2c3d4e", name: hostile, analysis: analysis(["W"], ["E"]) });
    expectWithinLimits(modal.blocks, Limits.blocksPerModal);
    const sections = JSON.stringify(modal.blocks);
    expect(sections.indexOf(":no_entry: *E*")).toBeLessThan(sections.indexOf(":warning: *W*"));
    expect(sections).toContain("&lt;img src=x&gt; has no alt");
  });
});
