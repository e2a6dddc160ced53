import { describe, expect, it } from "vitest";
import { analyzeSending } from "../../../src/mail/analysis/checks.js";
import { createRecipientStatsCollector } from "../../../src/mail/analysis/recipient-stats.js";
import { GMAIL_CLIP_BYTES, type AnalysisInput, type CheckId } from "../../../src/mail/analysis/types.js";
import { templateVariables, type TemplateSources } from "../../../src/mail/templates.js";

type Recipient = { email: string; vars?: Record<string, unknown> };

const CLEAN: TemplateSources = {
  subject: "Your spring update, {{firstName}}",
  html: [
    '<img src="https://cdn.acme.test/logo.png" alt="Acme" width="120">',
    "<p>Hi {{firstName}},</p>",
    "{{#if vip}}<p>As a VIP you get early access.</p>{{/if}}",
    '<p>Read <a href="https://acme.test/spring?utm_source=mail&amp;id={{id}}">the spring news</a>',
    'or <a href="mailto:help@acme.test">write to us</a>. <a href="#top">Top</a></p>',
    '<p><a href="{{unsubscribeUrl}}">Unsubscribe</a></p>',
  ].join("\n"),
};

const person = (i: number, extra: Record<string, unknown> = {}): Recipient => ({
  email: `reader${i}@example.com`,
  vars: { firstName: `Reader${i}`, id: i, unsubscribeUrl: `https://acme.test/u/${i}`, ...extra },
});
const PEOPLE = [person(1), person(2, { vip: true }), person(3)];

function analyze(content: Partial<TemplateSources>, recipients: Recipient[] = PEOPLE, options: Partial<AnalysisInput> & { twins?: string[] } = {}) {
  const sources = { ...CLEAN, ...content };
  const collector = createRecipientStatsCollector(templateVariables(sources));
  for (const r of recipients) collector.add({ email: r.email, vars: r.vars ?? {} });
  const analysis = analyzeSending({
    content: sources,
    recipients: collector.finish(new Set(options.twins ?? [])),
    unsubscribeUrl: options.unsubscribeUrl,
    dkimDomain: options.dkimDomain,
    fromEmail: options.fromEmail,
  });
  const check = (id: CheckId) => {
    const found = analysis.checks.find((c) => c.id === id);
    if (!found) throw new Error(`no ${id} check in ${analysis.checks.map((c) => c.id).join(", ")}`);
    return found;
  };
  const tripped = analysis.checks.filter((c) => c.severity !== "pass").map((c) => c.id);
  return { analysis, check, tripped };
}

describe("analyzeSending", () => {
  it("passes a clean template on every check", () => {
    const { analysis, tripped } = analyze({});
    expect(tripped).toEqual([]);
    expect(analysis.checks.map((c) => c.id).sort()).toEqual(
      [
        "template-errors", "recipients", "missing-variables", "unknown-variables", "invalid-addresses", "duplicate-addresses", "html-size",
        "unsubscribe", "links", "image-alt", "subject-empty", "subject-length", "subject-caps", "text-part",
      ].sort(),
    );
    expect(analysis.counts).toEqual({ passed: 14, warnings: 0, errors: 0 });
    for (const c of analysis.checks) expect(c.evidence.length).toBeGreaterThan(0);
  });

  it("reports template errors with part and line, as an error", () => {
    const { check, analysis } = analyze({ html: "<p>Hi</p>\n<p>{{#if vip}}never closed</p>" });
    expect(check("template-errors")).toMatchObject({
      severity: "error",
      evidence: "The template does not render. html, line 2: `{{#if vip}}` opened here is never closed (it needs a `{{/if}}`)",
    });
    expect(analysis.counts.errors).toBeGreaterThanOrEqual(1);
  });

  it("reports an unknown helper as a template error", () => {
    expect(analyze({ subject: "{{shout firstName}}" }).check("template-errors")).toMatchObject({
      severity: "error",
      evidence: expect.stringMatching(/subject.*shout/),
    });
  });

  it("warns of a sending without recipients", () => {
    const { check, tripped } = analyze({}, []);
    expect(check("recipients")).toMatchObject({ severity: "warning", evidence: expect.stringMatching(/no recipients/) });
    expect(tripped).toEqual(["recipients"]);
  });

  it("warns of a variable missing for some recipients, with how many and a sample", () => {
    const recipients = [person(1), person(2, { firstName: "", vip: true }), person(3, { firstName: null }), person(4)];
    const { check, tripped } = analyze({}, recipients);
    expect(check("missing-variables")).toMatchObject({
      severity: "warning",
      evidence: "firstName: missing for 2 of 4 recipients (e.g. reader2@example.com, reader3@example.com)",
    });
    expect(tripped).toEqual(["missing-variables"]);
  });

  it("refuses a printed variable that no recipient has (a misspelt name), and suggests the one they have", () => {
    const { check, tripped } = analyze({ html: CLEAN.html.replace("Hi {{firstName}}", "Hi {{frstName}}") });
    expect(check("unknown-variables")).toMatchObject({
      severity: "error",
      evidence: "`{{frstName}}` is in no recipient's variables; did you mean `firstName`?",
    });
    expect(tripped).toEqual(["unknown-variables"]);
    expect(analyze({ subject: "Hi {{firstname}}" }).check("unknown-variables").evidence).toBe(
      "`{{firstname}}` is in no recipient's variables; did you mean `firstName`?",
    );
  });

  it("suggests nothing when no name is close enough", () => {
    expect(analyze({ subject: "Your {{coupon}}" }).check("unknown-variables")).toMatchObject({
      severity: "error",
      evidence: "`{{coupon}}` is in no recipient's variables.",
    });
  });

  it("only warns of a variable that no recipient has when it is merely tested by {{#if}}", () => {
    const { check, tripped } = analyze({}, [person(1), person(2)]);
    expect(check("unknown-variables")).toMatchObject({
      severity: "warning",
      evidence: "`{{vip}}` is in no recipient's variables, so the part it guards never shows.",
    });
    expect(tripped).toEqual(["unknown-variables"]);
  });

  it("only warns of a variable that no recipient has when it is printed inside a block", () => {
    const { check } = analyze({ html: `${CLEAN.html}{{#if vip}}<p>Your code: {{code}}</p>{{/if}}` });
    expect(check("unknown-variables")).toMatchObject({ severity: "warning", evidence: "`{{code}}` is in no recipient's variables." });
  });

  it("refuses a variable every recipient has empty as missing, not as unknown", () => {
    const recipients = PEOPLE.map((r) => ({ ...r, vars: { ...r.vars, firstName: "" } }));
    const { check, tripped } = analyze({}, recipients);
    expect(check("missing-variables")).toMatchObject({ severity: "error", evidence: expect.stringMatching(/^firstName: missing for all 3 recipients/) });
    expect(tripped).toEqual(["missing-variables"]);
  });

  it("counts a recipient as missing a list item's variable when any of their items lacks it", () => {
    const html = `${CLEAN.html}{{#each picks}}<a href="{{url}}">{{title}}</a>{{/each}}`;
    const recipients = [
      person(1, { picks: [{ title: "Salt", url: "https://acme.test/s" }, { title: "Pepper", url: "https://acme.test/p" }] }),
      person(2, { picks: [{ title: "Salt", url: "https://acme.test/s" }, { url: "https://acme.test/x" }], vip: true }),
      person(3, { picks: [] }),
      person(4),
    ];
    const { check, tripped } = analyze({ html }, recipients);
    expect(check("missing-variables")).toMatchObject({
      severity: "warning",
      // Without picks (reader3, reader4) nothing is repeated: no gap; picks itself is only tested by the {{#each}}.
      evidence: "picks[].title: missing for 1 of 4 recipients (e.g. reader2@example.com)",
    });
    expect(tripped).toEqual(["missing-variables"]);
  });

  it("suggests the name a list's items have for a misspelt one inside {{#each}}, and the list's name for a misspelt list", () => {
    const recipients = [person(1, { picks: [{ title: "Salt", url: "https://acme.test/s" }] }), person(2, { picks: [], vip: true })];
    const items = analyze({ html: `${CLEAN.html}{{#each picks}}<a href="{{url}}">{{this.titel}}</a>{{/each}}` }, recipients);
    expect(items.check("unknown-variables")).toMatchObject({
      severity: "warning",
      evidence: "`picks[].titel` is in no recipient's variables; did you mean `picks[].title`?",
    });
    const list = analyze({ html: `${CLEAN.html}{{#each pick}}{{title}}{{/each}}{{#with autor}}{{name}}{{/with}}` }, [
      person(1, { picks: [{ title: "Salt" }], author: { name: "Bo" }, vip: false }),
    ]);
    expect(list.check("unknown-variables").evidence).toBe(
      // Sorted by path; `autor.name` and `pick[].title` are not repeated under `autor` and `pick`.
      "`{{autor}}` is in no recipient's variables, so the part it guards never shows; did you mean `author`? " +
        "`{{pick}}` is in no recipient's variables, so the part it guards never shows; did you mean `picks`?",
    );
  });

  it("does not call a list item's variable unknown when every list is empty", () => {
    const { check } = analyze({ html: `${CLEAN.html}{{#each picks}}{{title}}{{/each}}` }, [person(1, { picks: [], vip: true })]);
    expect(check("unknown-variables").severity).toBe("pass");
  });

  it("refuses invalid addresses, with a sample", () => {
    const { check, tripped } = analyze({}, [...PEOPLE, person(9, {}), { ...person(4), email: "not-an-address" }, { ...person(5), email: "a b@example.com" }]);
    expect(check("invalid-addresses")).toMatchObject({ severity: "error", evidence: "2 invalid: not-an-address, a b@example.com" });
    expect(tripped).toEqual(["invalid-addresses"]);
  });

  it("refuses addresses that differ only in letter case", () => {
    const recipients = [...PEOPLE, { ...person(7), email: "Reader1@Example.com" }, { ...person(8), email: "BOB@example.com" }, { ...person(9), email: "Bob@example.com" }];
    const { check, tripped } = analyze({}, recipients, { twins: ["reader1@example.com"] });
    expect(check("duplicate-addresses")).toMatchObject({
      severity: "error",
      evidence: expect.stringMatching(/^2 addresses .*reader1@example.com = Reader1@Example.com; BOB@example.com = Bob@example.com/),
    });
    expect(tripped).toEqual(["duplicate-addresses"]);
  });

  it("warns when the HTML of the largest recipient is over Gmail's clipping size", () => {
    const bio = "x".repeat(GMAIL_CLIP_BYTES);
    const { check, tripped } = analyze({ html: `${CLEAN.html}{{#if bio}}<p>{{bio}}</p>{{/if}}` }, [...PEOPLE, person(4, { bio })]);
    expect(check("html-size")).toMatchObject({ severity: "warning", evidence: expect.stringMatching(/for reader4@example.com: Gmail clips/) });
    expect(tripped).toEqual(["missing-variables", "html-size"]); // bio is missing for the others: a warning
    expect(analyze({}).check("html-size").evidence).toMatch(/below Gmail's 102 KB/);
  });

  it("warns of no unsubscribe link and no header", () => {
    const html = CLEAN.html.replace('<p><a href="{{unsubscribeUrl}}">Unsubscribe</a></p>', "");
    const withoutVar = PEOPLE.map((r) => ({ ...r, vars: { ...r.vars, unsubscribeUrl: undefined } }));
    expect(analyze({ html }, withoutVar).check("unsubscribe")).toMatchObject({
      severity: "warning",
      evidence: expect.stringMatching(/^No unsubscribe link in the HTML, and no List-Unsubscribe header/),
    });
    // A header from UNSUBSCRIBE_URL without a visible link is still a warning; both together pass.
    expect(analyze({ html }, withoutVar, { unsubscribeUrl: "https://acme.test/u?e={email}" }).check("unsubscribe").severity).toBe("warning");
    const staticLink = `${html}<a href="https://acme.test/preferences">Unsubscribe</a>`;
    expect(analyze({ html: staticLink }, withoutVar, { unsubscribeUrl: "https://acme.test/u?e={email}" }).check("unsubscribe").severity).toBe("pass");
    expect(analyze({ html: staticLink }, withoutVar).check("unsubscribe")).toMatchObject({
      severity: "warning",
      evidence: expect.stringMatching(/has an unsubscribe link, but no List-Unsubscribe header/),
    });
  });

  it("warns of malformed and non-https links, and leaves placeholders alone", () => {
    const html = [
      CLEAN.html,
      '<a href="http://acme.test/old">old</a>',
      '<a href="www.acme.test">www</a>',
      "<a href='javascript:alert(1)'>js</a>",
      '<a href="https:/acme.test/one-slash">slash</a>',
      '<a href="https://acme.test/a b">space</a>',
      '<a title="a > b" href="">empty</a>',
      '<a href="{{offerUrl}}">offer</a> <a href="{{baseUrl}}/x">base</a> <a href="https://{{host}}/p">host</a>',
      '<!-- <a href="http://commented.test">no</a> -->',
    ].join("\n");
    const { check, tripped } = analyze({ html }, PEOPLE.map((r) => ({ ...r, vars: { ...r.vars, offerUrl: "https://acme.test/o", baseUrl: "https://acme.test", host: "acme.test" } })));
    const links = check("links");
    expect(links.severity).toBe("warning");
    expect(links.evidence).toMatch(/^6 of 13 links are malformed or not https: http:\/\/acme.test\/old \(not https\); www.acme.test \(relative/);
    expect(links.evidence).not.toContain("commented");
    expect(tripped).toEqual(["links"]);
  });

  it("warns of images without alt text, and accepts alt=\"\" for decorative ones", () => {
    const html = `${CLEAN.html}<img src="https://cdn.acme.test/a.png"><img alt="" src="https://cdn.acme.test/spacer.gif"><img data-x="a > b" src='https://cdn.acme.test/b.png'/>`;
    const { check, tripped } = analyze({ html });
    expect(check("image-alt")).toMatchObject({
      severity: "warning",
      evidence: expect.stringMatching(/^2 of 4 images have no alt text.*: https:\/\/cdn.acme.test\/a.png, https:\/\/cdn.acme.test\/b.png$/),
    });
    expect(tripped).toEqual(["image-alt"]);
  });

  it("refuses an empty subject, and one that renders empty", () => {
    expect(analyze({ subject: "  " }).check("subject-empty")).toMatchObject({ severity: "error", evidence: "The subject is empty." });
    const rendersEmpty = analyze({ subject: "{{headline}}" }, PEOPLE);
    expect(rendersEmpty.check("subject-empty")).toMatchObject({ severity: "error", evidence: expect.stringMatching(/renders empty/) });
  });

  it("warns of a subject longer than 78 characters", () => {
    const { check, tripped } = analyze({ subject: `{{firstName}}, ${"a very long subject line ".repeat(3)}and then some more` });
    expect(check("subject-length")).toMatchObject({ severity: "warning", evidence: expect.stringMatching(/^\d+ characters for reader/) });
    expect(tripped).toEqual(["subject-length"]);
  });

  it("warns of an all-capitals subject, not of a short acronym", () => {
    const { check, tripped } = analyze({ subject: "HUGE SPRING SALE, {{firstName}}!" }, PEOPLE.map((r) => ({ ...r, vars: { ...r.vars, firstName: "ANN" } })));
    expect(check("subject-caps").severity).toBe("warning");
    expect(tripped).toEqual(["subject-caps"]);
    expect(analyze({ subject: "FAQ: your questions, {{firstName}}" }).check("subject-caps").severity).toBe("pass");
  });

  it("says that a text part will be derived when none is given", () => {
    expect(analyze({ text: null }).check("text-part")).toEqual({
      id: "text-part",
      title: "Text part",
      severity: "pass",
      evidence: "No text part was given: one will be derived from the HTML for every recipient.",
    });
    expect(analyze({ text: "Hi {{firstName}}" }).check("text-part").evidence).toBe("A text part is given.");
  });
});

describe("DKIM alignment", () => {
  it("passes when From is the DKIM domain or a subdomain, warns otherwise, and is no check without DKIM", () => {
    expect(analyze({}, PEOPLE, { dkimDomain: "acme.test", fromEmail: "news@acme.test" }).check("dkim-alignment").severity).toBe("pass");
    expect(analyze({}, PEOPLE, { dkimDomain: "acme.test", fromEmail: "news@mail.acme.test" }).check("dkim-alignment").severity).toBe("pass");
    const other = analyze({}, PEOPLE, { dkimDomain: "acme.test", fromEmail: "news@acme-mail.test" }).check("dkim-alignment");
    expect(other.severity).toBe("warning");
    expect(other.evidence).toContain("From is acme-mail.test, but messages are signed for acme.test (DKIM_DOMAIN)");
    expect(analyze({}, PEOPLE, { fromEmail: "news@acme-mail.test" }).analysis.checks.map((c) => c.id)).not.toContain("dkim-alignment");
  });
});
