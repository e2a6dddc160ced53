import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeEachDatabase } from "../support/databases.js";
import { ndjson, sendingJson, startHttpHarness, type HttpHarness } from "../support/http-harness.js";
import { API_TOKEN as SENDGATE_API_TOKEN, givenPendingSending, startSlackHarness, type SlackHarness } from "../support/slack-harness.js";

const NDJSON = "application/x-ndjson";
const NEWSLETTER_HTML = [
  "<p>Hi {{firstName}},</p>",
  "<ul>{{#each picks}}<li><a href=\"{{this.url}}\">{{this.title}}</a></li>{{/each}}</ul>",
  '<p><a href="{{unsubscribeUrl}}">Unsubscribe</a></p>',
].join("\n");

describeEachDatabase("intake: nested recipient variables", (provider) => {
  let h: HttpHarness;
  beforeAll(async () => {
    // Smaller limits than the defaults, as RECIPIENT_VARS_MAX_DEPTH and _BYTES would set them.
    h = await startHttpHarness(provider, { recipientVarsLimits: { maxDepth: 3, maxBytes: 200 } });
  });
  afterAll(() => h?.close());

  const createSending = async (overrides: Record<string, unknown> = {}) => {
    const created = await h.request("POST", "/api/sendings", { body: sendingJson({ html: NEWSLETTER_HTML, ...overrides }) });
    expect(created.status).toBe(201);
    return created.body as { id: string };
  };
  const append = (id: string, lines: unknown[]) => h.request("POST", `/api/sendings/${id}/recipients`, { raw: ndjson(lines), contentType: NDJSON });

  it("appends lines with nested variables as they came, within the configured limits", async () => {
    const sending = await createSending();
    const vars = { firstName: "Carol", picks: [{ title: "Salt", url: "https://acme.test/s" }, { title: "Pepper", url: null, stars: 4 }] };
    const response = await append(sending.id, [{ email: "carol@example.com", vars }]);
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ appended: 1, recipientCount: 3 });
    const stored = await h.db.prisma.recipient.findFirstOrThrow({ where: { sendingId: sending.id, email: "carol@example.com" } });
    expect(JSON.parse(stored.vars)).toEqual(vars);
  });

  it("the JSON intake keeps the configured limits too", async () => {
    const deep = await h.request("POST", "/api/sendings", {
      body: sendingJson({ recipients: [{ email: "deep@example.com", vars: { a: { b: { c: { d: "too deep for 3" } } } } }] }),
    });
    expect(deep.status).toBe(400);
    expect(deep.body.message).toMatch(/recipients\[0\]\.vars\.a\.b(\.c)?: nested deeper than 3 levels/);
  });

  it("refuses lines beyond the configured depth and size, naming the line and the value, and appends nothing", async () => {
    const sending = await createSending();
    const before = await h.db.prisma.recipient.count({ where: { sendingId: sending.id } });
    const response = await append(sending.id, [
      { email: "dora@example.com", vars: { picks: [{ title: "Salt" }] } },
      { email: "ed@example.com", vars: { picks: [{ title: "Salt", tags: ["kitchen"] }] } },
      { email: "flo@example.com", vars: { bio: "x".repeat(200) } },
    ]);
    expect(response.status).toBe(400);
    expect(response.body.issues).toEqual([
      { line: 2, path: ["vars", "picks", 0, "tags"], message: "nested deeper than 3 levels" },
      { line: 3, path: ["vars"], message: "are 210 bytes as JSON; at most 200 are allowed" },
    ]);
    expect(response.body.message).toBe("2 lines are invalid (lines 2, 3); nothing was appended. Line 2 vars.picks[0].tags: nested deeper than 3 levels.");
    expect(await h.db.prisma.recipient.count({ where: { sendingId: sending.id } })).toBe(before);
  });

  it("answers a sending whose template misspells a variable with the finding, and the name recipients have", async () => {
    const created = await h.request("POST", "/api/sendings", {
      body: sendingJson({
        subject: "Your picks, {{firstname}}",
        html: NEWSLETTER_HTML.replace("{{this.title}}", "{{this.titel}}"),
        recipients: [
          { email: "ann@example.com", vars: { firstName: "Ann", unsubscribeUrl: "https://acme.test/u/1", picks: [{ title: "Salt", url: "https://acme.test/s" }] } },
          { email: "bob@example.com", vars: { firstName: "Bob", unsubscribeUrl: "https://acme.test/u/2", picks: [] } },
        ],
      }),
    });
    expect(created.status).toBe(201);
    const finding = {
      id: "unknown-variables",
      severity: "error",
      title: "Unknown variables",
      evidence:
        "`{{firstname}}` is in no recipient's variables; did you mean `firstName`? `picks[].titel` is in no recipient's variables; did you mean `picks[].title`?",
    };
    expect(created.body.analysis.findings).toEqual([finding]);
    const read = await h.request("GET", `/api/sendings/${created.body.id}`);
    expect(read.body.analysis.findings).toEqual([finding]);
  });
});

describe("RECIPIENT_VARS_MAX_DEPTH reaches the intake through the composition root", () => {
  let h: SlackHarness;
  beforeAll(async () => {
    h = await startSlackHarness("sqlite", { RECIPIENT_VARS_MAX_DEPTH: "2" });
  });
  afterAll(() => h?.close());

  it("refuses an appended line nested deeper than configured", async () => {
    const sending = await givenPendingSending(h);
    const response = await fetch(`${h.baseUrl}/api/sendings/${sending.id}/recipients`, {
      method: "POST",
      headers: { authorization: `Bearer ${SENDGATE_API_TOKEN}`, "content-type": NDJSON },
      body: ndjson([{ email: "dora@example.com", vars: { author: { name: "Bo" } } }, { email: "ed@example.com", vars: { picks: [{ title: "Salt" }] } }]),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { issues: unknown }).issues).toEqual([{ line: 2, path: ["vars", "picks", 0], message: "nested deeper than 2 levels" }]);
  });
});
