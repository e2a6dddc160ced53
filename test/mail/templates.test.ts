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

  it("renders nested variables in subject, HTML and text: {{#each}}, {{#with}}, {{this.x}}, {{picks.0.title}}", () => {
    const compiled = compileSending({
      subject: "{{picks.0.title}} and {{picks.length}} more picks for {{author.name}}",
      html: '{{#each picks}}<a href="{{this.url}}">{{this.title}}</a>{{#if @last}}.{{else}}, {{/if}}{{/each}}{{#with author}}<p>{{name}}, {{../firstName}}</p>{{/with}}',
      text: "{{#each picks}}- {{title}} <{{url}}>\n{{/each}}{{#with author}}{{name}}{{/with}} {{#if vip}}{{vip.level}}{{/if}}",
    });
    const vars = JSON.parse('{"firstName":"Ann","vip":{"level":3},"author":{"name":"Bo"},"picks":[{"title":"Salt & Co","url":"https://acme.test/s?a=1&b=2"},{"title":"Pepper","url":"https://acme.test/p"}]}');
    const out = compiled.render({ email: "ann@example.com", ...vars });
    expect(out.subject).toBe("Salt & Co and 2 more picks for Bo");
    expect(out.html).toBe('<a href="https://acme.test/s?a&#x3D;1&amp;b&#x3D;2">Salt &amp; Co</a>, <a href="https://acme.test/p">Pepper</a>.<p>Bo, Ann</p>');
    expect(out.text).toBe("- Salt & Co <https://acme.test/s?a=1&b=2>\n- Pepper <https://acme.test/p>\nBo 3");
  });

  it("blocks prototype access", () => {
    const out = compileSending({ subject: "{{constructor.name}}", html: "{{__proto__}}" }).render({ email: "a@b.test" });
    expect(out.subject).toBe("");
    expect(out.html).toBe("");
  });

  it("reads __proto__ and constructor keys of a recipient's variables as their own data, never as prototypes", () => {
    const vars = JSON.parse('{"__proto__":{"isAdmin":"yes","toString":"x"},"constructor":{"prototype":{"polluted":"yes"}},"picks":[{"__proto__":{"title":"hidden"}}]}');
    const context = { email: "a@b.test", ...vars };
    expect(Object.getPrototypeOf(context)).toBe(Object.prototype);
    const compiled = compileSending({
      subject: "{{isAdmin}}|{{polluted}}|{{#each picks}}{{title}}{{/each}}|{{picks.constructor.name}}|{{email.constructor.name}}",
      html: "{{__proto__.isAdmin}}|{{constructor.prototype.polluted}}|{{#each picks}}{{__proto__.title}}{{/each}}",
    });
    const out = compiled.render(context);
    expect(out.subject).toBe("||||");
    // Own data of the recipient, printed like any other variable; nothing came from or went to a prototype.
    expect(out.html).toBe("yes|yes|hidden");
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe("templateVariables", () => {
  it("lists the paths into recipients' variables, items of lists as [], not helpers or @data", () => {
    const vars = templateVariables({
      subject: "Hello {{firstName}}, {{picks.0.title}}",
      html: "{{#if vip}}{{code}}{{/if}}{{#each items}}{{title}}{{this.url}}{{/each}}{{@index}}{{#with author}}{{name}}{{/with}}",
    });
    expect(vars).toEqual(["author", "author.name", "code", "firstName", "items", "items[].title", "items[].url", "picks.0.title", "vip"]);
  });
});
