import { describe, expect, it } from "vitest";
import { createBoundedCache, sharedDerivation } from "../../src/sendings/support/bounded-cache.js";

describe("bounded cache", () => {
  it("keeps at most its limit, forgetting the least recently used first", () => {
    const cache = createBoundedCache<string, number>(2);
    cache.set("a", 1);
    cache.set("b", 2);
    expect(cache.get("a")).toBe(1); // now b is the least recently used
    cache.set("c", 3);
    expect(cache.size).toBe(2);
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")).toBe(1);
    expect(cache.get("c")).toBe(3);
    cache.set("a", 10); // replacing counts as a use
    cache.set("d", 4);
    expect(cache.get("c")).toBeUndefined();
    expect(cache.get("a")).toBe(10);
  });

  it("refuses a limit under one", () => {
    expect(() => createBoundedCache(0)).toThrow();
  });
});

describe("shared derivation", () => {
  it("derives once for everyone who asks at the same moment", async () => {
    const cache = createBoundedCache<string, Promise<string>>(4);
    let derived = 0;
    const derive = async () => {
      derived += 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return "value";
    };
    const answers = await Promise.all(Array.from({ length: 10 }, () => sharedDerivation(cache, "k", derive)));
    expect(answers).toEqual(Array(10).fill("value"));
    expect(derived).toBe(1);
    expect(await sharedDerivation(cache, "k", derive)).toBe("value");
    expect(derived).toBe(1);
  });

  it("forgets a derivation that failed, so that the next one tries again", async () => {
    const cache = createBoundedCache<string, Promise<string>>(4);
    await expect(sharedDerivation(cache, "k", async () => Promise.reject(new Error("database away")))).rejects.toThrow("database away");
    expect(cache.size).toBe(0);
    expect(await sharedDerivation(cache, "k", async () => "value")).toBe("value");
  });
});
