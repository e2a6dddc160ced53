import { describe, expect, it } from "vitest";
import { createAfterAck } from "../../src/slack/listeners/after-ack.js";

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("work after the acknowledgement", () => {
  it("starts one piece of work per turn of the event loop, in the order it came", async () => {
    const afterAck = createAfterAck();
    const seen: string[] = [];
    const done = ["a", "b", "c"].map((name) => afterAck(async () => void seen.push(`start ${name}`)));
    // Queued after the three: runs on the first turn, after the first start and before the second,
    // as what arrives on the network is read between two starts.
    setImmediate(() => seen.push("between"));
    expect(seen).toEqual([]);
    await Promise.all(done);
    expect(seen).toEqual(["start a", "between", "start b", "start c"]);
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
    await nextTurn();
  });
});
