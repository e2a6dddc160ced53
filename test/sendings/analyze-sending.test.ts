import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { AppError } from "../../src/domain/errors.js";
import { analyzeSending } from "../../src/sendings/analyze-sending.js";
import { createTestDatabase, describeEachDatabase, type TestDatabase } from "../support/databases.js";
import { insertGeneratedRecipients, insertRecipients, insertSending } from "./fixtures.js";

describeEachDatabase("analyzeSending over the stored recipients", (provider) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(provider);
  });
  afterAll(() => db?.destroy());

  it("counts missing variables, invalid and case-duplicate addresses across pages", async () => {
    const sendingId = await insertSending(db, {
      html: '<p>Hi {{firstName}}</p><a href="https://acme.test/unsubscribe">Unsubscribe</a>',
    });
    await insertGeneratedRecipients(db, sendingId, 12_000);
    await insertRecipients(db, sendingId, [
      { email: "Reader7@Example.com", vars: { firstName: "Seven" } },
      { email: "READER7@example.com", vars: { firstName: "Seven" } },
      { email: "Solo@Example.com", vars: { firstName: "Solo" } },
      { email: "broken@", vars: { firstName: "Broken" } },
    ]);
    const queries = vi.spyOn(db.prisma, "$queryRawUnsafe");

    const analysis = await analyzeSending(db, sendingId, { unsubscribeUrl: "https://acme.test/u?e={email}" });

    // Read in pages of at most 5,000, never the whole list at once.
    const pages = queries.mock.calls.filter(([sql]) => /FROM "Recipient".*LIMIT/s.test(sql));
    queries.mockRestore();
    expect(pages.length).toBe(3);
    for (const call of pages) expect(call.at(-1)).toBe(5_000);

    const byId = Object.fromEntries(analysis.checks.map((c) => [c.id, c]));
    expect(byId.recipients).toMatchObject({ severity: "pass", evidence: "12,004 recipients." });
    expect(byId["missing-variables"]).toMatchObject({
      severity: "warning",
      evidence: "firstName: missing for 1,200 of 12,004 recipients (e.g. reader10000@example.com, reader1000@example.com, reader10010@example.com, reader10020@example.com, reader10030@example.com)",
    });
    expect(byId["invalid-addresses"]).toMatchObject({ severity: "error", evidence: "1 invalid: broken@" });
    expect(byId["duplicate-addresses"]).toMatchObject({
      severity: "error",
      evidence: expect.stringContaining("2 addresses repeat another one in different letter case, so those people would get it twice: reader7@example.com = READER7@example.com = Reader7@Example.com"),
    });
    expect(byId.unsubscribe?.severity).toBe("pass");
    expect(analysis.counts).toEqual({ passed: 11, warnings: 1, errors: 2 });
  });

  it("reads stored nested variables: a list item's variable missing for some, a misspelt one with the name they have", async () => {
    const sendingId = await insertSending(db, {
      subject: "{{picks.0.title}}, {{firstname}}",
      html: '{{#each picks}}<a href="{{url}}">{{title}}</a>{{#with author}}{{nmae}}{{/with}}{{/each}}<a href="https://acme.test/unsubscribe">Unsubscribe</a>',
    });
    await insertRecipients(db, sendingId, [
      { email: "ann@example.com", vars: { firstName: "Ann", picks: [{ title: "Salt", url: "https://acme.test/s", author: { name: "Bo" } }] } },
      { email: "bob@example.com", vars: { firstName: "Bob", picks: [{ title: "Pepper", url: "https://acme.test/p" }, { url: "https://acme.test/x" }] } },
      { email: "cy@example.com", vars: { firstName: "Cy", picks: [] } },
    ]);
    const analysis = await analyzeSending(db, sendingId, { unsubscribeUrl: "https://acme.test/u?e={email}" });
    const byId = Object.fromEntries(analysis.checks.map((c) => [c.id, c]));
    expect(byId["missing-variables"]).toMatchObject({
      severity: "warning",
      evidence: "picks.0.title: missing for 1 of 3 recipients (e.g. cy@example.com); picks[].title: missing for 1 of 3 recipients (e.g. bob@example.com)",
    });
    expect(byId["unknown-variables"]).toMatchObject({
      severity: "error",
      evidence:
        "`{{firstname}}` is in no recipient's variables; did you mean `firstName`? `picks[].author.nmae` is in no recipient's variables; did you mean `picks[].author.name`?",
    });
  });

  it("analyzes a sending without recipients", async () => {
    const sendingId = await insertSending(db);
    const analysis = await analyzeSending(db, sendingId);
    expect(analysis.checks.find((c) => c.id === "recipients")?.severity).toBe("warning");
  });

  it("refuses an unknown sending", async () => {
    await expect(analyzeSending(db, "snd_missing000")).rejects.toSatisfy((e) => e instanceof AppError && e.code === "NOT_FOUND");
  });
});
