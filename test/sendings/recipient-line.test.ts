// The NDJSON line reader takes lines of the usual shape without the schema, for speed. Whatever it
// takes must be exactly what the schema takes, stored exactly as the schema's path stores it; and
// what it refuses is refused in the schema's words. Both are held side by side here on generated lines.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { toRecipientRow } from "../../src/sendings/support/recipient-batch.js";
import { createLineReader } from "../../src/sendings/support/recipient-line.js";
import { issuesOf, recipientLine, type RecipientVarsLimits } from "../../src/sendings/support/sending-input.js";
import { malformedText, mayHoldMalformedText } from "../../src/sendings/support/well-formed-text.js";

/** The reading as it was before the shortcut: JSON, well-formed text, then the schema for every line. */
function readThroughSchema(text: string, limits: RecipientVarsLimits) {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { problems: [{ path: [], message: "is not valid JSON" }] };
  }
  const malformed = mayHoldMalformedText(text) ? malformedText(json) : undefined;
  if (malformed) return { problems: [{ path: malformed.path, message: malformed.problem }] };
  const parsed = recipientLine(limits).safeParse(json);
  if (!parsed.success) return { problems: issuesOf(parsed.error) };
  return { row: toRecipientRow(parsed.data) };
}

/** Small limits, so that generated values cross them often. */
const LIMITS: RecipientVarsLimits = { maxDepth: 3, maxBytes: 120 };

const address = fc.oneof(
  fc.emailAddress(),
  fc.emailAddress().map((email) => ` ${email.toUpperCase()}\t`),
  fc.constantFrom("ann@example.com", "Ann@Example.COM", "ann@example", "ann@@example.com", "a.b@c.co", ".a@b.co", "a..b@c.co", "ann@-x.com", "ann@x-.com", "é@example.com", ""),
  fc.string({ maxLength: 30 }),
);

const leaf = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null), fc.string({ maxLength: 8, unit: "binary" }));
const { value } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: "small" }, leaf, fc.array(tie("value"), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 6 }), tie("value"), { maxKeys: 3 })),
}));
const vars = fc.oneof(
  fc.dictionary(fc.constantFrom("firstName", "city", "__proto__", "constructor", "picks", "x"), value, { maxKeys: 4 }),
  value,
  // Right at the byte limit, in one- to four-byte characters.
  fc.integer({ min: 100, max: 125 }).chain((length) => fc.constantFrom("a", "é", "€", "😀").map((ch) => ({ pad: ch.repeat(Math.floor(length / ch.length / (ch === "a" ? 1 : 3))) }))),
);

const line = fc.oneof(
  fc.record({ email: address, vars }, { requiredKeys: ["email"] }).map((object) => JSON.stringify(object)),
  fc.record({ email: address, vars, extra: value }, { requiredKeys: [] }).map((object) => JSON.stringify(object)),
  fc.jsonValue().map((json) => JSON.stringify(json)),
  fc.constantFrom(
    '{"email":"ann@example.com","vars":{"__proto__":{"polluted":1}}}',
    '{"email":"ann@example.com","__proto__":{}}',
    '{"email":"ann@example.com","vars":{"city":"\\ud800"}}',
    '{"email":"ann@example.com","vars":{"\\u0000":1}}',
    '{"email":"ann@example.com","vars":[]}',
    '{"email":"ann@example.com","vars":null}',
    '{"email":"ann@example.com","email":"bob@example.com"}',
    '{"email":"ann@example.com","vars":{"a":{"b":{"c":{}}}}}',
    '{"email":"ann@example.com","vars":{"a":{"b":{"c":1}}}}',
    '{"email":"ann@example.com","vars":{"a":[[[]]]}}',
    "{not json",
  ),
);

describe("NDJSON line reader", () => {
  it("reads every line exactly as the schema does", () => {
    const read = createLineReader(LIMITS);
    fc.assert(
      fc.property(line, (text) => {
        expect(read(text)).toEqual(readThroughSchema(text, LIMITS));
      }),
      { numRuns: 3_000 },
    );
  });

  it("takes lines of the usual shape itself: the same rows with the default limits", () => {
    const read = createLineReader();
    const text = JSON.stringify({ email: " Ann@Example.com", vars: { firstName: "Ann", picks: [{ title: "Salt" }], vip: true, visits: 3, note: null } });
    expect(read(text)).toEqual({ row: { email: "ann@example.com", vars: '{"firstName":"Ann","picks":[{"title":"Salt"}],"vip":true,"visits":3,"note":null}' } });
    expect(read(text)).toEqual(readThroughSchema(text, { maxDepth: 8, maxBytes: 32_768 }));
    expect(read('{"email":"bob@example.com"}')).toEqual({ row: { email: "bob@example.com", vars: "{}" } });
  });

  it("refuses what the schema refuses, in its words", () => {
    const read = createLineReader(LIMITS);
    expect(read('{"email":"ann@example.com","vars":{"a":{"b":{"c":{}}}}}')).toEqual({
      problems: [{ path: ["vars", "a", "b", "c"], message: "nested deeper than 3 levels" }],
    });
    expect(read(JSON.stringify({ email: "ann@example.com", vars: { pad: "€".repeat(40) } }))).toEqual({
      problems: [{ path: ["vars"], message: "are 130 bytes as JSON; at most 120 are allowed" }],
    });
    expect(read('{"email":"not-an-address"}')).toEqual({ problems: [{ path: ["email"], message: "is not a valid e-mail address" }] });
  });
});
