import { describe, expect, it } from "vitest";
import type { RecipientPreview } from "../../src/sendings/preview-recipient.js";
import type { SendingView } from "../../src/sendings/support/sending-view.js";
import { buildApprovalMessage } from "../../src/slack/blocks/approval-message.js";
import { buildAnalysisModal, buildCancelModal, buildPreviewModal, buildRejectModal, buildRescheduleModal } from "../../src/slack/blocks/modals.js";
import { buildProgressMessage } from "../../src/slack/blocks/progress-message.js";
import { buildHelp, buildSendingList } from "../../src/slack/blocks/sending-lists.js";
import { escapeMrkdwn, Limits, mention, plural, truncate } from "../../src/slack/format.js";
import { ActionId } from "../../src/slack/ids.js";
import type { Analysis } from "../../src/mail/analysis/index.js";

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
    startedAt: null,
    finishedAt: null,
    requestedBy: "UREQUESTER",
    status: "PENDING_APPROVAL",
    statusNote: null,
    contentHash: "a".repeat(64),
    recipientCount: 12345,
    preparedCount: 0,
    outcomes: { queued: 12345, prepared: 0, sent: 0, failed: 0, cancelled: 0 },
    failureReasons: [],
    exampleSubject: "Hello Ann",
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

const analysisWith = (warnings: string[], errors: string[]): Analysis => ({
  checks: [
    { id: "links" as const, title: "Links", severity: "pass" as const, evidence: "All 4 links are well-formed https links." },
    ...warnings.map((title) => ({ id: "image-alt" as const, title, severity: "warning" as const, evidence: "<img src=x> has no alt" })),
    ...errors.map((title) => ({ id: "template-errors" as const, title, severity: "error" as const, evidence: "html, line 3: {{#if vip}} is never closed" })),
  ],
  counts: { passed: 1, warnings: warnings.length, errors: errors.length },
});

const at = (minutes: number) => new Date(NOW.getTime() + minutes * 60_000);
const outcomes = (o: Partial<SendingView["outcomes"]>) => ({ queued: 0, prepared: 0, sent: 0, failed: 0, cancelled: 0, ...o });

/** One card for every state an approver meets, as the database would hold it. */
const cardStates: Record<string, SendingView> = {
  pending: view({ analysis: analysisWith([], []) }),
  "blocked by analysis": view({ analysis: analysisWith(["Images without alt text"], ["Template errors"]) }),
  "partly approved": view({ analysis: analysisWith(["No unsubscribe link"], []), approvals: [{ userId: "UAPPROVER1", at: at(-5) }] }),
  scheduled: view({
    status: "SCHEDULED",
    analysis: analysisWith([], []),
    approvals: [{ userId: "UAPPROVER1", at: at(-5) }, { userId: "UAPPROVER2", at: at(-1) }],
  }),
  sending: view({ status: "SENDING", startedAt: at(-2), outcomes: outcomes({ queued: 6000, prepared: 200, sent: 6100, failed: 45 }) }),
  "paused by a person": view({
    status: "PAUSED",
    startedAt: at(-2),
    outcomes: outcomes({ queued: 9000, prepared: 200, sent: 3100, failed: 45 }),
    lastEvent: { actor: "UAPPROVER1", action: "paused", reason: "Wrong link in the footer", at: at(-1) },
  }),
  "paused by the error budget": view({
    status: "PAUSED",
    startedAt: at(-2),
    statusNote: "21 messages failed in a row (last: 550 mailbox unavailable)",
    outcomes: outcomes({ queued: 12324, failed: 21 }),
    failureReasons: [{ reason: "550 mailbox unavailable", count: 21 }],
    lastEvent: { actor: "system", action: "paused automatically", reason: "21 messages failed in a row", at: at(-1) },
  }),
  "cancelled, prepared dropped": view({
    status: "CANCELLED",
    startedAt: at(-3),
    finishedAt: at(-1),
    outcomes: outcomes({ sent: 200, failed: 5, cancelled: 12140 }),
    lastEvent: { actor: "UAPPROVER1", action: "cancelled", reason: "Wrong list", at: at(-1) },
  }),
  "cancelled, prepared still delivered": view({
    status: "CANCELLED",
    startedAt: at(-3),
    outcomes: outcomes({ sent: 200, prepared: 166, cancelled: 11979 }),
    lastEvent: { actor: "UAPPROVER1", action: "cancelled", reason: "Enough for today", at: at(-1) },
  }),
  "completed without failures": view({ status: "COMPLETED", startedAt: at(-10), finishedAt: at(-1), outcomes: outcomes({ sent: 12345 }) }),
  "completed with failures": view({
    status: "COMPLETED",
    startedAt: at(-10),
    finishedAt: at(-1),
    outcomes: outcomes({ sent: 12333, failed: 12 }),
    failureReasons: [{ reason: "550 mailbox unavailable", count: 10 }, { reason: "552 mailbox full", count: 2 }],
  }),
  rejected: view({ status: "REJECTED", rejection: { userId: "UAPPROVER1", reason: "Wrong code", at: at(-1) } }),
};

const headerOf = (message: { blocks: unknown[] }) => (message.blocks[0] as { type: string; text: { text: string } }).text.text;
const actionIdsOf = (blocks: unknown[]) =>
  (blocks as Array<{ type: string; elements?: Array<{ type: string; action_id?: string; options?: { value: string }[] }> }>)
    .filter((b) => b.type === "actions")
    .flatMap((b) => b.elements ?? [])
    .flatMap((e) => (e.type === "overflow" ? (e.options ?? []).map((o) => `more:${(JSON.parse(o.value) as { do: string }).do}`) : [e.action_id ?? ""]));
const primaryOf = (blocks: unknown[]) =>
  (blocks as Array<{ type: string; elements?: Array<{ style?: string; action_id?: string }> }>)
    .flatMap((b) => (b.type === "actions" ? (b.elements ?? []) : []))
    .filter((e) => e.style === "primary")
    .map((e) => e.action_id);

describe("the card, state by state", () => {
  it.each(Object.entries(cardStates))("%s (snapshot)", (_, state) => {
    const message = buildApprovalMessage(state);
    expect(message).toMatchSnapshot();
    expectWithinLimits(message.blocks);
    // It leads with its state: an emoji and a word, before the sending's name.
    expect(message.blocks[0]).toMatchObject({ type: "header" });
    expect(headerOf(message)).toMatch(/^:[a-z_]+: [A-Z][a-z]+( [a-z]+)*: Spring newsletter$/);
    // At most one primary action, and never a code span (Slack draws them red).
    expect(primaryOf(message.blocks).length).toBeLessThanOrEqual(1);
    expect(JSON.stringify(message.blocks)).not.toContain("`");
  });

  it("says which state needs someone: the word for each state", () => {
    const words = Object.fromEntries(Object.entries(cardStates).map(([name, state]) => [name, headerOf(buildApprovalMessage(state)).replace(/: Spring newsletter$/, "")]));
    expect(words).toEqual({
      pending: ":hourglass_flowing_sand: Needs approval",
      "blocked by analysis": ":no_entry: Blocked",
      "partly approved": ":hourglass_flowing_sand: Needs approval",
      scheduled: ":white_check_mark: Approved",
      sending: ":outbox_tray: Sending",
      "paused by a person": ":double_vertical_bar: Paused",
      "paused by the error budget": ":warning: Paused by sendgate",
      "cancelled, prepared dropped": ":x: Cancelled",
      "cancelled, prepared still delivered": ":x: Cancelled",
      "completed without failures": ":checkered_flag: Delivered",
      "completed with failures": ":warning: Delivered with failures",
      rejected: ":no_entry_sign: Rejected",
    });
  });

  it("offers one primary action for the state, the rarer ones in the menu", () => {
    const actions = Object.fromEntries(Object.entries(cardStates).map(([name, state]) => [name, actionIdsOf(buildApprovalMessage(state).blocks)]));
    expect(actions.pending).toEqual([ActionId.approve, ActionId.preview, ActionId.reject, `more:${ActionId.analysis}`, `more:${ActionId.reschedule}`, `more:${ActionId.cancel}`]);
    expect(actions.scheduled).toEqual([ActionId.preview, `more:${ActionId.analysis}`, `more:${ActionId.reschedule}`, `more:${ActionId.cancel}`]);
    expect(actions.sending).toEqual([ActionId.pause, ActionId.preview, ActionId.cancel]);
    expect(actions["paused by a person"]).toEqual([ActionId.resume, ActionId.preview, ActionId.cancel]);
    for (const finished of ["completed with failures", "rejected", "cancelled, prepared dropped"]) expect(actions[finished]).toEqual([]);
    expect(primaryOf(buildApprovalMessage(cardStates.pending!).blocks)).toEqual([ActionId.approve]);
    expect(primaryOf(buildApprovalMessage(cardStates.sending!).blocks)).toEqual([ActionId.pause]);
    expect(primaryOf(buildApprovalMessage(cardStates["paused by a person"]!).blocks)).toEqual([ActionId.resume]);
  });

  it("blocked by analysis: no Approve, and the errors named on the card", () => {
    const message = buildApprovalMessage(cardStates["blocked by analysis"]!);
    expect(actionIdsOf(message.blocks)).not.toContain(ActionId.approve);
    const json = JSON.stringify(message.blocks);
    expect(json).toContain("Approval is blocked until this is fixed:");
    expect(json).toContain("*Template errors*: html, line 3: {{#if vip}} is never closed");
  });

  it("outcomes add up to the recipient count, and a cancelled sending is never 100%", () => {
    for (const [name, state] of Object.entries(cardStates)) {
      const o = state.outcomes;
      expect(o.queued + o.prepared + o.sent + o.failed + o.cancelled, name).toBe(state.recipientCount);
    }
    const dropped = JSON.stringify(buildApprovalMessage(cardStates["cancelled, prepared dropped"]!).blocks);
    expect(dropped).toContain("*Outcome* of 12,345 recipients: *200* delivered · *5* failed · *12,140* cancelled");
    const delivering = JSON.stringify(buildApprovalMessage(cardStates["cancelled, prepared still delivered"]!).blocks);
    expect(delivering).toContain("*200* delivered · *0* failed · *11,979* cancelled · *166* still going out");
    const failures = JSON.stringify(buildApprovalMessage(cardStates["completed with failures"]!).blocks);
    expect(failures).toContain("*12,333* delivered · *12* failed");
    expect(failures).toContain("Main failure reasons: 550 mailbox unavailable (10); 552 mailbox full (2)");
    const sending = JSON.stringify(buildApprovalMessage(cardStates.sending!).blocks);
    expect(sending).toContain("49% · 6,100 delivered · 45 failed · 6,200 waiting");
    for (const state of Object.values(cardStates).filter((s) => s.status === "CANCELLED")) {
      expect(JSON.stringify(buildApprovalMessage(state).blocks)).not.toContain("100%");
    }
  });

  it("live figures from the engine replace the stored ones while delivering", () => {
    const live = buildApprovalMessage(cardStates.sending!, { outcomes: outcomes({ queued: 2000, prepared: 100, sent: 10200, failed: 45 }) });
    expect(JSON.stringify(live.blocks)).toContain("82% · 10,200 delivered · 45 failed · 2,100 waiting");
  });

  it("shows the subject as the first recipient sees it beside the template", () => {
    const field = JSON.stringify(buildApprovalMessage(cardStates.pending!).blocks);
    expect(field).toContain(JSON.stringify("*Subject*\nHello {{firstName}}\n_Hello Ann_ (as the first recipient sees it)").slice(1, -1));
  });

  it("tells the self-pause cause once, in plain words", () => {
    const json = JSON.stringify(buildApprovalMessage(cardStates["paused by the error budget"]!).blocks);
    expect(json.match(/21 messages failed in a row/g)).toHaveLength(1);
  });

  it("names who changed things through the API by the token's name", () => {
    const card = buildApprovalMessage(view({ status: "CANCELLED", lastEvent: { actor: "api:crm-prod", action: "cancelled", reason: "x", at: at(-1) } }));
    expect(JSON.stringify(card.blocks)).toContain("Cancelled by API token _crm-prod_");
  });

  it("names who paused or cancelled with an operator token, in plain words and escaped", () => {
    const card = buildApprovalMessage(view({ status: "PAUSED", lastEvent: { actor: "operator:oncall", action: "paused", reason: null, at: at(-1) } }));
    expect(JSON.stringify(card.blocks)).toContain("Paused by operator _oncall_");
    expect(mention("operator:<!here>")).toBe("operator _&lt;!here&gt;_");
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
      buildCancelModal({ ...ctx, recipientCount: 5000, outcomes: outcomes({ sent: 3000, failed: 10, prepared: 1200, queued: 790 }) }),
      buildCancelModal({ ...ctx, recipientCount: 5000, outcomes: outcomes({ queued: 5000 }) }),
    ];
    for (const modal of modals) {
      expect(modal.title.text.length).toBeLessThanOrEqual(Limits.modalTitle);
      expect((modal.private_metadata ?? "").length).toBeLessThanOrEqual(Limits.privateMetadata);
      expectWithinLimits(modal.blocks, Limits.blocksPerModal);
    }
    // What "prepared" means, with numbers that add up to the recipient count.
    const cancel = JSON.stringify(modals[3]);
    expect(cancel).toContain("Of 5,000 recipients: 3,000 delivered · 10 failed · 1,200 prepared · 790 not yet prepared.");
    expect(cancel).toContain("Cancelling stops the 790 not yet prepared.");
    expect(cancel).toContain("What happens to the 1,200 prepared messages?");
    expect(cancel).toContain("already rendered and waiting for their turn at the mail server");
    expect(cancel).toContain("Drop them: 1,200 recipients will not get it");
    expect(cancel).toContain("Deliver them: 1,200 recipients still get it");
    expect(JSON.stringify(modals[4]!.blocks)).not.toContain("prepared");
    expect(JSON.stringify(modals[4]!.blocks)).toContain("None of its 5,000 recipients will get it.");
    const one = JSON.stringify(buildCancelModal({ ...ctx, recipientCount: 3, outcomes: outcomes({ sent: 1, prepared: 1, queued: 1 }) }));
    expect(one).toContain("What happens to the 1 prepared message?");
    expect(one).toContain("Deliver it: 1 recipient still gets it");
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
      message: { subject: hostile, html: `<p>${"x".repeat(100)}</p>`.repeat(100), text: "unused" },
      filledVariables: ["firstName"],
      missingVariables: ["coupon"],
      previousId: 6,
      nextId: 8,
    };
    const modal = buildPreviewModal(preview);
    expectWithinLimits(modal.blocks, Limits.blocksPerModal);
    const json = JSON.stringify(modal.blocks);
    expect(json).toContain("The body is cut here; the whole message is 10,198 characters.");
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
      buildCancelModal({ ...ctx, recipientCount: 10, outcomes: outcomes({ prepared: 3, queued: 7 }) }),
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
      finishedAt: null,
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

  it("the thread's report counts what was delivered, and says rate and time left only once known", () => {
    const progress = {
      total: 1000, queued: 400, prepared: 50, sent: 540, failed: 10, cancelled: 0, rate: 25,
      startedAt: new Date(NOW.getTime() - 60_000), failureReasons: [{ reason: hostile, count: 10 }],
    };
    const sending = buildProgressMessage(view({ status: "SENDING" }), progress, NOW);
    const text = JSON.stringify(sending.blocks);
    expect(text).toContain("54% delivered");
    expect(text).toContain("*540* delivered · *10* failed · *450* waiting — of 1,000");
    expect(text).toContain("25 messages/s · about 18s left");
    // The controls are on the card; the thread holds the report.
    expect(text).not.toContain('"actions"');
    expect(text).not.toContain("`");
    const first = JSON.stringify(buildProgressMessage(view({ status: "SENDING" }), { ...progress, sent: 0, failed: 0, queued: 1000, prepared: 0, rate: 0, startedAt: NOW }, NOW).blocks);
    expect(first).not.toMatch(/messages\/s|unknown/);
    const paused = JSON.stringify(buildProgressMessage(view({ status: "PAUSED", statusNote: "5 failures in a row" }), progress, NOW).blocks);
    expect(paused).toContain("already handed to the mail server when it paused still arrive");
    expect(paused).not.toContain("5 failures in a row"); // the card says it once
    const cancelled = JSON.stringify(
      buildProgressMessage(view({ status: "CANCELLED" }), { ...progress, queued: 0, prepared: 0, sent: 200, failed: 0, cancelled: 800 }, NOW).blocks,
    );
    expect(cancelled).toContain("20% delivered");
    expect(cancelled).toContain("*200* delivered · *0* failed · *800* cancelled — of 1,000");
    const done = buildProgressMessage(view({ status: "COMPLETED" }), { ...progress, queued: 0, prepared: 0, sent: 990 }, NOW);
    // Measured on sendgate's clock, the one the engine stamped startedAt with.
    expect(JSON.stringify(done.blocks)).toContain("Took 1m 0s.");
    expect(JSON.stringify(done.blocks)).toContain("Delivered with failures");
    for (const m of [sending, done]) expectWithinLimits(m.blocks);
  });
});

describe("format", () => {
  it("says one and many in the right number", () => {
    expect([plural(0, "recipient"), plural(1, "recipient"), plural(12345, "recipient")]).toEqual(["0 recipients", "1 recipient", "12,345 recipients"]);
  });
  it("escapes the three characters Slack parses", () => {
    expect(escapeMrkdwn("a & <b> c")).toBe("a &amp; &lt;b&gt; c");
  });
  it("truncates by code points, never splitting an emoji", () => {
    expect(truncate("🙂🙂🙂", 2)).toBe("🙂…");
    expect(truncate("abc", 3)).toBe("abc");
  });
});

describe("analysis on the approval message", () => {
  const analysis = analysisWith;
  const approveButton = (blocks: unknown[]) =>
    (blocks as Array<{ elements?: Array<{ action_id?: string; confirm?: { text: { text: string } } }> }>)
      .flatMap((b) => b.elements ?? [])
      .find((e) => e.action_id === "sending.approve");

  it("names the warnings and makes approving acknowledge each one", () => {
    const message = buildApprovalMessage(view({ analysis: analysis(["Images without alt text", "No unsubscribe link"], []) }));
    expect(JSON.stringify(message.blocks)).toContain(":warning: 2 warnings: Images without alt text · No unsubscribe link");
    const confirm = approveButton(message.blocks)?.confirm?.text.text ?? "";
    expect(confirm).toContain("goes to 12,345 recipients");
    expect(confirm).toContain("acknowledge 2 warnings");
    expect(confirm).toContain("Images without alt text");
    expect(confirm.length).toBeLessThanOrEqual(Limits.confirmText);
    expect(JSON.stringify(buildApprovalMessage(view({ recipientCount: 1, analysis: analysis([], []) })).blocks)).toContain("goes to 1 recipient ");
  });

  it("no analysis clutter once the sending is finished", () => {
    const done = buildApprovalMessage(view({ status: "COMPLETED", analysis: analysis(["W"], []), outcomes: outcomes({ sent: 12345 }) }));
    expect(JSON.stringify(done.blocks)).not.toMatch(/Analysis|warning|checks? passed/i);
  });

  it("the analysis modal lists errors first, escaped, within limits", () => {
    const modal = buildAnalysisModal({ sendingId: "snd_0a1b2c3d4e", name: hostile, analysis: analysis(["W"], ["E"]) });
    expectWithinLimits(modal.blocks, Limits.blocksPerModal);
    const sections = JSON.stringify(modal.blocks);
    expect(sections.indexOf(":no_entry: *E*")).toBeLessThan(sections.indexOf(":warning: *W*"));
    expect(sections).toContain("&lt;img src=x&gt; has no alt");
  });
});
