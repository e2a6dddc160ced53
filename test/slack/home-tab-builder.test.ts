import { describe, expect, it } from "vitest";
import type { SendingStatus } from "../../src/domain/sending-status.js";
import type { AwaitingApproval, HomeOverview } from "../../src/sendings/home-overview.js";
import type { SendingListItem, SendingListName, SendingListPage } from "../../src/sendings/list-sendings.js";
import { checkView } from "../../src/slack-standin/block-kit.js";
import { buildHomeTab, HOME_TAB_BLOCKS, waitingFor } from "../../src/slack/blocks/home-tab.js";
import { ActionId } from "../../src/slack/ids.js";

const NOW = new Date("2026-11-27T10:00:00Z");
const hours = (n: number) => new Date(NOW.getTime() + n * 3600_000);
const hostile = "<!channel> <@U999> <https://evil.test|Your bank> & *bold* " + "ÄÖÜ🙂".repeat(2000);

function awaiting(i: number, overrides: Partial<AwaitingApproval> = {}): AwaitingApproval {
  return {
    id: `snd_pending${String(i).padStart(3, "0")}`,
    name: `Pending newsletter ${i}`,
    requestedBy: "UREQUESTER",
    launchAt: hours(24 + i),
    waitingSince: hours(-3 - i),
    recipientCount: 1200 + i,
    approvals: 0,
    requiredApprovals: 2,
    blockingErrors: 0,
    card: { channel: "C0APPROVALS", ts: `1700000000.00000${i}` },
    ...overrides,
  };
}

function item(i: number, status: SendingStatus, overrides: Partial<SendingListItem> = {}): SendingListItem {
  return {
    id: `snd_${status.toLowerCase().slice(0, 4)}${String(i).padStart(4, "0")}`,
    name: `${status} newsletter ${i}`,
    status,
    launchAt: hours(i),
    requestedBy: "UREQUESTER",
    recipientCount: 2000,
    updatedAt: hours(-i),
    finishedAt: null,
    sent: 0,
    failed: 0,
    ...overrides,
  };
}

const page = (list: SendingListName, items: SendingListItem[], total = items.length): SendingListPage => ({ list, page: 1, pageSize: 10, total, items });

/** An approver's morning: two wait for them, one scheduled, two delivering (one paused), every kind of outcome. */
function overview(overrides: Partial<HomeOverview> = {}): HomeOverview {
  return {
    pendingTotal: 3,
    scheduled: page("scheduled", [item(1, "SCHEDULED")]),
    inProgress: page("in-progress", [item(1, "SENDING", { sent: 900, failed: 3 }), item(2, "PAUSED", { sent: 100, requestedBy: "UOTHER" })]),
    recent: page(
      "recent",
      [
        item(1, "COMPLETED", { sent: 2000 }),
        item(2, "COMPLETED", { sent: 1990, failed: 10 }),
        item(3, "REJECTED"),
        item(4, "CANCELLED", { sent: 500, failed: 1 }),
        item(5, "CANCELLED"),
      ],
      12,
    ),
    approvals: {
      items: [awaiting(1, { approvals: 1 }), awaiting(2, { blockingErrors: 2, launchAt: hours(-1), card: null })],
      total: 2,
      requestedByViewer: 1,
      approvedByViewer: 0,
    },
    isApprover: true,
    ...overrides,
  };
}

const viewer = { userId: "UAPPROVER1", now: NOW };
const links = new Map([["snd_pending001", "https://acme.slack.com/archives/C0APPROVALS/p1700000000000001"]]);

/** Every text object of a view, to check limits and escaping. */
function texts(node: unknown, out: { type: string; text: string }[] = []) {
  if (Array.isArray(node)) node.forEach((n) => texts(n, out));
  else if (node && typeof node === "object") {
    const o = node as Record<string, unknown>;
    if ((o.type === "mrkdwn" || o.type === "plain_text") && typeof o.text === "string") out.push({ type: o.type, text: o.text });
    Object.values(o).forEach((v) => texts(v, out));
  }
  return out;
}

const actionIds = (view: { blocks: unknown[] }) =>
  (view.blocks as { elements?: { action_id?: string; value?: string }[]; accessory?: { action_id?: string; value?: string } }[]).flatMap((block) =>
    [...(block.elements ?? []), ...(block.accessory ? [block.accessory] : [])].filter((e) => e.action_id).map((e) => `${e.action_id}:${e.value}`),
  );

describe("the Home tab builder", () => {
  it("an approver's Home tab (snapshot), accepted by the strict stand-in", () => {
    const view = buildHomeTab(overview(), viewer, links);
    expect(checkView(view)).toEqual([]);
    expect(view).toMatchSnapshot();
  });

  it("lists what waits for the approver with requester, age, launch date and approvals; the card's link when known; Preview on each", () => {
    const text = JSON.stringify(buildHomeTab(overview(), viewer, links));
    expect(text).toContain("Waiting for your approval (2)");
    expect(text).toContain("*<https://acme.slack.com/archives/C0APPROVALS/p1700000000000001|Pending newsletter 1>*");
    expect(text).toContain("*Pending newsletter 2*");
    expect(text).toContain("Requested by <@UREQUESTER> · waiting 4 h · launches <!date^");
    expect(text).toContain("1 of 2 approvals");
    expect(text).toContain("blocked by 2 analysis errors");
    expect(text).toContain("its launch date passed");
    expect(actionIds(buildHomeTab(overview(), viewer, links))).toEqual([
      `${ActionId.preview}:snd_pending001`,
      `${ActionId.preview}:snd_pending002`,
      `${ActionId.pause}:snd_send0001`,
      `${ActionId.cancel}:snd_send0001`,
      `${ActionId.resume}:snd_paus0002`,
      `${ActionId.cancel}:snd_paus0002`,
    ]);
  });

  it("tells each outcome in the card's words, at the time the card gives", () => {
    const finishedAt = hours(-30);
    const { recent } = overview();
    const recentItems = recent.items.map((entry, i) => (i === 0 ? { ...entry, finishedAt } : entry));
    const text = JSON.stringify(buildHomeTab(overview({ recent: { ...recent, items: recentItems } }), viewer));
    // Finished: its finish, as on the card, not the row's last change.
    expect(text).toContain(`Delivered <!date^${finishedAt.getTime() / 1000}^`);
    expect(text).not.toContain(`Delivered <!date^${recentItems[0]!.updatedAt.getTime() / 1000}^`);
    expect(text).toContain(":checkered_flag: Delivered <!date^");
    expect(text).toContain("to 2,000 recipients");
    expect(text).toContain(":warning: Delivered with failures");
    expect(text).toContain("1,990 delivered, 10 failed");
    expect(text).toContain(":no_entry_sign: Rejected");
    expect(text).toContain("after 500 delivered and 1 failed");
    expect(text).toContain("before any was delivered");
    expect(text).toContain("Older outcomes: `/sendings recent`");
  });

  it("someone who is no approver: why nothing waits for them; controls only on the sendings they requested", () => {
    const view = buildHomeTab(overview({ approvals: null, isApprover: false }), { userId: "UOTHER", now: NOW });
    const text = JSON.stringify(view);
    expect(text).not.toContain("Waiting for your approval");
    expect(text).toContain("You are not one of sendgate's approvers");
    expect(text).toContain("3 sendings wait for the approvers");
    expect(text).toContain("In progress (2)");
    expect(actionIds(view)).toEqual([`${ActionId.resume}:snd_paus0002`, `${ActionId.cancel}:snd_paus0002`]);
    expect(checkView(view)).toEqual([]);
  });

  it("an approver with nothing to do is told why the pending ones do not wait for them", () => {
    const none = buildHomeTab(overview({ approvals: { items: [], total: 0, requestedByViewer: 2, approvedByViewer: 1 } }), viewer);
    expect(JSON.stringify(none)).toContain(
      "Nothing waits for your approval. 2 sendings you requested wait for another approver (four-eyes rule). 1 sending you approved waits for more approvals.",
    );
    const empty = buildHomeTab(
      overview({
        pendingTotal: 0,
        approvals: { items: [], total: 0, requestedByViewer: 0, approvedByViewer: 0 },
        scheduled: page("scheduled", []),
        inProgress: page("in-progress", []),
        recent: page("recent", []),
      }),
      viewer,
    );
    const text = JSON.stringify(empty);
    for (const line of ["No sending is pending approval.", "Nothing is scheduled.", "Nothing is being delivered.", "Nothing has finished yet."]) expect(text).toContain(line);
    expect(checkView(empty)).toEqual([]);
  });

  it("stays within Slack's limits at any number of sendings, counting what it does not list, and escapes untrusted names", () => {
    const many = (list: SendingListName, status: SendingStatus) =>
      page(list, Array.from({ length: 10 }, (_, i) => item(i, status, { name: hostile, sent: 10 ** 6, failed: 10 ** 5, recipientCount: 10 ** 7 })), 100_000);
    const view = buildHomeTab(
      overview({
        pendingTotal: 250_000,
        approvals: {
          items: Array.from({ length: 10 }, (_, i) => awaiting(i, { name: hostile, requestedBy: hostile, waitingSince: hours(-24 * 400) })),
          total: 250_000,
          requestedByViewer: 0,
          approvedByViewer: 0,
        },
        scheduled: many("scheduled", "SCHEDULED"),
        inProgress: many("in-progress", "PAUSED"),
        recent: { ...many("recent", "COMPLETED"), items: many("recent", "COMPLETED").items.slice(0, 5) },
      }),
      viewer,
      new Map(Array.from({ length: 10 }, (_, i) => [`snd_pending${String(i).padStart(3, "0")}`, "https://acme.slack.com/archives/C0APPROVALS/p1"])),
    );
    expect(checkView(view)).toEqual([]);
    expect(view.blocks.length).toBeLessThanOrEqual(HOME_TAB_BLOCKS);
    expect(view.blocks.length).toBe(57);
    const text = JSON.stringify(view);
    expect(text).toContain("…and 249,990 more: `/sendings pending`");
    expect(text).toContain("…and 99,990 more: `/sendings scheduled`");
    expect(text).toContain("…and 99,990 more: `/sendings in-progress`");
    expect(text).toContain("waiting 400 days");
    for (const t of texts(view.blocks)) {
      expect([...t.text].length).toBeLessThanOrEqual(3000);
      if (t.type === "mrkdwn") {
        expect(t.text).not.toContain("<!channel>");
        expect(t.text).not.toContain("<@U999>");
        expect(t.text).not.toContain("<https://evil.test");
      }
    }
  });

  it("says how long a sending waited in the largest unit that reads naturally", () => {
    expect(waitingFor(30_000)).toBe("waiting less than a minute");
    expect(waitingFor(-5_000)).toBe("waiting less than a minute");
    expect(waitingFor(59 * 60_000)).toBe("waiting 59 min");
    expect(waitingFor(60 * 60_000)).toBe("waiting 1 h");
    expect(waitingFor(47 * 3600_000 + 59 * 60_000)).toBe("waiting 47 h");
    expect(waitingFor(48 * 3600_000)).toBe("waiting 2 days");
  });
});
