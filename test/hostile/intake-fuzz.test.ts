// Hostile input at the intake API, generated: random and mutated sendings and NDJSON streams. The
// properties: the answer is 2xx or 4xx, never 5xx; a refused request writes nothing; an accepted
// template never reaches a prototype member when it renders.
import fc from "fast-check";
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import { compileSending } from "../../src/mail/templates.js";
import { personalize } from "../../src/mail/message.js";
import { describeEachDatabase } from "../support/databases.js";
import { sendingJson, startHttpHarness, type HttpHarness } from "../support/http-harness.js";

/** Runs per property and database: enough variety to find a crash, few enough for the suite's time. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 40);

const PROTOTYPE_KEYS = ["__proto__", "constructor", "prototype", "toString", "valueOf", "hasOwnProperty", "__defineGetter__"];

/** Template snippets built to reach what a template must not: prototypes, partials, helpers sendgate lacks. */
const hostileTemplate = fc.oneof(
  fc.constantFrom(
    "{{constructor}}",
    "{{constructor.name}}",
    "{{this.constructor.constructor}}",
    "{{__proto__}}",
    "{{__proto__.polluted}}",
    '{{lookup this "constructor"}}',
    '{{lookup (lookup this "constructor") "name"}}',
    "{{#with this.constructor}}{{name}}{{/with}}",
    "{{#each this}}{{@key}}={{this}};{{/each}}",
    "{{toString}}",
    "{{valueOf}}",
    "{{hasOwnProperty}}",
    "{{> header}}",
    "{{#> layout}}x{{/layout}}",
    '{{#* inline "p"}}x{{/inline}}',
    "{{* deco}}",
    "{{nosuchhelper firstName}}",
    "{{#nosuchblock firstName}}x{{/nosuchblock}}",
    "{{{firstName}}}",
    "{{firstName",
    "{{#if}}{{/if}}",
    "{{#each}}",
    "{{/each}}",
    "{{!-- unclosed comment",
    "\u0000{{firstName}}\u0000",
  ),
  fc.string({ maxLength: 200 }),
);

/** Variables with prototype keys, deep nesting, huge strings, numbers out of range and odd characters. */
const hostileVars: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.string({ maxLength: 50 }),
    fc.constantFrom("\u0000", "\uFFFF", "\uD800", "a".repeat(40_000), "<script>alert(1)</script>", "{{constructor}}"),
    fc.double(),
    fc.constantFrom(1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, -0, 5e-324),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 4 }),
    tie("object"),
  ),
  object: fc.dictionary(fc.oneof(fc.constantFrom(...PROTOTYPE_KEYS), fc.string({ maxLength: 12 })), tie("value"), { maxKeys: 5 }),
})).value;

const deeplyNested = fc.integer({ min: 1, max: 3000 }).map((depth) => {
  let value: unknown = "bottom";
  for (let i = 0; i < depth; i += 1) value = i % 2 ? [value] : { next: value };
  return value;
});

/** A valid sending with one part replaced by something hostile. */
const mutatedSending = fc
  .tuple(
    fc.constantFrom("name", "subject", "from", "replyTo", "html", "text", "launchAt", "requestedBy", "recipients", "vars", "extra", "whole"),
    fc.oneof(fc.jsonValue(), hostileTemplate, hostileVars, deeplyNested, fc.string({ maxLength: 300_000, unit: "binary" })),
    hostileTemplate,
  )
  .map(([field, value, template]) => {
    const sending = sendingJson() as Record<string, unknown>;
    switch (field) {
      case "subject":
      case "html":
      case "text":
        sending[field] = typeof value === "string" ? `${value}${template}` : value;
        break;
      case "vars":
        sending.recipients = [{ email: "ann@example.com", vars: value }, ...(sending.recipients as unknown[]).slice(1)];
        break;
      case "extra":
        return { ...sending, __proto__: value, constructor: value } as unknown;
      case "whole":
        return value;
      default:
        sending[field] = value;
    }
    return sending;
  });

/** Raw bodies that are not even JSON text: invalid UTF-8, NUL bytes, truncations. */
const rawBody = fc.oneof(
  fc.uint8Array({ maxLength: 2000 }).map((bytes) => Buffer.from(bytes)),
  fc.nat({ max: 400 }).map((cut) => Buffer.from(JSON.stringify(sendingJson()).slice(0, cut))),
  fc.constant(Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xc3, 0x28, 0xff, 0x00]), Buffer.from('"}')])),
);

const ndjsonLine = fc.oneof(
  fc.record({ email: fc.constantFrom("a@example.com", "b@example.com", "not-an-address", ""), vars: fc.option(hostileVars) }).map((row) => JSON.stringify(row)),
  fc.jsonValue().map((value) => JSON.stringify(value)),
  fc.string({ maxLength: 100 }),
  fc.constantFrom('{"email":"x@example.com","vars":{"__proto__":{"polluted":1}}}', "\u0000", "{", "[]", "null", '{"email":"c@example.com"'),
);
const ndjsonBody = fc.oneof(
  fc.array(ndjsonLine, { maxLength: 30 }).map((lines) => Buffer.from(lines.join("\n") + "\n")),
  fc.uint8Array({ maxLength: 3000 }).map((bytes) => Buffer.from(bytes)),
);

describeEachDatabase("hostile input at the intake API", (provider) => {
  let h: HttpHarness;
  let existing: string;
  beforeAll(async () => {
    h = await startHttpHarness(provider);
    existing = (await h.request("POST", "/api/sendings", { body: sendingJson() })).body.id;
  });
  afterAll(() => h?.close());
  beforeEach(() => {
    h.notifier.events.length = 0;
  });

  it.each([
    ["a partial", "{{> header}}", /no partials/],
    ["a partial block", "{{#> layout}}x{{/layout}}", /no partials/],
    ["an inline partial", '{{#* inline "p"}}x{{/inline}}', /no decorators or inline partials/],
    ["a decorator", "{{* deco}}", /no decorators or inline partials/],
    ["a helper sendgate lacks", "{{nosuchhelper firstName}}", /helper sendgate does not have/],
    ["a block helper sendgate lacks", "{{#nosuchblock firstName}}x{{/nosuchblock}}", /helper sendgate does not have/],
    ["lookup of a helper's result", '{{lookup (nosuch this) "constructor"}}', /helper sendgate does not have/],
  ])("%s is refused with 400 that names it, and nothing is written", async (_what, template, message) => {
    const before = await h.rowCounts();
    const response = await h.request("POST", "/api/sendings", { body: sendingJson({ html: `<p>${template}</p>` }) });
    expect(response.status).toBe(400);
    expect(JSON.stringify(response.body)).toMatch(message);
    expect(await h.rowCounts()).toEqual(before);
  });

  it("text holding a lone surrogate or a NUL is refused with 400 naming the value, in a sending and in an NDJSON line", async () => {
    const before = await h.rowCounts();
    const inName = await h.request("POST", "/api/sendings", { raw: JSON.stringify(sendingJson({ name: "Spring \ud800" })) });
    expect(inName.status).toBe(400);
    expect(inName.body.message).toMatch(/^The body is not valid text: name holds a lone UTF-16 surrogate/);
    const inKey = await h.request("POST", "/api/sendings", { raw: JSON.stringify(sendingJson({ recipients: [{ email: "a@example.com", vars: { "\udc00": 1 } }] })) });
    expect(inKey.status).toBe(400);
    const line = await h.request("POST", `/api/sendings/${existing}/recipients`, {
      raw: `${JSON.stringify({ email: "c@example.com" })}\n${JSON.stringify({ email: "d@example.com", vars: { city: "\ud83d" } })}\n`,
      contentType: "application/x-ndjson",
    });
    expect(line.status).toBe(400);
    expect(JSON.stringify(line.body)).toMatch(/Line 2 vars\.city: holds a lone UTF-16 surrogate/);
    const nul = await h.request("POST", "/api/sendings", { raw: JSON.stringify(sendingJson({ subject: "Hi\u0000 {{firstName}}" })) });
    expect(nul.status).toBe(400);
    expect(nul.body.message).toMatch(/^The body is not valid text: subject holds a NUL character/);
    // A real astral character (a surrogate pair) is text like any other.
    const pair = await h.request("POST", "/api/sendings", { raw: JSON.stringify(sendingJson({ name: "Spring \ud83c\udf38" })) });
    expect(pair.status).toBe(201);
    expect((await h.rowCounts()).sendings).toBe(before.sendings! + 1);
  });

  it("a mutated sending is created (201) or refused with a 4xx that writes nothing; never a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(mutatedSending, async (body) => {
        const before = await h.rowCounts();
        const response = await h.request("POST", "/api/sendings", { raw: JSON.stringify(body) ?? "null" });
        expect(response.status, JSON.stringify(response.body)).toBeLessThan(500);
        if (response.status === 201) return;
        expect(response.status).toBeGreaterThanOrEqual(400);
        expect(response.body.error, "a refusal says why").toEqual(expect.any(String));
        expect(await h.rowCounts()).toEqual(before);
      }),
      { numRuns: RUNS },
    );
  }, 120_000);

  it("bodies that are not JSON text are refused with 400 and write nothing", async () => {
    await fc.assert(
      fc.asyncProperty(rawBody, async (raw) => {
        const before = await h.rowCounts();
        const response = await h.request("POST", "/api/sendings", { raw });
        expect(response.status).toBeLessThan(500);
        if (response.status !== 201) expect(await h.rowCounts()).toEqual(before);
      }),
      { numRuns: RUNS },
    );
  }, 120_000);

  it("an NDJSON stream is appended whole or refused whole, never a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(ndjsonBody, async (raw) => {
        const before = await h.rowCounts();
        const response = await h.request("POST", `/api/sendings/${existing}/recipients`, { raw, contentType: "application/x-ndjson" });
        expect(response.status, JSON.stringify(response.body)).toBeLessThan(500);
        const after = await h.rowCounts();
        if (response.status >= 400) expect(after).toEqual(before);
        else expect(after.recipients! - before.recipients!).toBe(response.body.appended);
        expect(after.stagedRecipients).toBe(0);
      }),
      { numRuns: RUNS },
    );
  }, 120_000);

  it("an accepted template never reaches a prototype member when it renders, whatever the variables", async () => {
    await fc.assert(
      fc.asyncProperty(hostileTemplate, hostileTemplate, hostileVars, async (subject, html, vars) => {
        const body = sendingJson({ subject: `Hi ${subject}`, html: `<p>${html}</p>`, recipients: [{ email: "ann@example.com", vars: { nested: vars, ...(vars && typeof vars === "object" && !Array.isArray(vars) ? vars : {}) } }] });
        const response = await h.request("POST", "/api/sendings", { body });
        expect(response.status, JSON.stringify(response.body)).toBeLessThan(500);
        if (response.status !== 201) return;
        const stored = await h.db.prisma.sending.findUniqueOrThrow({ where: { id: response.body.id }, include: { recipients: true } });
        const content = { ...stored, text: stored.text };
        const compiled = compileSending(content);
        for (const recipient of stored.recipients) {
          let message;
          try {
            message = personalize({ compiled, sendingId: stored.id, content, recipient });
          } catch {
            // Variables that do not print (an object whose own toString is text): that recipient fails
            // with the reason, as the engine records it; nothing was read from a prototype.
            continue;
          }
          for (const part of [message.subject, message.html, message.text]) {
            // An own object printed is "[object Object]", JavaScript's text for it; a prototype reached
            // would show a function's source, a constructor's name or what was planted on it.
            // (the text part may wrap it across lines).
            const reached = part.replace(/\[object\s+Object\]/g, "");
            expect(reached).not.toMatch(/function|native code|\bObject\b|polluted/);
          }
        }
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: RUNS },
    );
  }, 120_000);
});
