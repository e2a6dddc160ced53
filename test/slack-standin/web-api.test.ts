import { describe, expect, it } from "vitest";
import { SlackStandin } from "../../src/slack-standin/standin.js";
import { BOT_TOKEN, startStandin } from "../support/slack-api.js";

const TOKEN = "xoxb-standin";
const APP_TOKEN = "xapp-standin";

function workspace(options: { now?: () => number; scopes?: string[] } = {}) {
  return new SlackStandin({
    botToken: TOKEN,
    appToken: APP_TOKEN,
    now: options.now,
    scopes: options.scopes,
    users: [
      { id: "UANN", name: "ann", realName: "Ann", email: "ann@acme.test", tz: "Europe/Paris" },
      { id: "UBOB", name: "bob", realName: "Bob", email: "bob@acme.test", tz: "UTC" },
    ],
    userGroups: { SAPPROVERS: ["UANN"] },
    channels: [
      { id: "CPUBLIC", name: "approvals", members: ["UANN"] },
      { id: "CPRIVATE", name: "secret", isPrivate: true, members: ["UANN"] },
      { id: "CJOINED", name: "joined", isPrivate: true, members: ["UANN", "U0BOTUSER"] },
    ],
  });
}

const section = (text: string) => ({ type: "section", text: { type: "mrkdwn", text } });
const modal = (blocks: unknown[] = [section("hi")]) => ({ type: "modal", title: { type: "plain_text", text: "Title" }, blocks });

describe("the stand-in's Web API", () => {
  it("authenticates the bot token, and refuses a missing, wrong or app-level one", () => {
    const slack = workspace();
    expect(slack.callApi("auth.test", {}, TOKEN).body).toMatchObject({ ok: true, user_id: "U0BOTUSER", bot_id: "B0BOT" });
    expect(slack.callApi("auth.test", {}, undefined).body).toEqual({ ok: false, error: "not_authed" });
    expect(slack.callApi("auth.test", {}, "xoxb-wrong").body).toEqual({ ok: false, error: "invalid_auth" });
    expect(slack.callApi("auth.test", {}, APP_TOKEN).body).toEqual({ ok: false, error: "not_allowed_token_type" });
    expect(slack.callApi("apps.connections.open", {}, TOKEN).body).toEqual({ ok: false, error: "not_allowed_token_type" });
    expect(slack.callApi("chat.delete", {}, TOKEN).body).toEqual({ ok: false, error: "unknown_method" });
    expect(slack.refusals.map((r) => r.error)).toEqual(["not_authed", "invalid_auth", "not_allowed_token_type", "not_allowed_token_type", "unknown_method"]);
  });

  it("posts to channels it may post in, and says channel_not_found or not_in_channel otherwise", () => {
    const slack = workspace();
    const posted = slack.callApi("chat.postMessage", { channel: "CPUBLIC", text: "hello" }, TOKEN).body;
    expect(posted).toMatchObject({ ok: true, channel: "CPUBLIC", ts: expect.stringMatching(/^\d+\.\d{6}$/) });
    expect(slack.callApi("chat.postMessage", { channel: "CJOINED", text: "hello" }, TOKEN).body).toMatchObject({ ok: true });
    expect(slack.callApi("chat.postMessage", { channel: "CNOPE", text: "hello" }, TOKEN).body).toEqual({ ok: false, error: "channel_not_found" });
    expect(slack.callApi("chat.postMessage", { channel: "CPRIVATE", text: "hello" }, TOKEN).body).toEqual({ ok: false, error: "not_in_channel" });
    // Without chat:write.public, a public channel the bot was not invited to is closed too.
    const noPublic = workspace({ scopes: ["chat:write"] });
    expect(noPublic.callApi("chat.postMessage", { channel: "CPUBLIC", text: "hello" }, TOKEN).body).toEqual({ ok: false, error: "not_in_channel" });
  });

  it("a message to a person lands in their direct messages with the bot", () => {
    const slack = workspace();
    const posted = slack.callApi("chat.postMessage", { channel: "UBOB", text: "your sending was rejected" }, TOKEN).body as { channel: string };
    expect(posted.channel).toMatch(/^D/);
    const opened = slack.callApi("conversations.open", { users: "UBOB" }, TOKEN).body as { channel: { id: string } };
    expect(opened.channel.id).toBe(posted.channel);
    expect(slack.workspace.history(posted.channel).map((m) => m.text)).toEqual(["your sending was rejected"]);
    expect(slack.callApi("chat.postMessage", { channel: "UNOBODY", text: "x" }, TOKEN).body).toEqual({ ok: false, error: "channel_not_found" });
  });

  it("refuses blocks Slack refuses, naming the JSON pointer, and keeps nothing of the refused message", () => {
    const slack = workspace();
    const tooLong = slack.callApi("chat.postMessage", { channel: "CPUBLIC", text: "x", blocks: JSON.stringify([section("a".repeat(3001))]) }, TOKEN).body;
    expect(tooLong).toMatchObject({ ok: false, error: "invalid_blocks" });
    expect((tooLong.response_metadata as { messages: string[] }).messages[0]).toMatch(/^\[ERROR\] .*3001.*\[json-pointer:\/blocks\/0\/text\/text\]$/);
    const fits = slack.callApi("chat.postMessage", { channel: "CPUBLIC", text: "x", blocks: JSON.stringify([section("a".repeat(3000))]) }, TOKEN).body;
    expect(fits).toMatchObject({ ok: true });
    expect(slack.workspace.history("CPUBLIC")).toHaveLength(1);
  });

  it("text over 40,000 characters is msg_too_long; neither text nor blocks is no_text", () => {
    const slack = workspace();
    expect(slack.callApi("chat.postMessage", { channel: "CPUBLIC", text: "a".repeat(40_001) }, TOKEN).body).toMatchObject({ ok: false, error: "msg_too_long" });
    expect(slack.callApi("chat.postMessage", { channel: "CPUBLIC", text: "a".repeat(40_000) }, TOKEN).body).toMatchObject({ ok: true });
    expect(slack.callApi("chat.postMessage", { channel: "CPUBLIC" }, TOKEN).body).toMatchObject({ ok: false, error: "no_text" });
  });

  it("blocks without a top-level text fallback go through, with Slack's warning kept", () => {
    const slack = workspace();
    expect(slack.callApi("chat.postMessage", { channel: "CPUBLIC", blocks: JSON.stringify([section("hi")]) }, TOKEN).body).toMatchObject({ ok: true });
    expect(slack.warnings).toEqual([{ method: "chat.postMessage", warning: expect.stringMatching(/text/) }]);
  });

  it("chat.update finds the message by ts, or says message_not_found; it cannot edit a person's message", () => {
    const slack = workspace();
    const { ts } = slack.callApi("chat.postMessage", { channel: "CPUBLIC", text: "v1" }, TOKEN).body as { ts: string };
    expect(slack.callApi("chat.update", { channel: "CPUBLIC", ts, text: "v2" }, TOKEN).body).toMatchObject({ ok: true, ts });
    expect(slack.workspace.message("CPUBLIC", ts)?.text).toBe("v2");
    expect(slack.callApi("chat.update", { channel: "CPUBLIC", ts: "1.000001", text: "v3" }, TOKEN).body).toEqual({ ok: false, error: "message_not_found" });
    slack.workspace.messages.push({ channel: "CPUBLIC", ts: "2.000002", user: "UANN", text: "mine", blocks: [] });
    expect(slack.callApi("chat.update", { channel: "CPUBLIC", ts: "2.000002", text: "x" }, TOKEN).body).toEqual({ ok: false, error: "cant_update_message" });
  });

  it("replies go into the thread of the message they name", () => {
    const slack = workspace();
    const { ts } = slack.callApi("chat.postMessage", { channel: "CPUBLIC", text: "card" }, TOKEN).body as { ts: string };
    slack.callApi("chat.postMessage", { channel: "CPUBLIC", text: "note", thread_ts: ts }, TOKEN);
    expect(slack.workspace.replies("CPUBLIC", ts).map((m) => m.text)).toEqual(["note"]);
    expect(slack.workspace.history("CPUBLIC").map((m) => m.text)).toEqual(["card"]);
  });

  it("ephemeral messages go to channel members only", () => {
    const slack = workspace();
    expect(slack.callApi("chat.postEphemeral", { channel: "CPUBLIC", user: "UANN", text: "only you" }, TOKEN).body).toMatchObject({ ok: true });
    expect(slack.callApi("chat.postEphemeral", { channel: "CPUBLIC", user: "UBOB", text: "x" }, TOKEN).body).toEqual({ ok: false, error: "user_not_in_channel" });
    expect(slack.workspace.ephemeralsFor("UANN").map((m) => m.text)).toEqual(["only you"]);
  });

  it("a trigger id is good once and for three seconds", () => {
    let now = 1_800_000_000_000;
    const slack = workspace({ now: () => now });
    const trigger = slack.workspace.issueTrigger("UANN");
    expect(slack.callApi("views.open", { trigger_id: trigger, view: JSON.stringify(modal()) }, TOKEN).body).toMatchObject({ ok: true });
    expect(slack.callApi("views.open", { trigger_id: trigger, view: JSON.stringify(modal()) }, TOKEN).body).toEqual({ ok: false, error: "exchanged_trigger_id" });
    const late = slack.workspace.issueTrigger("UANN");
    now += 3001;
    expect(slack.callApi("views.open", { trigger_id: late, view: JSON.stringify(modal()) }, TOKEN).body).toEqual({ ok: false, error: "expired_trigger_id" });
    const justInTime = slack.workspace.issueTrigger("UANN");
    now += 3000;
    expect(slack.callApi("views.open", { trigger_id: justInTime, view: JSON.stringify(modal()) }, TOKEN).body).toMatchObject({ ok: true });
    expect(slack.callApi("views.open", { trigger_id: "12345.67890.abcdef", view: JSON.stringify(modal()) }, TOKEN).body).toEqual({ ok: false, error: "invalid_trigger_id" });
  });

  it("a modal with an input block and no submit is refused, as today's Preview view was", () => {
    const slack = workspace();
    const input = { type: "input", block_id: "recipient_search", label: { type: "plain_text", text: "Find a recipient" }, element: { type: "external_select", action_id: "preview.search" } };
    const refused = slack.callApi("views.open", { trigger_id: slack.workspace.issueTrigger("UANN"), view: JSON.stringify(modal([input])) }, TOKEN).body;
    expect(refused).toMatchObject({ ok: false, error: "invalid_arguments" });
    expect(JSON.stringify(refused.response_metadata)).toContain("submit");
    const withSubmit = { ...modal([input]), submit: { type: "plain_text", text: "Done" } };
    expect(slack.callApi("views.open", { trigger_id: slack.workspace.issueTrigger("UANN"), view: JSON.stringify(withSubmit) }, TOKEN).body).toMatchObject({ ok: true });
  });

  it("views.update with a stale hash is hash_conflict; an unknown view is not_found", () => {
    const slack = workspace();
    const opened = slack.callApi("views.open", { trigger_id: slack.workspace.issueTrigger("UANN"), view: JSON.stringify(modal()) }, TOKEN).body as { view: { id: string; hash: string } };
    const { id, hash } = opened.view;
    const updated = slack.callApi("views.update", { view_id: id, hash, view: JSON.stringify(modal([section("v2")])) }, TOKEN).body as { view: { hash: string } };
    expect(updated.view.hash).not.toBe(hash);
    expect(slack.callApi("views.update", { view_id: id, hash, view: JSON.stringify(modal([section("v3")])) }, TOKEN).body).toEqual({ ok: false, error: "hash_conflict" });
    expect(slack.callApi("views.update", { view_id: id, view: JSON.stringify(modal([section("v3")])) }, TOKEN).body).toMatchObject({ ok: true });
    expect(slack.callApi("views.update", { view_id: "VNOPE", view: JSON.stringify(modal()) }, TOKEN).body).toEqual({ ok: false, error: "not_found" });
  });

  it("views.push needs the modal the interaction came from: from a message or the Home tab it is not_found", () => {
    const slack = workspace();
    expect(slack.callApi("views.push", { trigger_id: slack.workspace.issueTrigger("UANN"), view: JSON.stringify(modal()) }, TOKEN).body).toEqual({ ok: false, error: "not_found" });
    slack.callApi("views.publish", { user_id: "UANN", view: JSON.stringify({ type: "home", blocks: [section("Home")] }) }, TOKEN);
    const home = slack.workspace.homes.get("UANN")!;
    expect(slack.callApi("views.push", { trigger_id: slack.workspace.issueTrigger("UANN", home), view: JSON.stringify(modal()) }, TOKEN).body).toEqual({ ok: false, error: "not_found" });
    const first = slack.callApi("views.open", { trigger_id: slack.workspace.issueTrigger("UANN"), view: JSON.stringify(modal()) }, TOKEN).body as { view: { id: string } };
    slack.callApi("views.update", { view_id: first.view.id, view: JSON.stringify(modal()) }, TOKEN);
    expect(slack.callApi("views.push", { trigger_id: slack.workspace.issueTrigger("UANN", first.view.id), view: JSON.stringify(modal()) }, TOKEN).body).toMatchObject({ ok: true });
    expect([...slack.workspace.views.values()].filter((v) => v.type === "home")).toHaveLength(1);
  });

  it("views.push stacks at most three modals", () => {
    const slack = workspace();
    const first = slack.callApi("views.open", { trigger_id: slack.workspace.issueTrigger("UANN"), view: JSON.stringify(modal()) }, TOKEN).body as { view: { id: string } };
    const second = slack.callApi("views.push", { trigger_id: slack.workspace.issueTrigger("UANN", first.view.id), view: JSON.stringify(modal()) }, TOKEN).body as { view: { id: string; previous_view_id: string } };
    expect(second.view.previous_view_id).toBe(first.view.id);
    const third = slack.callApi("views.push", { trigger_id: slack.workspace.issueTrigger("UANN", second.view.id), view: JSON.stringify(modal()) }, TOKEN).body as { view: { id: string } };
    expect(slack.callApi("views.push", { trigger_id: slack.workspace.issueTrigger("UANN", third.view.id), view: JSON.stringify(modal()) }, TOKEN).body).toEqual({ ok: false, error: "push_limit_reached" });
  });

  it("views.publish sets a person's Home tab; modals are not published, Home tabs are not opened", () => {
    const slack = workspace();
    const home = { type: "home", blocks: [section("Pending: 2")] };
    expect(slack.callApi("views.publish", { user_id: "UANN", view: JSON.stringify(home) }, TOKEN).body).toMatchObject({ ok: true, view: { type: "home" } });
    expect(slack.callApi("views.publish", { user_id: "UANN", view: JSON.stringify(modal()) }, TOKEN).body).toMatchObject({ ok: false, error: "invalid_arguments" });
    expect(slack.callApi("views.open", { trigger_id: slack.workspace.issueTrigger("UANN"), view: JSON.stringify(home) }, TOKEN).body).toMatchObject({ ok: false, error: "invalid_arguments" });
    expect(slack.callApi("views.publish", { user_id: "UNOBODY", view: JSON.stringify(home) }, TOKEN).body).toEqual({ ok: false, error: "user_not_found" });
  });

  it("users.info shows the email only with users:read.email; user groups list their members", () => {
    const slack = workspace();
    expect(slack.callApi("users.info", { user: "UANN" }, TOKEN).body).toMatchObject({ ok: true, user: { id: "UANN", tz: "Europe/Paris", profile: { email: "ann@acme.test" } } });
    expect(slack.callApi("users.info", { user: "UNOBODY" }, TOKEN).body).toEqual({ ok: false, error: "user_not_found" });
    const noEmail = workspace({ scopes: ["chat:write", "users:read"] });
    expect(JSON.stringify(noEmail.callApi("users.info", { user: "UANN" }, TOKEN).body)).not.toContain("ann@acme.test");
    expect(slack.callApi("usergroups.users.list", { usergroup: "SAPPROVERS" }, TOKEN).body).toEqual({ ok: true, users: ["UANN"] });
    expect(slack.callApi("usergroups.users.list", { usergroup: "SNOPE" }, TOKEN).body).toEqual({ ok: false, error: "no_such_subteam" });
  });

  it("chat.getPermalink links to a message it knows", () => {
    const slack = workspace();
    const { ts } = slack.callApi("chat.postMessage", { channel: "CPUBLIC", text: "card" }, TOKEN).body as { ts: string };
    expect(slack.callApi("chat.getPermalink", { channel: "CPUBLIC", message_ts: ts }, TOKEN).body).toMatchObject({
      ok: true,
      permalink: `https://standin.slack.com/archives/CPUBLIC/p${ts.replace(".", "")}`,
    });
    expect(slack.callApi("chat.getPermalink", { channel: "CPUBLIC", message_ts: "1.000001" }, TOKEN).body).toEqual({ ok: false, error: "message_not_found" });
  });

  it("rate limits: about one message a second per channel after a burst, chat.update by its tier, answered 429 with Retry-After", () => {
    let now = 1_800_000_000_000;
    const slack = workspace({ now: () => now });
    const post = (channel: string) => slack.callApi("chat.postMessage", { channel, text: "x" }, TOKEN);
    const burst = Array.from({ length: 10 }, () => post("CPUBLIC").status);
    expect(burst.every((status) => status === 200)).toBe(true);
    const limited = post("CPUBLIC");
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ ok: false, error: "ratelimited" });
    expect(Number(limited.headers?.["retry-after"])).toBeGreaterThanOrEqual(1);
    expect(post("CJOINED").status).toBe(200); // another channel has its own allowance
    now += 1000;
    expect(post("CPUBLIC").status).toBe(200);
    expect(post("CPUBLIC").status).toBe(429);

    const { ts } = post("CJOINED").body as { ts: string };
    const updates = Array.from({ length: 51 }, () => slack.callApi("chat.update", { channel: "CJOINED", ts, text: "y" }, TOKEN).status);
    expect(updates.slice(0, 50).every((status) => status === 200)).toBe(true);
    expect(updates[50]).toBe(429);
    // Rate limits are not refusals: a well-behaved client waits and retries.
    expect(slack.refusals).toEqual([]);
  });
});

describe("the record of calls", () => {
  it("keeps only the newest calls when told to, as the long-running playground is", () => {
    const slack = new SlackStandin({ botToken: TOKEN, keepCalls: 3, channels: [{ id: "CPUBLIC", name: "approvals" }] });
    for (let i = 0; i < 5; i += 1) slack.callApi("chat.postMessage", { channel: "CPUBLIC", text: `m${i}` }, TOKEN);
    expect(slack.calls.map((c) => c.args.text)).toEqual(["m2", "m3", "m4"]);
    expect(slack.workspace.history("CPUBLIC")).toHaveLength(5);
  });
});

describe("the stand-in's outages", () => {
  it("failAll answers every method with the outage until lifted; an answer queued with failNext comes first", async () => {
    const running = await startStandin();
    const call = async (method: string) => {
      const response = await fetch(`${running.apiUrl}${method}`, { method: "POST", headers: { authorization: `Bearer ${BOT_TOKEN}` } });
      return { status: response.status, body: (await response.json()) as { ok: boolean; error?: string } };
    };
    try {
      running.standin.failNext("auth.test", { status: 429, error: "ratelimited", retryAfter: 1 });
      running.standin.failAll({ status: 500, error: "internal_error" });
      expect(await call("auth.test")).toEqual({ status: 429, body: { ok: false, error: "ratelimited" } });
      for (const method of ["auth.test", "chat.postMessage", "usergroups.users.list"]) {
        expect(await call(method)).toEqual({ status: 500, body: { ok: false, error: "internal_error" } });
      }
      running.standin.failAll(undefined);
      expect(await call("auth.test")).toMatchObject({ status: 200, body: { ok: true } });
      // Outages are what Slack did, not what the app got wrong: no refusal is kept for them.
      expect(running.standin.refusals).toEqual([]);
    } finally {
      await running.close();
    }
  });
});
