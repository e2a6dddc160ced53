import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { SendingStatus } from "../../src/domain/sending-status.js";
import { newSendingId } from "../../src/sendings/support/sending-id.js";
import { createHomeTabs, type HomeTabs } from "../../src/slack/home-tabs.js";
import { ActionId, BlockId } from "../../src/slack/ids.js";
import { describeEachDatabase } from "../support/databases.js";
import { givenPendingSending, NOW, settle, startSlackHarness, type SlackHarness } from "../support/slack-harness.js";

/** The Home tab Slack shows the person, as sendgate last published it. */
function homeOf(h: SlackHarness, user: string): { id: string; blocks: Array<Record<string, unknown>>; text: string } | undefined {
  const id = h.slack.workspace.homes.get(user);
  const open = id ? h.slack.workspace.views.get(id) : undefined;
  if (!open) return undefined;
  const blocks = (open.view.blocks as Array<Record<string, unknown>>) ?? [];
  return { id: open.id, blocks, text: JSON.stringify(blocks) };
}

const publishesTo = (h: SlackHarness, user: string) => h.slack.called("views.publish").filter((call) => call.args.user_id === user && call.ok);
const statusOf = async (h: SlackHarness, id: string) => (await h.db.prisma.sending.findUniqueOrThrow({ where: { id } })).status;
/** A click is acknowledged before its use case runs: wait for the change it makes. */
const statusBecomes = (h: SlackHarness, id: string, status: SendingStatus) => settle(h, async () => (await statusOf(h, id)) === status);

/** A sending in any state, straight in the database (what intake and the engine would have left). */
async function givenSending(h: SlackHarness, status: SendingStatus, overrides: { name?: string; requestedBy?: string; launchAt?: Date; sent?: number } = {}) {
  const id = newSendingId();
  const recipients = 4;
  await h.db.prisma.sending.create({
    data: {
      id,
      name: overrides.name ?? `${status.toLowerCase()} ${id}`,
      subject: "Hello",
      fromEmail: "news@acme.test",
      html: "<p>Hi</p>",
      launchAt: overrides.launchAt ?? new Date(NOW.getTime() + 3600_000),
      requestedBy: overrides.requestedBy ?? "UREQUESTER",
      status,
      startedAt: status === "SENDING" || status === "PAUSED" ? NOW : null,
      contentHash: `hash-${id}`,
      recipientsDigest: "digest",
      recipientCount: recipients,
      recipients: {
        create: Array.from({ length: recipients }, (_, i) => ({ email: `r${i}@example.com`, status: i < (overrides.sent ?? 0) ? "SENT" : "QUEUED" })),
      },
      events: { create: { actor: overrides.requestedBy ?? "UREQUESTER", action: "created" } },
    },
  });
  return id;
}

/** Opens the person's Home tab in Slack and waits until sendgate has published it. */
async function openHome(h: SlackHarness, user: string) {
  const before = publishesTo(h, user).length;
  await h.slack.openAppHome(user);
  await h.deps.home.flush();
  expect(publishesTo(h, user).length).toBe(before + 1);
  return homeOf(h, user)!;
}

describeEachDatabase("the App Home tab", (provider) => {
  let h: SlackHarness;
  beforeEach(async () => {
    h = await startSlackHarness(provider);
  });
  afterEach(() => h.close());

  it("opening Home shows an approver what waits for them, with the card's link; someone else learns why nothing waits for them", async () => {
    const s = await givenPendingSending(h, { name: "Spring <!channel> newsletter" });
    await givenPendingSending(h, { name: "Approver's own", requestedBy: "UAPPROVER1" });
    await givenSending(h, "SENDING", { name: "Autumn sale", sent: 2 });
    h.slack.resetRecords();

    const approver = await openHome(h, "UAPPROVER1");
    expect(approver.text).toContain("Waiting for your approval (1)");
    const card = await h.approvalMessage(s.id);
    const permalink = `https://acme.slack.com/archives/${card.channel}/p${card.ts.replace(".", "")}`;
    expect(approver.text).toContain(`*<${permalink}|Spring &lt;!channel&gt; newsletter>*`);
    expect(approver.text).toMatch(/Requested by <@UREQUESTER> · waiting [^·]+ · launches <!date\^/);
    expect(approver.text).toContain("0 of 1 approval · 3 recipients");
    expect(approver.text).not.toContain("Approver's own");
    expect(approver.text).toContain("In progress (1)");
    expect(approver.text).toContain("*Autumn sale* · :outbox_tray: Sending");
    expect(approver.text).toContain("50% · 2 delivered, 0 failed of 4");

    const stranger = await openHome(h, "USTRANGER");
    expect(stranger.text).not.toContain("Waiting for your approval");
    expect(stranger.text).toContain("You are not one of sendgate's approvers");
    expect(stranger.text).toContain("2 sendings wait for the approvers");
    expect(stranger.text).toContain("*Autumn sale*");
    // Pause and Cancel are offered to approvers and the sending's requester only.
    expect(stranger.text).not.toContain(ActionId.pause);

    const requester = await openHome(h, "UREQUESTER");
    expect(requester.text).toContain(ActionId.pause);

    // The approver's own request waits for someone else: Home says so instead of listing it.
    await h.db.prisma.sending.update({ where: { id: s.id }, data: { status: "REJECTED" } });
    const nothing = await openHome(h, "UAPPROVER1");
    expect(nothing.text).toContain("Nothing waits for your approval. 1 sending you requested waits for another approver (four-eyes rule).");
  });

  it("the Messages tab publishes nothing; opening Home again with nothing changed is not published twice", async () => {
    await givenPendingSending(h);
    h.slack.resetRecords();
    await h.slack.openAppHome("UAPPROVER1", "messages");
    await h.deps.home.flush();
    expect(h.slack.called("views.publish")).toHaveLength(0);
    await openHome(h, "UAPPROVER1");
    await h.slack.openAppHome("UAPPROVER1");
    await h.deps.home.flush();
    expect(publishesTo(h, "UAPPROVER1")).toHaveLength(1);
  });

  it("an approval republishes the Home tabs of those who opened theirs; nobody else's", async () => {
    const s = await givenPendingSending(h, { name: "Winter catalogue" });
    await openHome(h, "UAPPROVER1");
    await openHome(h, "UAPPROVER2");
    h.slack.resetRecords();

    await h.click("UAPPROVER1", await h.approvalMessage(s.id), ActionId.approve);
    await statusBecomes(h, s.id, "SCHEDULED");
    await settle(h, () => publishesTo(h, "UAPPROVER1").length >= 1 && publishesTo(h, "UAPPROVER2").length >= 1);
    for (const user of ["UAPPROVER1", "UAPPROVER2"]) {
      const home = homeOf(h, user)!;
      expect(home.text).toContain("Nothing waits for your approval.");
      expect(home.text).toContain("Scheduled (1)");
      expect(home.text).toContain("*Winter catalogue*");
    }
    expect(h.slack.called("views.publish").every((call) => ["UAPPROVER1", "UAPPROVER2"].includes(String(call.args.user_id)))).toBe(true);
  });

  it("Pause, Resume and Cancel on the Home tab work like on the card, and the tab follows", async () => {
    const id = await givenSending(h, "SENDING", { name: "Black Friday" });
    let home = await openHome(h, "UAPPROVER1");

    await h.slack.click("UAPPROVER1", { viewId: home.id }, ActionId.pause);
    await statusBecomes(h, id, "PAUSED");
    await settle(h, () => homeOf(h, "UAPPROVER1")!.text.includes(":double_vertical_bar: Paused"));
    home = homeOf(h, "UAPPROVER1")!;
    expect(home.text).toContain(ActionId.resume);
    expect(home.text).not.toContain(ActionId.pause);

    await h.slack.click("UAPPROVER1", { viewId: home.id }, ActionId.resume);
    await statusBecomes(h, id, "SENDING");
    await settle(h, () => homeOf(h, "UAPPROVER1")!.text.includes(":outbox_tray: Sending"));

    h.slack.resetRecords();
    await h.slack.click("UAPPROVER1", { viewId: home.id }, ActionId.cancel);
    await settle(h, () => h.slack.called("views.open").length === 1);
    const modal = h.modal("UAPPROVER1");
    h.slack.fill("UAPPROVER1", modal.id, BlockId.reason, "Wrong audience");
    expect(await h.slack.submit("UAPPROVER1", modal.id)).toEqual({ kind: "closed" });
    await statusBecomes(h, id, "CANCELLED");
    await settle(h, () => homeOf(h, "UAPPROVER1")!.text.includes(":x: Cancelled"));
    expect(homeOf(h, "UAPPROVER1")!.text).toContain("Nothing is being delivered.");
  });

  it("a stale button on the Home tab is answered in a notice the person sees, not pushed onto a stack Home does not have", async () => {
    const id = await givenSending(h, "SENDING", { name: "Black Friday" });
    const home = await openHome(h, "UAPPROVER1");
    // Delivered meanwhile: the tab still shows Pause until it is refreshed.
    await h.db.prisma.sending.update({ where: { id }, data: { status: "COMPLETED", finishedAt: NOW } });
    h.slack.resetRecords();
    await h.slack.click("UAPPROVER1", { viewId: home.id }, ActionId.pause);
    await settle(h, () => h.slack.called("views.open").length === 1);
    expect(JSON.stringify(h.modal("UAPPROVER1").view)).toMatch(/Completed|completed|finished|can no longer/i);
    expect(h.slack.refusals).toEqual([]);
  });

  it("many sendings stay within Block Kit's limits: ten of each listed, the rest counted", async () => {
    for (let i = 0; i < 23; i += 1) await givenSending(h, "PENDING_APPROVAL", { launchAt: new Date(NOW.getTime() + (i + 1) * 3600_000) });
    for (let i = 0; i < 14; i += 1) await givenSending(h, "SCHEDULED", { launchAt: new Date(NOW.getTime() + (30 - i) * 3600_000) });
    for (let i = 0; i < 12; i += 1) await givenSending(h, i % 2 ? "PAUSED" : "SENDING", { sent: i % 4 });
    for (const status of ["COMPLETED", "REJECTED", "CANCELLED"] as const) for (let i = 0; i < 3; i += 1) await givenSending(h, status);
    h.slack.resetRecords();

    const home = await openHome(h, "UAPPROVER2");
    expect(h.slack.refusals).toEqual([]);
    expect(home.blocks.length).toBeLessThanOrEqual(100);
    expect(home.text).toContain("Waiting for your approval (23)");
    expect(home.text).toContain("…and 13 more: `/sendings pending`");
    expect(home.text).toContain("…and 4 more: `/sendings scheduled`");
    expect(home.text).toContain("…and 2 more: `/sendings in-progress`");
    expect(home.text).toContain("Older outcomes: `/sendings recent`");
    // Scheduled in launch order: the one launching soonest (created last) comes first.
    const launches = [...home.text.matchAll(/Launches <!date\^(\d+)\^/g)].map((m) => Number(m[1]));
    expect(launches).toHaveLength(10);
    expect(launches).toEqual([...launches].sort((a, b) => a - b));
  });

  it("Slack down: opening Home and refreshing fail quietly, and the tab is published once Slack answers again", async () => {
    await givenPendingSending(h);
    h.slack.failAll({ status: 503, error: "service_unavailable" });
    await h.slack.openAppHome("UAPPROVER1");
    await h.deps.home.flush();
    expect(homeOf(h, "UAPPROVER1")).toBeUndefined();
    h.slack.failAll(undefined);
    // No other opening or change: the retry after the outage publishes it.
    await settle(h, () => homeOf(h, "UAPPROVER1") !== undefined, 8000);
    expect(homeOf(h, "UAPPROVER1")!.text).toContain("Waiting for your approval (1)");
  });
});

describeEachDatabase("Home tab refreshes: coalesced and within Slack's rate limit", (provider) => {
  let h: SlackHarness;
  let home: HomeTabs;
  let wallTime: number;
  const log = pino({ level: "silent" });

  beforeEach(async () => {
    h = await startSlackHarness(provider);
    wallTime = Date.now();
  });
  afterEach(async () => {
    await home.close();
    await h.close();
  });

  const tabs = (options: { publishesPerMinute: number; changeDelayMs?: number }) =>
    createHomeTabs({ client: h.app.slack.client, deps: h.deps, log, changeDelayMs: 100, now: () => wallTime, ...options });
  const publishes = () => h.slack.called("views.publish").filter((call) => call.ok).length;
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it("a burst of changes costs one publish per person who opened Home, not one per change; a tab that did not change is not published", async () => {
    home = tabs({ publishesPerMinute: 600, changeDelayMs: 300 });
    await givenPendingSending(h);
    for (const user of ["UAPPROVER1", "UAPPROVER2", "USTRANGER"]) await home.opened(user);
    expect(publishes()).toBe(3);
    await givenSending(h, "SCHEDULED", { name: "Burst" });
    for (let i = 0; i < 40; i += 1) home.sendingChanged();
    for (let i = 0; i < 200; i += 1) home.progressed();
    await pause(600);
    await home.flush();
    expect(publishes()).toBe(6);
    for (const user of ["UAPPROVER1", "UAPPROVER2", "USTRANGER"]) expect(homeOf(h, user)!.text).toContain("*Burst*");
    // Told of a change that shows nowhere: nothing to publish.
    home.sendingChanged();
    await pause(500);
    await home.flush();
    expect(publishes()).toBe(6);
  });

  it("publishes no faster than its budget; the people left waiting come first when it refills", async () => {
    // 10 a minute: a burst of 2, then one every 6 seconds of wall time.
    home = tabs({ publishesPerMinute: 10 });
    for (const user of ["UAPPROVER1", "UAPPROVER2", "USTRANGER"]) await home.opened(user);
    expect(publishes()).toBe(3); // opening is answered at once, and overdraws the budget by one
    await givenSending(h, "SCHEDULED", { name: "Needs room" });
    home.sendingChanged();
    await pause(300);
    await home.flush();
    expect(publishes()).toBe(3);

    wallTime += 12_000; // one publish earned
    home.sendingChanged();
    await pause(300);
    await home.flush();
    expect(publishes()).toBe(4);
    const first = h.slack.called("views.publish").at(-1)!.args.user_id;
    // The latest opened goes first among those equally stale.
    expect(first).toBe("USTRANGER");

    wallTime += 60_000; // the bucket is full again: two
    home.sendingChanged();
    await pause(300);
    await home.flush();
    expect(publishes()).toBe(6);
    // The two left out last time, before the one refreshed a moment ago.
    expect(new Set(h.slack.called("views.publish").slice(-2).map((call) => call.args.user_id))).toEqual(new Set(["UAPPROVER1", "UAPPROVER2"]));
  });
});

describe("the App Home tab over Socket Mode", () => {
  it("app_home_opened arrives as an events_api envelope and the tab is published", async () => {
    const h = await startSlackHarness("sqlite", {}, { socketMode: true });
    try {
      await givenPendingSending(h);
      const home = await openHome(h, "UAPPROVER1");
      expect(home.text).toContain("Waiting for your approval (1)");
    } finally {
      await h.close();
    }
  });
});
