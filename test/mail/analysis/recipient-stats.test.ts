import { describe, expect, it } from "vitest";
import { createRecipientStatsCollector } from "../../../src/mail/analysis/recipient-stats.js";

describe("createRecipientStatsCollector", () => {
  it("lists the mixed-case addresses whose lower-case twins the caller must look up", () => {
    const collector = createRecipientStatsCollector([]);
    for (const email of ["ann@example.com", "Ann@example.com", "bob@example.com"]) collector.add({ email, vars: {} });
    expect(collector.mixedCaseAddresses()).toEqual(["Ann@example.com"]);
  });

  it("counts a recipient as missing a nested path when it, or any item of a list on the way, lacks it", () => {
    const collector = createRecipientStatsCollector(["author.name", "picks", "picks.0.title", "picks[].title", "picks[].tags[]"]);
    const readers = {
      "ann@example.com": { author: { name: "Bo" }, picks: [{ title: "Salt", tags: ["a"] }, { title: "Pepper", tags: ["b"] }] },
      "bob@example.com": { author: {}, picks: [{ title: "Salt", tags: [] }, { title: "" }] },
      "cy@example.com": { author: null, picks: [{ tags: ["c"] }] },
      "di@example.com": { picks: [] },
    };
    for (const [email, vars] of Object.entries(readers)) collector.add({ email, vars });
    const { missingVariables, unknownVariables } = collector.finish();
    expect(missingVariables).toEqual({
      "author.name": { count: 3, sample: ["bob@example.com", "cy@example.com", "di@example.com"] },
      picks: { count: 1, sample: ["di@example.com"] },
      "picks.0.title": { count: 2, sample: ["cy@example.com", "di@example.com"] },
      "picks[].title": { count: 2, sample: ["bob@example.com", "cy@example.com"] },
      // bob's first pick has no tags and his second none at all; an empty inner list repeats nothing.
      "picks[].tags[]": { count: 0, sample: [] },
    });
    expect(unknownVariables).toEqual([]);
  });

  it("finds the paths in no recipient's data, where they leave it, and the closest name there", () => {
    const collector = createRecipientStatsCollector(["coupon", "empty[].x", "firstname", "pick[].title", "picks[].titel", "picks[].title"]);
    collector.add({ email: "ann@example.com", vars: { firstName: "Ann", picks: [{ title: "Salt", url: "u" }], empty: [] } });
    collector.add({ email: "bob@example.com", vars: { firstName: "Bob", picks: [], empty: [] } });
    expect(collector.finish().unknownVariables).toEqual([
      { path: "coupon", name: "coupon", within: "", suggestion: null },
      { path: "firstname", name: "firstname", within: "", suggestion: "firstName" },
      { path: "pick[].title", name: "pick", within: "", suggestion: "picks[].title" },
      { path: "picks[].titel", name: "titel", within: "picks[]", suggestion: "picks[].title" },
    ]);
  });

  it("calls nothing unknown without recipients", () => {
    expect(createRecipientStatsCollector(["firstName"]).finish().unknownVariables).toEqual([]);
  });
});
