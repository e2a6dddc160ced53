// The SQLite write gate: the main thread's writes and transactions pass it any number at once; a
// holder (a long upload being published by its thread) waits for those under way, then keeps new
// ones waiting, as promises, until it is done; a waiting holder goes before writes that come after it.
import { setImmediate as nextTurn } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { SqliteWriteGate } from "../../src/db/sqlite-write-gate.js";

describe("SQLite write gate", () => {
  it("lets writes through together while nothing holds it", async () => {
    const gate = new SqliteWriteGate();
    const done = await Promise.all([gate.pass(), gate.pass(), gate.pass()]);
    done.forEach((release) => release());
  });

  it("holds new writes back while held, and lets them through once the holder is done", async () => {
    const gate = new SqliteWriteGate();
    const events: string[] = [];
    let finish!: () => void;
    const holding = gate.hold(async () => {
      events.push("held");
      await new Promise<void>((resolve) => (finish = resolve));
      events.push("released");
    });
    await nextTurn();
    const write = gate.pass().then((release) => {
      events.push("write");
      release();
    });
    await nextTurn();
    await nextTurn();
    expect(events).toEqual(["held"]);
    finish();
    await Promise.all([holding, write]);
    expect(events).toEqual(["held", "released", "write"]);
  });

  it("waits for the writes under way before holding, and goes before the writes that come after it", async () => {
    const gate = new SqliteWriteGate();
    const events: string[] = [];
    const first = await gate.pass();
    const holding = gate.hold(async () => {
      events.push("held");
    });
    const later = gate.pass().then((release) => {
      events.push("later write");
      release();
    });
    await nextTurn();
    expect(events).toEqual([]);
    first();
    await Promise.all([holding, later]);
    expect(events).toEqual(["held", "later write"]);
  });

  it("lets one holder at a time hold it, in turn", async () => {
    const gate = new SqliteWriteGate();
    const events: string[] = [];
    const holder = (name: string) =>
      gate.hold(async () => {
        events.push(`${name} in`);
        await nextTurn();
        events.push(`${name} out`);
      });
    await Promise.all([holder("a"), holder("b")]);
    expect(events).toEqual(["a in", "a out", "b in", "b out"]);
  });

  it("is let go when the holder fails", async () => {
    const gate = new SqliteWriteGate();
    await expect(gate.hold(async () => Promise.reject(new Error("publish failed")))).rejects.toThrow("publish failed");
    const release = await gate.pass();
    release();
  });
});
