import { describe, expect, it } from "vitest";
import { checkTemplates, compileSending, templateVariables } from "../../src/mail/templates.js";

describe("checkTemplates", () => {
  it("reports a syntax error with its part and line", () => {
    const problems = checkTemplates({ subject: "Hi", html: "<p>ok</p>\n<p>{{#if x}}</p>\n<p>never closed</p>" });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ part: "html" });
    expect(problems[0]?.line).toBeGreaterThanOrEqual(2);
  });

  it("reports an unknown helper", () => {
    const problems = checkTemplates({ subject: "{{shout name}}", html: "<p>x</p>" });
    expect(problems).toEqual([expect.objectContaining({ part: "subject", message: expect.stringMatching(/shout/) })]);
  });

  it("accepts a clean template", () => {
    expect(checkTemplates({ subject: "Hello {{firstName}}", html: "{{#if vip}}<b>VIP</b>{{/if}}", text: "t" })).toEqual([]);
  });
});

describe("compileSending", () => {
  it("escapes variables in HTML but not in the subject, and derives the text part", () => {
    const compiled = compileSending({ subject: "Tom & {{name}}", html: "<p>Hi {{name}}</p>" });
    const out = compiled.render({ email: "a@b.test", name: "<Ann & Co>" });
    expect(out.subject).toBe("Tom & <Ann & Co>");
    expect(out.html).toBe("<p>Hi &lt;Ann &amp; Co&gt;</p>");
    expect(out.text).toBe("Hi <Ann & Co>");
    expect(compiled.derivedText).toBe(true);
  });

  it("blocks prototype access", () => {
    const out = compileSending({ subject: "{{constructor.name}}", html: "{{__proto__}}" }).render({ email: "a@b.test" });
    expect(out.subject).toBe("");
    expect(out.html).toBe("");
  });
});

describe("templateVariables", () => {
  it("lists the recipient variables used, not helpers or loop-scoped names", () => {
    const vars = templateVariables({
      subject: "Hello {{firstName}}",
      html: "{{#if vip}}{{code}}{{/if}}{{#each items}}{{title}}{{/each}}{{@index}}",
    });
    expect(vars).toEqual(["code", "firstName", "items", "vip"]);
  });
});
