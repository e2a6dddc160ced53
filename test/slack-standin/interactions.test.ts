import { describe, expect, it } from "vitest";
import type { Ack, AppTransport } from "../../src/slack-standin/app-transport.js";
import { SlackStandin } from "../../src/slack-standin/standin.js";

const TOKEN = "xoxb-standin";

/** An app in the test's hands: it answers each interaction with what the test queued. */
function scriptedApp(answers: { interactive?: (payload: Record<string, unknown>) => unknown; command?: (fields: Record<string, string>) => unknown; elapsedMs?: number }) {
  const seen: Array<Record<string, unknown>> = [];
  const transport: AppTransport = {
    async interactive(payload): Promise<Ack> {
      seen.push(payload);
      return { body: answers.interactive?.(payload), elapsedMs: answers.elapsedMs ?? 5 };
    },
    async slashCommand(fields): Promise<Ack> {
      seen.push(fields);
      return { body: answers.command?.(fields), elapsedMs: answers.elapsedMs ?? 5 };
    },
    async event(body): Promise<Ack> {
      seen.push(body);
      return { body: undefined, elapsedMs: answers.elapsedMs ?? 5 };
    },
  };
  return { transport, seen };
}

function workspace() {
  return new SlackStandin({
    botToken: TOKEN,
    users: [
      { id: "UANN", name: "ann", realName: "Ann", tz: "UTC" },
      { id: "UBOB", name: "bob", realName: "Bob", tz: "UTC" },
    ],
    channels: [{ id: "CAPPROVALS", name: "approvals", members: ["UANN", "UBOB"] }],
  });
}

const plain = (text: string) => ({ type: "plain_text", text });
const reasonModal = {
  type: "modal",
  callback_id: "modal.reject",
  title: plain("Reject"),
  submit: plain("Reject"),
  blocks: [{ type: "input", block_id: "reason", label: plain("Reason"), element: { type: "plain_text_input", action_id: "reason_input", max_length: 20 } }],
};
const searchModal = {
  type: "modal",
  title: plain("Preview"),
  blocks: [{ type: "section", block_id: "search", text: { type: "mrkdwn", text: "*Find*" }, accessory: { type: "external_select", action_id: "search", min_query_length: 1 } }],
};

function openModal(slack: SlackStandin, user: string, view: object) {
  const body = slack.callApi("views.open", { trigger_id: slack.workspace.issueTrigger(user), view: JSON.stringify(view) }, TOKEN).body as { view: { id: string } };
  return body.view.id;
}

function postCard(slack: SlackStandin) {
  const blocks = [{ type: "actions", block_id: "sending_actions", elements: [{ type: "button", action_id: "sending.approve", text: plain("Approve"), value: "snd_1", style: "primary" }] }];
  const { ts } = slack.callApi("chat.postMessage", { channel: "CAPPROVALS", text: "card", blocks: JSON.stringify(blocks) }, TOKEN).body as { ts: string };
  return { channel: "CAPPROVALS", ts };
}

describe("what people do, and what the stand-in checks in the app's answers", () => {
  it("a click sends block_actions with a fresh trigger and the message it came from; what is not shown cannot be clicked", async () => {
    const slack = workspace();
    const app = scriptedApp({});
    slack.connect(app.transport);
    const card = postCard(slack);
    await slack.click("UANN", card, "sending.approve");
    const payload = app.seen[0] as { type: string; user: { id: string }; trigger_id: string; actions: Array<{ value: string; block_id: string }>; container: { message_ts: string }; response_url: string };
    expect(payload.type).toBe("block_actions");
    expect(payload.user.id).toBe("UANN");
    expect(payload.actions[0]).toMatchObject({ value: "snd_1", block_id: "sending_actions" });
    expect(payload.container.message_ts).toBe(card.ts);
    expect(payload.trigger_id).toMatch(/^\d+\.\d+\.[0-9a-f]+$/);
    expect(payload.response_url).toMatch(/\/respond\/[0-9a-f]+$/);
    await expect(slack.click("UANN", card, "sending.reject")).rejects.toThrow(/no element sending\.reject/);
  });

  it("Slack's client refuses an empty required field or text over max_length without asking the app", async () => {
    const slack = workspace();
    const app = scriptedApp({});
    slack.connect(app.transport);
    const viewId = openModal(slack, "UANN", reasonModal);
    expect(await slack.submit("UANN", viewId)).toMatchObject({ kind: "errors", errors: { reason: expect.any(String) } });
    slack.fill("UANN", viewId, "reason", "x".repeat(21));
    expect(await slack.submit("UANN", viewId)).toMatchObject({ kind: "errors", errors: { reason: expect.stringContaining("20") } });
    expect(app.seen).toHaveLength(0);
    slack.fill("UANN", viewId, "reason", "x".repeat(20));
    expect(await slack.submit("UANN", viewId)).toEqual({ kind: "closed" });
    expect((app.seen[0] as { view: { state: { values: unknown } } }).view.state.values).toEqual({ reason: { reason_input: { type: "plain_text_input", value: "x".repeat(20) } } });
  });

  it("response_action errors must name input blocks of the view", async () => {
    const slack = workspace();
    slack.connect(scriptedApp({ interactive: () => ({ response_action: "errors", errors: { nope: "wrong" } }) }).transport);
    const viewId = openModal(slack, "UANN", reasonModal);
    slack.fill("UANN", viewId, "reason", "because");
    await slack.submit("UANN", viewId);
    expect(slack.refusals).toMatchObject([{ where: "view_submission", error: "invalid_errors" }]);

    const fits = workspace();
    fits.connect(scriptedApp({ interactive: () => ({ response_action: "errors", errors: { reason: "A reason is required." } }) }).transport);
    const other = openModal(fits, "UANN", reasonModal);
    fits.fill("UANN", other, "reason", "  ");
    expect(await fits.submit("UANN", other)).toEqual({ kind: "errors", errors: { reason: "A reason is required." } });
    expect(fits.refusals).toEqual([]);
  });

  it("response_action update is checked like views.update", async () => {
    const slack = workspace();
    slack.connect(scriptedApp({ interactive: () => ({ response_action: "update", view: { type: "modal", title: plain("A title longer than 24 chars"), blocks: [] } }) }).transport);
    const viewId = openModal(slack, "UANN", reasonModal);
    slack.fill("UANN", viewId, "reason", "because");
    await slack.submit("UANN", viewId);
    expect(slack.refusals).toMatchObject([{ where: "view_submission", error: "invalid_arguments" }]);
    expect(slack.refusals[0]!.messages.join()).toContain("/view/title");

    const fits = workspace();
    fits.connect(scriptedApp({ interactive: () => ({ response_action: "update", view: { type: "modal", title: plain("x".repeat(24)), blocks: [] } }) }).transport);
    const other = openModal(fits, "UANN", reasonModal);
    fits.fill("UANN", other, "reason", "because");
    expect(await fits.submit("UANN", other)).toMatchObject({ kind: "updated" });
    expect(fits.refusals).toEqual([]);
  });

  it("block_suggestion answers: at most 100 options, option text 75 and value 150", async () => {
    const options = (n: number) => Array.from({ length: n }, (_, i) => ({ text: plain(`address${i}@acme.test`), value: `r${i}` }));
    const cases: Array<[unknown, boolean]> = [
      [{ options: options(100) }, true],
      [{ options: options(101) }, false],
      [{ options: [{ text: plain("t".repeat(75)), value: "v".repeat(150) }] }, true],
      [{ options: [{ text: plain("t".repeat(76)), value: "v" }] }, false],
      [{ options: [{ text: plain("t"), value: "v".repeat(151) }] }, false],
      [undefined, false],
    ];
    for (const [answer, fits] of cases) {
      const slack = workspace();
      slack.connect(scriptedApp({ interactive: () => answer }).transport);
      const viewId = openModal(slack, "UANN", searchModal);
      const got = await slack.suggest("UANN", { viewId }, "search", "an");
      expect(slack.refusals.length === 0, JSON.stringify(answer)?.slice(0, 80)).toBe(fits);
      if (fits) expect(got.length).toBe((answer as { options: unknown[] }).options.length);
    }
  });

  it("a slash command's answer is checked and shown to the person alone; a bad one is refused", async () => {
    const slack = workspace();
    slack.connect(scriptedApp({ command: () => ({ response_type: "ephemeral", text: "3 pending", blocks: [{ type: "section", text: { type: "mrkdwn", text: "3 pending" } }] }) }).transport);
    expect(await slack.slashCommand("UANN", "CAPPROVALS", "/sendings", "pending")).toMatchObject({ text: "3 pending" });
    expect(slack.workspace.ephemeralsFor("UANN").map((m) => m.text)).toEqual(["3 pending"]);
    expect(slack.workspace.ephemeralsFor("UBOB")).toEqual([]);

    const bad = workspace();
    bad.connect(scriptedApp({ command: () => ({ text: "x", blocks: Array.from({ length: 51 }, () => ({ type: "divider" })) }) }).transport);
    await bad.slashCommand("UANN", "CAPPROVALS", "/sendings", "pending");
    expect(bad.refusals).toMatchObject([{ where: "/sendings command", error: "invalid_blocks" }]);
    expect(bad.workspace.ephemeralsFor("UANN")).toEqual([]);
  });

  it("respond() to a response_url replaces the original, and is checked like a message", async () => {
    const slack = workspace();
    slack.connect(scriptedApp({ command: () => ({ text: "page 1", blocks: [{ type: "actions", elements: [{ type: "button", action_id: "list.page.next", text: plain("Next"), value: "2" }] }] }) }).transport);
    await slack.slashCommand("UANN", "CAPPROVALS", "/sendings", "pending");
    const ephemeral = slack.workspace.ephemeralsFor("UANN")[0]!;
    const clicks = scriptedApp({});
    slack.connect(clicks.transport);
    await slack.click("UANN", { ephemeral }, "list.page.next");
    const responseUrl = (clicks.seen[0] as { response_url: string }).response_url;
    const id = responseUrl.split("/").at(-1)!;
    expect(slack.respond(id, { replace_original: true, text: "page 2" })).toEqual({ status: 200, text: "ok" });
    expect(slack.workspace.ephemeralsFor("UANN").map((m) => m.text)).toEqual(["page 2"]);
    expect(slack.respond(id, { replace_original: true, text: "x", blocks: [{ type: "section" }] })).toEqual({ status: 400, text: "invalid_blocks" });
    expect(slack.refusals).toMatchObject([{ where: "response_url", error: "invalid_blocks" }]);
    expect(slack.respond("unknown", { text: "x" }).status).toBe(404);
  });

  it("an acknowledgement later than Slack's three seconds is a refusal", async () => {
    const slack = workspace();
    slack.connect(scriptedApp({ elapsedMs: 3001 }).transport);
    await slack.click("UANN", postCard(slack), "sending.approve");
    expect(slack.refusals).toMatchObject([{ where: "block_actions", error: "operation_timeout" }]);
    const inTime = workspace();
    inTime.connect(scriptedApp({ elapsedMs: 3000 }).transport);
    await inTime.click("UANN", postCard(inTime), "sending.approve");
    expect(inTime.refusals).toEqual([]);
  });
});

describe("the app's Home tab", () => {
  const home = (text: string) => ({
    type: "home",
    blocks: [{ type: "section", text: { type: "mrkdwn", text }, accessory: { type: "button", action_id: "sending.pause", text: plain("Pause"), value: "snd_1" } }],
  });

  it("opening it sends app_home_opened: the person's direct message channel, the tab, and the Home view once the app published one", async () => {
    const slack = workspace();
    const app = scriptedApp({});
    slack.connect(app.transport);
    await slack.openAppHome("UANN");
    const first = app.seen[0] as { type: string; api_app_id: string; team_id: string; event_id: string; event: Record<string, unknown> };
    expect(first).toMatchObject({ type: "event_callback", api_app_id: slack.workspace.appId, team_id: slack.workspace.teamId });
    expect(first.event_id).toMatch(/^Ev/);
    expect(first.event).toMatchObject({ type: "app_home_opened", user: "UANN", tab: "home", channel: slack.workspace.imWith("UANN").id });
    expect(first.event.view).toBeUndefined();

    expect(slack.callApi("views.publish", { user_id: "UANN", view: JSON.stringify(home("Pending: 1")) }, TOKEN).body.ok).toBe(true);
    await slack.openAppHome("UANN");
    await slack.openAppHome("UANN", "messages");
    const [, withView, messages] = app.seen as Array<{ event: { tab: string; view?: { id: string; type: string; blocks: unknown[] } } }>;
    expect(withView!.event.view).toMatchObject({ id: slack.workspace.homes.get("UANN"), type: "home", blocks: home("Pending: 1").blocks });
    expect(messages!.event.tab).toBe("messages");
    await expect(slack.openAppHome("UNOBODY")).rejects.toThrow(/not in the workspace/);
  });

  it("a click on the Home tab comes from a view of type home, with a trigger and no response_url; only its owner can click it", async () => {
    const slack = workspace();
    const app = scriptedApp({});
    slack.connect(app.transport);
    slack.callApi("views.publish", { user_id: "UANN", view: JSON.stringify(home("In progress: 1")) }, TOKEN);
    const viewId = slack.workspace.homes.get("UANN")!;
    await slack.click("UANN", { viewId }, "sending.pause");
    const payload = app.seen[0] as { container: { type: string; view_id: string }; view: { type: string }; trigger_id: string; response_url?: string };
    expect(payload.container).toEqual({ type: "view", view_id: viewId });
    expect(payload.view.type).toBe("home");
    expect(payload.trigger_id).toMatch(/^\d+\.\d+\.[0-9a-f]+$/);
    expect(payload.response_url).toBeUndefined();
    await expect(slack.click("UBOB", { viewId }, "sending.pause")).rejects.toThrow(/UANN's screen/);
  });

  it("a click on the Home tab cannot push a modal: there is no modal stack to push onto (not_found); views.open works", async () => {
    const slack = workspace();
    const modal = { type: "modal", title: plain("sendgate"), blocks: [{ type: "section", text: { type: "mrkdwn", text: "Refused" } }] };
    let answered: unknown[] = [];
    const app = scriptedApp({
      interactive: (payload) => {
        const trigger = String(payload.trigger_id);
        const method = (payload.actions as Array<{ action_id: string }>)[0]!.action_id === "sending.pause" ? "views.push" : "views.open";
        answered = [...answered, slack.callApi(method, { trigger_id: trigger, view: JSON.stringify(modal) }, TOKEN).body];
        return undefined;
      },
    });
    slack.connect(app.transport);
    slack.callApi("views.publish", { user_id: "UANN", view: JSON.stringify({ type: "home", blocks: [...home("In progress: 1").blocks, { type: "actions", elements: [{ type: "button", action_id: "sending.cancel", text: plain("Cancel"), value: "snd_1" }] }] }) }, TOKEN);
    const viewId = slack.workspace.homes.get("UANN")!;

    await slack.click("UANN", { viewId }, "sending.pause");
    expect(answered[0]).toEqual({ ok: false, error: "not_found" });
    expect(slack.refusals).toEqual([{ where: "views.push", error: "not_found", messages: [] }]);
    expect(slack.modalOf("UANN")).toBeUndefined();

    await slack.click("UANN", { viewId }, "sending.cancel");
    expect(answered[1]).toMatchObject({ ok: true, view: { type: "modal", previous_view_id: null } });
    expect(slack.modalOf("UANN")).toBeDefined();
  });

  it("a click in a message cannot push a modal either, though one of the person's modals is open elsewhere", async () => {
    const slack = workspace();
    const modal = { type: "modal", title: plain("sendgate"), blocks: [{ type: "section", text: { type: "mrkdwn", text: "Refused" } }] };
    const open = slack.callApi("views.open", { trigger_id: slack.workspace.issueTrigger("UANN"), view: JSON.stringify(modal) }, TOKEN).body;
    expect(open.ok).toBe(true);
    expect(slack.callApi("views.push", { trigger_id: slack.workspace.issueTrigger("UANN"), view: JSON.stringify(modal) }, TOKEN).body).toEqual({ ok: false, error: "not_found" });
  });

  it("blocks may repeat an action_id: the click lands in the block the person clicked, and a moved button is found by its value", async () => {
    const slack = workspace();
    const app = scriptedApp({});
    slack.connect(app.transport);
    const controls = (id: string) => ({ type: "actions", elements: [{ type: "button", action_id: "sending.pause", text: plain("Pause"), value: id }] });
    const section = (text: string) => ({ type: "section", text: { type: "mrkdwn", text } });
    slack.callApi("views.publish", { user_id: "UANN", view: JSON.stringify({ type: "home", blocks: [section("Alpha"), controls("snd_a"), section("Bravo"), controls("snd_b")] }) }, TOKEN);
    const viewId = slack.workspace.homes.get("UANN")!;
    const clicked = () => (app.seen.at(-1) as { actions: Array<{ value: string; block_id: string }> }).actions[0]!;

    await slack.click("UANN", { viewId }, "sending.pause");
    expect(clicked()).toMatchObject({ value: "snd_a", block_id: "standin-1" });
    await slack.click("UANN", { viewId }, "sending.pause", { blockIndex: 3 });
    expect(clicked()).toMatchObject({ value: "snd_b", block_id: "standin-3" });
    await expect(slack.click("UANN", { viewId }, "sending.pause", { blockIndex: 2 })).rejects.toThrow(/no element sending\.pause/);

    // Alpha finished and left the list: Bravo's button moved up to where Alpha's was.
    slack.callApi("views.publish", { user_id: "UANN", view: JSON.stringify({ type: "home", blocks: [section("Bravo"), controls("snd_b")] }) }, TOKEN);
    await slack.click("UANN", { viewId }, "sending.pause", { blockIndex: 3, value: "snd_b" });
    expect(clicked()).toMatchObject({ value: "snd_b", block_id: "standin-1" });
    // A click on Alpha's button, shown a moment ago, never lands on Bravo's.
    await expect(slack.click("UANN", { viewId }, "sending.pause", { blockIndex: 1, value: "snd_a" })).rejects.toThrow(/no element sending\.pause with value snd_a/);
  });

  it("an app_home_opened acknowledged later than three seconds is a refusal", async () => {
    const slack = workspace();
    slack.connect(scriptedApp({ elapsedMs: 3001 }).transport);
    await slack.openAppHome("UANN");
    expect(slack.refusals).toMatchObject([{ where: "app_home_opened event", error: "operation_timeout" }]);
  });
});

describe("waiting for changes (the playground's long poll)", () => {
  it("every waiter wakes on one change, however many there are", async () => {
    const slack = workspace();
    const start = slack.version;
    const woken: number[] = [];
    const waits = [1, 2, 3].map((n) => slack.waitForChange(start, 60_000).then(() => woken.push(n)));
    slack.callApi("chat.postMessage", { channel: "CAPPROVALS", text: "changed" }, TOKEN);
    // Woken by the change itself, not by their own timeouts.
    await Promise.race([Promise.all(waits), new Promise((resolve) => setTimeout(resolve, 1000))]);
    expect(woken.sort()).toEqual([1, 2, 3]);
    expect(slack.version).toBeGreaterThan(start);
    // Already behind: answered at once.
    await slack.waitForChange(start, 60_000);
  });
});
