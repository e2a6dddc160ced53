import pino from "pino";
import { describe, expect, it } from "vitest";
import { ErrorBudget } from "../../src/sender/error-budget.js";
import { freshReads } from "../../src/sender/fresh-reads.js";
import { Pacer } from "../../src/sender/pacer.js";
import { buildMessage, messageIdFor, unsubscribeHeaders, unsubscribeUrlFor } from "../../src/mail/message.js";
import { OutcomeRecorder, type RecorderLimits } from "../../src/sender/outcome-recorder.js";
import { PreparedWindow } from "../../src/sender/prepared-window.js";
import { retryDelaySeconds } from "../../src/sender/settings.js";

describe("error budget", () => {
  it("is spent by consecutive failures, and a success starts the count again", () => {
    const budget = new ErrorBudget({ consecutive: 3, ratio: 1, window: 100 });
    expect(budget.record(true, "a")).toBeUndefined();
    expect(budget.record(true, "b")).toBeUndefined();
    expect(budget.record(false)).toBeUndefined();
    expect(budget.record(true, "c")).toBeUndefined();
    expect(budget.record(true, "d")).toBeUndefined();
    expect(budget.record(true, "421 try later")).toBe("3 messages in a row failed. The last one: 421 try later");
  });

  it("is spent by a share of failures over a full window only", () => {
    const budget = new ErrorBudget({ consecutive: 100, ratio: 0.5, window: 4 });
    expect(budget.record(true, "x")).toBeUndefined();
    expect(budget.record(true, "x")).toBeUndefined(); // 2 of 2, but the window is not full yet
    expect(budget.record(false)).toBeUndefined();
    expect(budget.record(false)).toBeUndefined(); // 2 of 4, on a success
    expect(budget.record(true, "x")).toBe("50% of the last 4 messages failed (the limit is 50%). The last one: x"); // oldest failure left
  });

  it("forgets failures that slide out of the window", () => {
    const budget = new ErrorBudget({ consecutive: 100, ratio: 0.75, window: 4 });
    for (const failed of [true, true, false, false, false, false]) budget.record(failed, "x");
    expect(budget.record(true, "x")).toBeUndefined(); // 1 of 4
  });
});

describe("fresh reads", () => {
  it("never answers a caller with a read that began before it asked", async () => {
    let version = 0;
    let reads = 0;
    const release: (() => void)[] = [];
    const read = freshReads(async () => {
      reads++;
      const seen = version;
      await new Promise<void>((resolve) => release.push(resolve));
      return seen;
    });
    const first = read();
    version = 1; // a pause commits while the first read is on its way
    const second = read();
    const third = read();
    release.shift()!();
    expect(await first).toBe(0);
    await new Promise((resolve) => setImmediate(resolve));
    release.shift()!();
    expect(await second).toBe(1);
    expect(await third).toBe(1);
    expect(reads).toBe(2);
  });

  it("lets a read wait for company, up to a time", async () => {
    let reads = 0;
    const read = freshReads(async () => ++reads, { ms: 30, callers: 3 });
    const first = [read(), read(), read()]; // the third fills the read: it starts at once
    expect(await Promise.all(first)).toEqual([1, 1, 1]);
    const started = performance.now();
    expect(await read()).toBe(2); // alone: waits out the time
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
  });

  it("starts a new read after a failed one", async () => {
    let calls = 0;
    const read = freshReads(async () => {
      calls++;
      if (calls === 1) throw new Error("database away");
      return "ok";
    });
    await expect(read()).rejects.toThrow("database away");
    expect(await read()).toBe("ok");
  });
});

describe("messages", () => {
  it("have a Message-ID made of the sending and the recipient, on the sender's domain", () => {
    expect(messageIdFor("snd_abc", 42, "news@acme.test")).toBe("<snd_abc.r42@acme.test>");
    expect(messageIdFor("snd_abc", 42, "news@acme.test")).toBe(messageIdFor("snd_abc", 42, "news@acme.test"));
  });

  it("take the recipient's own unsubscribe URL first, else the configured one with placeholders filled", () => {
    const ids = { sendingId: "snd_abc", recipientId: 7, email: "ann+x@example.com" };
    expect(unsubscribeUrlFor({ unsubscribeUrl: "https://a.test/u/1" }, "https://b.test/{recipientId}", ids)).toBe("https://a.test/u/1");
    expect(unsubscribeUrlFor({}, "https://b.test/u?s={sendingId}&r={recipientId}&e={email}", ids)).toBe(
      "https://b.test/u?s=snd_abc&r=7&e=ann%2Bx%40example.com",
    );
    expect(unsubscribeUrlFor({ unsubscribeUrl: "javascript:alert(1)" }, undefined, ids)).toBeUndefined();
    expect(unsubscribeUrlFor({}, undefined, ids)).toBeUndefined();
  });

  it("ask for one-click unsubscribe only with a web address (RFC 8058)", () => {
    expect(unsubscribeHeaders("https://a.test/u")).toEqual({
      "List-Unsubscribe": "<https://a.test/u>",
      "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    });
    expect(unsubscribeHeaders("mailto:leave@a.test")).toEqual({ "List-Unsubscribe": "<mailto:leave@a.test>" });
    expect(unsubscribeHeaders(undefined)).toEqual({});
  });

  it("are built from the sending, the recipient and what was rendered", () => {
    const message = buildMessage({
      sendingId: "snd_abc",
      content: { subject: "", html: "", text: null, fromName: "Acme", fromEmail: "news@acme.test", replyTo: null },
      recipient: { id: 3, email: "ann@example.com" },
      rendered: { subject: "Hi Ann", html: "<p>Hi</p>", text: "Hi" },
    });
    expect(message).toEqual({
      from: { name: "Acme", address: "news@acme.test" },
      to: "ann@example.com",
      replyTo: null,
      subject: "Hi Ann",
      html: "<p>Hi</p>",
      text: "Hi",
      messageId: "<snd_abc.r3@acme.test>",
      headers: {},
    });
  });
});

describe("retry delays", () => {
  it("grow fourfold from the base", () => {
    expect([1, 2, 3, 4].map((attempts) => retryDelaySeconds({ retrySeconds: 60 }, attempts))).toEqual([60, 240, 960, 3840]);
  });
});

describe("prepared window", () => {
  it("holds producers back until workers are done with what they took", async () => {
    const window = new PreparedWindow<number>(2);
    window.push(1);
    window.push(2);
    let roomMade = false;
    const room = window.roomFor(1).then(() => (roomMade = true));
    expect(await window.take()).toBe(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(roomMade).toBe(false); // taken, not done
    window.done();
    await room;
    expect(roomMade).toBe(true);
  });

  it("hands out what is left after close, then nothing", async () => {
    const window = new PreparedWindow<number>(5);
    window.push(1);
    window.close();
    expect(await window.take()).toBe(1);
    expect(await window.take()).toBeUndefined();
  });

  it("hands out nothing more once abandoned", async () => {
    const window = new PreparedWindow<number>(5);
    window.push(1);
    window.push(2);
    window.abandon();
    expect(await window.take()).toBeUndefined();
    expect(window.held).toBe(0);
  });
});

describe("outcome recorder", () => {
  const silent = pino({ level: "silent" });
  const sent = (recipientId: number) => ({ recipientId, kind: "sent" as const, at: new Date(0), response: "250 ok" });
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  /** A recorder whose writes complete at once, each written batch's recipient ids kept in `writes`. */
  const recording = (limits: Omit<RecorderLimits, "batch">) => {
    const writes: number[][] = [];
    const recorder = new OutcomeRecorder(async (batch) => void writes.push(batch.map((outcome) => outcome.recipientId)), silent, { batch: 500, ...limits });
    return { writes, recorder };
  };

  it("holds handoffs back once the slots are taken by messages in hand and outcomes not yet written, however slow the writes", async () => {
    const writes: number[][] = [];
    const finish: (() => void)[] = [];
    const recorder = new OutcomeRecorder(
      async (batch) => {
        writes.push(batch.map((outcome) => outcome.recipientId));
        await new Promise<void>((resolve) => finish.push(resolve));
      },
      silent,
      { batch: 500, unwritten: 3, gatherMs: 0, gatherCount: 1 },
    );
    await recorder.reserve();
    void recorder.add(sent(1)); // its write starts, and waits
    await recorder.reserve();
    await recorder.reserve(); // two messages in hand: three slots taken
    let fourth = false;
    const reserved = recorder.reserve().then(() => (fourth = true));
    void recorder.add(sent(2));
    void recorder.add(sent(3)); // accepted, waiting behind the first write
    await turn();
    expect(recorder.unwritten).toBe(3);
    expect(fourth).toBe(false);
    finish.shift()!(); // the first outcome is written: one slot is free
    await reserved;
    expect(fourth).toBe(true);
    expect(recorder.unwritten).toBe(3);
    recorder.release(); // the fourth handoff did not happen after all
    expect(recorder.unwritten).toBe(2);
    await turn();
    finish.shift()!();
    await recorder.settle();
    expect(writes).toEqual([[1], [2, 3]]);
    expect(recorder.unwritten).toBe(0);
  });

  it("gathers outcomes for a write, and writes at once when the gathered ones fill the count or no message is left in hand", async () => {
    const { writes, recorder } = recording({ unwritten: 4, gatherMs: 60_000, gatherCount: 3 });
    for (let id = 1; id <= 3; id++) await recorder.reserve();
    const written = [recorder.add(sent(1)), recorder.add(sent(2))];
    await turn();
    expect(writes).toEqual([]); // gathering
    await Promise.all([...written, recorder.add(sent(3))]); // the third fills the count: no waiting out the minute
    expect(writes).toEqual([[1, 2, 3]]);
    for (let id = 4; id <= 5; id++) await recorder.reserve();
    void recorder.add(sent(4));
    await turn();
    expect(writes).toHaveLength(1); // one outcome gathered, one message in hand
    let fifth = false;
    const waiting = recorder.reserve().then(() => (fifth = true)); // two slots taken of four: it gets one
    await waiting;
    expect(fifth).toBe(true);
    recorder.release();
    await turn();
    expect(writes).toHaveLength(1); // a message is still in hand: its outcome may join the write
    void recorder.add(sent(5)); // none in hand now: nothing more can come, the write goes rather than at the end of the minute
    await recorder.settle();
    expect(writes).toEqual([[1, 2, 3], [4, 5]]);
  });

  it("lets a status read take the delivered messages' outcomes along; if it fails, they wait for the next write", async () => {
    const { writes, recorder } = recording({ unwritten: 4, gatherMs: 60_000, gatherCount: 4 });
    const failed = { recipientId: 3, kind: "failed" as const, reason: "550", response: "550 no" };
    for (let id = 1; id <= 4; id++) await recorder.reserve();
    const written = [recorder.add(sent(1)), recorder.add(sent(2)), recorder.add(failed)];
    let taken: number[] = [];
    expect(await recorder.writeAlong(async (along) => ((taken = along.map((o) => o.recipientId)), "read"))).toBe("read");
    expect(taken).toEqual([1, 2]); // only delivered messages' outcomes ride along
    await Promise.all(written.slice(0, 2));
    expect(recorder.unwritten).toBe(2); // the failure waits for a write, one message is in hand

    await recorder.reserve();
    void recorder.add(sent(4));
    await expect(recorder.writeAlong(async () => Promise.reject(new Error("connection lost")))).rejects.toThrow("connection lost");
    expect(recorder.unwritten).toBe(3);
    expect(writes).toEqual([]);
    recorder.release(); // nothing in hand: the recorder's own write goes, the returned outcome in it
    await recorder.settle();
    expect(writes).toEqual([[4, 3]]);
    expect(recorder.unwritten).toBe(0);
  });
});

describe("pacer", () => {
  const stall = (ms: number) => {
    const until = performance.now() + ms;
    while (performance.now() < until);
  };
  // Timers fire late on a busy machine (and up to a millisecond early, rounded): spans from a known start are asserted, with that margin.

  it("spaces turns at the rate, and a new rate applies from the next turn", async () => {
    const pacer = new Pacer(100);
    const times: number[] = [];
    const first = performance.now();
    await Promise.all(Array.from({ length: 4 }, () => pacer.turn().then(() => times.push(performance.now()))));
    expect(times[3]! - first).toBeGreaterThanOrEqual(3 * 10 - 4);
    pacer.setRate(25);
    const second = performance.now();
    await Promise.all(Array.from({ length: 3 }, () => pacer.turn().then(() => times.push(performance.now()))));
    // The next turn was given at the old rate; the two after it are 40 ms apart.
    expect(times[6]! - second).toBeGreaterThanOrEqual(2 * 40 - 4);
  });

  it("callers woken together after the event loop was held up do not go at once: each late one takes the next free turn", async () => {
    const pacer = new Pacer(100);
    const times: number[] = [];
    const turns = Array.from({ length: 5 }, () => pacer.turn().then(() => times.push(performance.now())));
    stall(120); // every turn is due meanwhile
    const resumed = performance.now();
    await Promise.all(turns);
    // The four that slept go at the rate from the end of the stall on, instead of all at once.
    expect(times[4]! - resumed).toBeGreaterThanOrEqual(3 * 10 - 4);
  });
});
