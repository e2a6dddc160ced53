import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../../src/db/database.js";
import { migrate } from "../../src/db/migrate.js";
import { explainSearch, prefixSuccessor, searchRecipients } from "../../src/sendings/search-recipients.js";
import { adminUrl, databaseUrlFor, postgresUrl } from "../support/database-urls.js";
import { createTestDatabase, describeEachDatabase, testedProviders, type TestDatabase } from "../support/databases.js";
import { insertGeneratedRecipients, insertRecipients, insertSending } from "./fixtures.js";
import { approversOf } from "../sender/support/fixtures.js";

/** insertSending's requester, who may search the list of their own sending. */
const REQUESTER = "U0REQUESTER";
const requester = (db: Database) => ({ db, approvers: approversOf() });

const GENERATED = 100_000;
const SLACK_WINDOW_MS = 3_000;
const SPECIAL = ["ann@example.com", "anna@example.com", "annie@acme.test", "ann-b@example.com", "an_x@example.com", "an%y@example.com", "zoë@example.com"];

/** Every address of the sending, for computing what a search must answer. */
const everyAddress = [...Array.from({ length: GENERATED }, (_, i) => `reader${i + 1}@example.com`), ...SPECIAL];

/** Code point order, as SQLite's BINARY and PostgreSQL's C collation compare. */
const byCodePoint = (a: string, b: string) => (Buffer.compare(Buffer.from(a), Buffer.from(b)));
const expected = (prefix: string, limit = 20) => everyAddress.filter((e) => e.startsWith(prefix)).sort(byCodePoint).slice(0, limit);

describeEachDatabase("searchRecipients over 100,000 recipients", (provider) => {
  let db: TestDatabase;
  let sendingId: string;
  beforeAll(async () => {
    db = await createTestDatabase(provider);
    sendingId = await insertSending(db);
    await insertGeneratedRecipients(db, sendingId, GENERATED);
    await insertRecipients(db, sendingId, SPECIAL.map((email) => ({ email })));
    const other = await insertSending(db);
    await insertRecipients(db, other, [{ email: "ann@example.com" }, { email: "ann@other.test" }, { email: "reader4242@other.test" }]);
  }, 120_000);
  afterAll(() => db?.destroy());

  const emails = async (query: string, limit?: number) => (await searchRecipients(requester(db), { sendingId, userId: REQUESTER, query, limit })).map((m) => m.email);

  it.each([
    ["reader4242"],
    ["reader1"],
    ["ann"],
    ["an_"],
    ["an%"],
    ["zo"],
    ["reader99999@example.com"],
    ["nobody"],
  ])("answers the prefix %j exactly", async (query) => {
    const started = performance.now();
    const found = await emails(query);
    expect(performance.now() - started).toBeLessThan(SLACK_WINDOW_MS);
    expect(found).toEqual(expected(query));
  });

  it("spells out what the index answers for a common prefix", async () => {
    expect(await emails("reader4242")).toEqual([
      ...Array.from({ length: 10 }, (_, d) => `reader4242${d}@example.com`),
      "reader4242@example.com",
    ]);
    expect(await emails("ann")).toEqual(["ann-b@example.com", "ann@example.com", "anna@example.com", "annie@acme.test"]);
  });

  it("ignores letter case and surrounding spaces, and returns ids of this sending's recipients", async () => {
    const found = await searchRecipients(requester(db), { sendingId, userId: REQUESTER, query: "  READER4242@ " });
    expect(found.map((m) => m.email)).toEqual(["reader4242@example.com"]);
    const row = await db.prisma.recipient.findUniqueOrThrow({ where: { sendingId_email: { sendingId, email: "reader4242@example.com" } } });
    expect(found[0]?.id).toBe(row.id);
  });

  it("answers only approvers and the requester", async () => {
    const deps = { db, approvers: approversOf("U0APPROVER") };
    await expect(searchRecipients(deps, { sendingId, userId: "U0APPROVER", query: "ann" })).resolves.toHaveLength(4);
    await expect(searchRecipients(deps, { sendingId, userId: "U0PASSERBY", query: "ann" })).rejects.toMatchObject({ code: "NOT_ALLOWED" });
  });

  it("lists the first addresses for an empty query, and caps the limit at Slack's 100 options", async () => {
    expect(await emails("")).toEqual([...everyAddress].sort(byCodePoint).slice(0, 20));
    expect(await emails("reader", 500)).toHaveLength(100);
    expect(await emails("reader", 3)).toEqual(expected("reader", 3));
  });

  it("is answered from the (sendingId, email) index", async () => {
    const plan = await explainSearch(db, sendingId, "reader4242");
    if (provider === "sqlite") {
      expect(plan).toMatch(/SEARCH Recipient USING (COVERING )?INDEX Recipient_sendingId_email_key \(sendingId=\? AND email>\? AND email<\?\)/);
      expect(plan).not.toMatch(/TEMP B-TREE/); // the index gives the order too
    } else {
      // The ordered index scan that stops at the limit, even before the planner has statistics.
      expect(plan).toMatch(/Index (Only )?Scan using "Recipient_sendingId_email_key"/);
      expect(plan).toMatch(/Index Cond: .*email.* >= .*email.* < /s);
      expect(plan).not.toMatch(/Sort|Bitmap|Seq Scan/);
    }
  });
});

describe("prefixSuccessor", () => {
  it.each([
    ["abc", "abd"],
    ["ann@", "annA"],
    ["a\u{10FFFF}", "b"],
    ["\u{D7FF}", "\u{E000}"],
    ["\u{10FFFF}", null],
  ])("%j → %j", (prefix, successor) => {
    expect(prefixSuccessor(prefix)).toBe(successor);
  });
});

// On a database whose default collation is linguistic (en_US, ICU), addresses sharing a prefix are
// not one range of the index; the search must still answer exactly.
describe.runIf(testedProviders().includes("postgresql"))("searchRecipients on PostgreSQL with an ICU collation", () => {
  const name = `sendgate_t_icu_${process.pid}_${randomBytes(3).toString("hex")}`;
  let db: Database | undefined;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: adminUrl(postgresUrl()!) });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  beforeAll(async () => {
    await admin(`CREATE DATABASE "${name}" TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US'`);
    const url = databaseUrlFor(postgresUrl()!, name);
    await migrate(url);
    db = await openDatabase(url);
  }, 120_000);
  afterAll(async () => {
    await db?.close();
    await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });

  it("answers prefixes exactly", async () => {
    const sendingId = await insertSending(db!);
    const addresses = ["ann@example.com", "ann-b@example.com", "annb@example.com", "anna@example.com", "Ann.c@example.com".toLowerCase(), "bob@example.com", "an0@example.com"];
    await insertRecipients(db!, sendingId, addresses.map((email) => ({ email })));
    const search = async (q: string) => (await searchRecipients(requester(db!), { sendingId, userId: REQUESTER, query: q })).map((m) => m.email).sort();
    expect(await search("ann-")).toEqual(["ann-b@example.com"]);
    expect(await search("ann")).toEqual(addresses.filter((a) => a.startsWith("ann")).sort());
    expect(await search("an0")).toEqual(["an0@example.com"]);
    expect(await search("b")).toEqual(["bob@example.com"]);
  });
});
