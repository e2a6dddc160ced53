import { randomBytes } from "node:crypto";
import { readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readFile } from "node:fs/promises";
import pino from "pino";
import { afterEach, beforeEach, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { newSendingId } from "../../src/sendings/support/sending-id.js";
import { startSendgate, type Sendgate } from "../../src/sendgate.js";
import { describeEachDatabase, createTestDatabase, type TestDatabase } from "../support/databases.js";

/** What the page's state endpoint answers, as much of it as these tests read. */
interface PageState {
  version: number;
  messages: Record<string, Array<{ ts: string; text: string; blocks: Array<{ elements?: Array<{ action_id?: string }> }>; replies: Array<{ text: string }> }>>;
  ephemerals: Array<{ ts: string; text: string }>;
  modals: Array<{ id: string; view: { callback_id?: string; blocks: unknown[] }; errors: Record<string, string> }>;
  home: { id: string; view: { type: string; blocks: Array<{ type: string; text?: { text: string }; elements?: Array<{ action_id?: string; value?: string }> }> } } | null;
}

describeEachDatabase("playground mode", (provider) => {
  let db: TestDatabase;
  let app: Sendgate;
  let outboxDir: string;
  let now: Date;

  beforeEach(async () => {
    db = await createTestDatabase(provider);
    outboxDir = join(tmpdir(), `sendgate-playground-${randomBytes(4).toString("hex")}`);
    now = new Date();
    // No Slack settings at all: playground. host 0.0.0.0 asked for, 127.0.0.1 given.
    const config = loadConfig({ PORT: "0", OUTBOX_DIR: outboxDir, SMTP_URL: "smtp://mail.example.com:25" });
    app = await startSendgate(config, { log: pino({ level: "silent" }), db, host: "0.0.0.0", clock: { now: () => now }, runSenderLoop: false, progressIntervalMs: 50 });
  });
  afterEach(async () => {
    await app.stop();
    await db.destroy();
    rmSync(outboxDir, { recursive: true, force: true });
  });

  const state = async (as: string): Promise<PageState> => (await (await fetch(`${app.baseUrl}/playground/state?as=${as}`)).json()) as PageState;
  const act = async (body: object) => {
    const res = await fetch(`${app.baseUrl}/playground/actions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const until = async (check: () => Promise<boolean>) => {
    for (let i = 0; i < 250; i += 1) {
      await app.notifier.flush();
      if (await check()) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error("condition not reached in time");
  };

  async function createExample() {
    const example = JSON.parse(await readFile(fileURLToPath(new URL("../../examples/spring-newsletter.json", import.meta.url)), "utf8"));
    const res = await fetch(`${app.baseUrl}/api/sendings`, {
      method: "POST",
      headers: { authorization: `Bearer ${app.config.http.apiTokens[0]!.token}`, "content-type": "application/json" },
      body: JSON.stringify({ ...example, launchAt: new Date(now.getTime() + 3600_000).toISOString() }),
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    await until(async () => (await state("U0ALEX")).messages.C0APPROVALS?.length === 1);
    return { id, card: (await state("U0ALEX")).messages.C0APPROVALS![0]! };
  }

  it("listens on 127.0.0.1 only and serves the page with a strict content policy", async () => {
    expect((app.server.address() as { address: string }).address).toBe("127.0.0.1");
    const page = await fetch(`${app.baseUrl}/playground`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(await page.text()).toContain("/playground/assets/playground.js");
    expect((await fetch(`${app.baseUrl}/playground/assets/..%2F..%2Fconfig.ts`)).status).toBe(404);
    expect(app.config.mail.smtpUrl).toBeUndefined();
  });

  it("the example goes from the CLI's request to the outbox: refused for its requester, approved by another approver", async () => {
    const { id, card } = await createExample();
    const surface = { channel: "C0APPROVALS", ts: card.ts };
    expect(await act({ as: "U0ROBIN", action: "click", surface, actionId: "sending.approve" })).toEqual({ status: 200, body: { ok: true } });
    await until(async () => (await state("U0ROBIN")).ephemerals.length === 1);
    expect((await state("U0ROBIN")).ephemerals[0]!.text).toContain("four-eyes");
    expect((await state("U0ALEX")).ephemerals).toEqual([]);

    await act({ as: "U0ALEX", action: "click", surface, actionId: "sending.approve" });
    await until(async () => (await db.prisma.sending.findUniqueOrThrow({ where: { id } })).status === "SCHEDULED");
    now = new Date(now.getTime() + 3600_000);
    await app.engine.tick();
    await app.engine.idle();
    await until(async () => (await state("U0ALEX")).messages.C0APPROVALS![0]!.replies.some((r) => r.text.includes("Delivery finished")));
    expect(readdirSync(outboxDir).filter((f) => f.endsWith(".eml"))).toHaveLength(6);
    expect(app.playground!.standin.refusals).toEqual([]);
  });

  it("modals: field errors come back where Slack shows them, and a reason rejects", async () => {
    const { id, card } = await createExample();
    await act({ as: "U0BLAIR", action: "click", surface: { channel: "C0APPROVALS", ts: card.ts }, actionId: "sending.reject" });
    await until(async () => (await state("U0BLAIR")).modals.length === 1);
    const modal = (await state("U0BLAIR")).modals[0]!;
    expect(modal.view.callback_id).toBe("modal.reject");
    const blank = await act({ as: "U0BLAIR", action: "submit", view: modal.id, values: { reason: "   " } });
    expect(blank.body).toEqual({ ok: true, outcome: { kind: "errors", errors: { reason: "A reason is required." } } });
    expect((await state("U0BLAIR")).modals[0]!.errors).toEqual({ reason: "A reason is required." });
    const done = await act({ as: "U0BLAIR", action: "submit", view: modal.id, values: { reason: "Wrong discount code" } });
    expect(done.body).toEqual({ ok: true, outcome: { kind: "closed" } });
    expect((await db.prisma.sending.findUniqueOrThrow({ where: { id } })).status).toBe("REJECTED");
    expect((await state("U0BLAIR")).modals).toEqual([]);
  });

  it("/sendings runs from the composer; anything else gets a hint", async () => {
    await createExample();
    const reply = await act({ as: "U0SAM", action: "command", channel: "C0APPROVALS", text: "/sendings pending" });
    expect(JSON.stringify(reply.body.reply)).toContain("Pending approval (1)");
    expect((await state("U0SAM")).ephemerals).toHaveLength(1);
    expect(await act({ as: "U0SAM", action: "command", channel: "C0APPROVALS", text: "/giphy cats" })).toMatchObject({ status: 400, body: { error: "unknown_command" } });
  });

  it("refuses what Slack would never send, with a clear 400, and changes nothing", async () => {
    const { id, card } = await createExample();
    const before = (await state("U0ALEX")).version;
    const cases: Array<[object, RegExp]> = [
      [{ as: "U0NOBODY", action: "click", surface: { channel: "C0APPROVALS", ts: card.ts }, actionId: "sending.approve" }, /as: must be one of the playground's people/],
      [{ as: "U0ALEX", action: "launch", surface: { channel: "C0APPROVALS", ts: card.ts } }, /action/],
      [{ as: "U0ALEX", action: "click", surface: { channel: "C0APPROVALS", ts: "yesterday" }, actionId: "sending.approve" }, /surface/],
      [{ as: "U0ALEX", action: "click", surface: { channel: "C0APPROVALS", ts: card.ts }, actionId: "sending.launch_now" }, /no element sending\.launch_now/],
      [{ as: "U0ALEX", action: "click", surface: { channel: "C0APPROVALS", ts: "1000000000.000001" }, actionId: "sending.approve" }, /no longer there/],
      [{ as: "U0ALEX", action: "submit", view: "V0NOTOPEN", values: {} }, /not open/],
      [{ as: "U0ALEX", action: "click", surface: { channel: "C0APPROVALS", ts: card.ts }, actionId: "sending.approve", extra: 1 }, /extra|Unrecognized/],
    ];
    for (const [body, message] of cases) {
      const res = await act(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(String(res.body.message)).toMatch(message);
    }
    const notJson = await fetch(`${app.baseUrl}/playground/actions`, { method: "POST", headers: { "content-type": "application/json" }, body: "{not json" });
    expect(notJson.status).toBe(400);
    expect((await fetch(`${app.baseUrl}/playground/state?as=U0ALEX&after=x`)).status).toBe(400);
    expect((await db.prisma.sending.findUniqueOrThrow({ where: { id } })).status).toBe("PENDING_APPROVAL");
    expect((await state("U0ALEX")).version).toBe(before);
  });

  /** A sending the engine is delivering, straight in the database: the tab lists it with its controls. */
  async function givenDelivering(name: string) {
    const id = newSendingId();
    await db.prisma.sending.create({
      data: {
        id,
        name,
        subject: "Hello",
        fromEmail: "news@acme.example",
        html: "<p>Hi</p>",
        launchAt: now,
        requestedBy: "U0ROBIN",
        status: "SENDING",
        startedAt: now,
        contentHash: `hash-${id}`,
        recipientsDigest: "digest",
        recipientCount: 2,
        recipients: { create: [{ email: "a@example.com" }, { email: "b@example.com" }] },
        events: { create: { actor: "U0ROBIN", action: "created" } },
      },
    });
    return id;
  }

  it("opening Home tells sendgate, whose tab comes back in the state with its id; Pause there pauses the sending it stands beside", async () => {
    const alpha = await givenDelivering("Alpha sale");
    const bravo = await givenDelivering("Bravo sale");
    expect((await state("U0ALEX")).home).toBeNull();
    expect(await act({ as: "U0ALEX", action: "openHome" })).toEqual({ status: 200, body: { ok: true } });
    await until(async () => (await state("U0ALEX")).home !== null);
    const home = (await state("U0ALEX")).home!;
    expect(home.id).toBe(app.playground!.standin.workspace.homes.get("U0ALEX"));
    expect(home.view.type).toBe("home");
    expect((await state("U0SAM")).home).toBeNull();

    // Both sendings carry a Pause with the same action_id: the block the page clicked says which.
    const pauseOf = (id: string) => home.view.blocks.findIndex((b) => b.type === "actions" && b.elements?.some((e) => e.action_id === "sending.pause" && e.value === id));
    const surface = { view: home.id };
    expect(pauseOf(alpha)).toBeGreaterThan(-1);
    expect(await act({ as: "U0ALEX", action: "click", surface, actionId: "sending.pause", block: pauseOf(bravo), value: bravo })).toEqual({ status: 200, body: { ok: true } });
    await until(async () => (await db.prisma.sending.findUniqueOrThrow({ where: { id: bravo } })).status === "PAUSED");
    expect((await db.prisma.sending.findUniqueOrThrow({ where: { id: alpha } })).status).toBe("SENDING");
    // The tab follows, for the one who opened it.
    await until(async () => JSON.stringify((await state("U0ALEX")).home!.view).includes("sending.resume"));
    expect((await state("U0ALEX")).home!.id).toBe(home.id);
    // Someone else's Home tab is not theirs to click.
    const other = await act({ as: "U0BLAIR", action: "click", surface, actionId: "sending.pause", block: pauseOf(alpha), value: alpha });
    expect(other.status).toBe(400);
    expect(String(other.body.message)).toMatch(/U0ALEX's screen/);
    expect(app.playground!.standin.refusals).toEqual([]);
  });

  it("the state endpoint waits for a change, then answers at once", async () => {
    const { version } = await state("U0ALEX");
    const started = Date.now();
    const waiting = fetch(`${app.baseUrl}/playground/state?as=U0ALEX&after=${version}`).then((r) => r.json() as Promise<PageState>);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await createExample();
    const next = await waiting;
    expect(next.version).toBeGreaterThan(version);
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});
