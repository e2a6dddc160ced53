import { describe, expect, it } from "vitest";
import { createAfterAck } from "../../src/slack/listeners/after-ack.js";

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("work after the acknowledgement", () => {
  it("waits for a turn of the event loop without new clicks, then starts the work together, in order", async () => {
    const afterAck = createAfterAck();
    const seen: string[] = [];
    const done = ["a", "b", "c"].map((name) => afterAck(async () => void seen.push(`start ${name}`)));
    // Queued after the three, on the same turn as their arrival: it runs before any of them starts.
    setImmediate(() => seen.push("turn of the clicks"));
    expect(seen).toEqual([]);
    await Promise.all(done);
    expect(seen).toEqual(["turn of the clicks", "start a", "start b", "start c"]);
  });

  it("starts at most a batch on one turn, and reads the network before the next batch", async () => {
    const afterAck = createAfterAck({ batch: 2 });
    const seen: string[] = [];
    const done = ["a", "b", "c", "d", "e"].map((name) => afterAck(async () => void seen.push(name)));
    const turns = async (n: number) => {
      for (let i = 0; i < n; i++) await nextTurn();
    };
    await turns(2);
    expect(seen).toEqual(["a", "b"]);
    await turns(1);
    expect(seen).toEqual(["a", "b", "c", "d"]);
    await Promise.all(done);
    expect(seen).toEqual(["a", "b", "c", "d", "e"]);
  });

  it("holds work back while clicks keep coming, and no longer than its limit", async () => {
    let clock = 0;
    const afterAck = createAfterAck({ maxWaitMs: 1000, now: () => clock });
    let started = false;
    const first = afterAck(async () => void (started = true));
    // A click on every turn: never a quiet one.
    for (let i = 0; i < 5; i++) {
      void afterAck(async () => {});
      await nextTurn();
    }
    expect(started).toBe(false);
    clock = 1000;
    void afterAck(async () => {});
    await nextTurn();
    await first;
    expect(started).toBe(true);
  });

  it("does not hold back work already started: pieces run side by side", async () => {
    const afterAck = createAfterAck();
    let release!: () => void;
    const slow = afterAck(() => new Promise<void>((resolve) => (release = resolve)));
    const quick = afterAck(async () => {});
    await quick;
    release();
    await slow;
  });

  it("hands a failure back to its caller, thrown or rejected, and goes on with the rest", async () => {
    const afterAck = createAfterAck();
    const thrown = afterAck((() => {
      throw new Error("thrown at once");
    }) as () => Promise<void>);
    const rejected = afterAck(async () => {
      throw new Error("rejected later");
    });
    let ran = false;
    const after = afterAck(async () => void (ran = true));
    await expect(thrown).rejects.toThrow("thrown at once");
    await expect(rejected).rejects.toThrow("rejected later");
    await after;
    expect(ran).toBe(true);
  });
});
