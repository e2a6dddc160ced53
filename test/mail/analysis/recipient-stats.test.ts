import { describe, expect, it } from "vitest";
import { createRecipientStatsCollector } from "../../../src/mail/analysis/recipient-stats.js";

describe("createRecipientStatsCollector", () => {
  it("lists the mixed-case addresses whose lower-case twins the caller must look up", () => {
    const collector = createRecipientStatsCollector([]);
    for (const email of ["ann@example.com", "Ann@example.com", "bob@example.com"]) collector.add({ email, vars: {} });
    expect(collector.mixedCaseAddresses()).toEqual(["Ann@example.com"]);
  });
});
