import { describe, expect, it } from "vitest";
import { checkTemplates, compileSending, formatTemplateProblem, templateVariables } from "../../src/mail/templates.js";

const htmlProblems = (html: string) => checkTemplates({ subject: "Hi", html }).map(formatTemplateProblem);

describe("checkTemplates", () => {
  it("says in plain words where a block that is never closed opens, not where the file ends", () => {
    const html = ["<h1>News</h1>", "<p>Hi</p>", "{{#if vip}}", "<p>Early access</p>", "<p>More</p>", "", "<p>Bye</p>"].join("\n");
    expect(htmlProblems(html)).toEqual(["html, line 3: `{{#if vip}}` opened here is never closed (it needs a `{{/if}}`)"]);
    const nested = "{{#each picks}}\n{{#if this.url}}<a>{{title}}</a>\n{{/each}}";
    expect(htmlProblems(nested)).toEqual(["html, line 3: `{{/each}}` on line 3 closes `{{#if this.url}}` opened on line 2; blocks close innermost first"]);
  });

  it("names both lines when a block is closed by another one's tag", () => {
    const html = ["<ul>", "{{#each picks}}", "<li>", "{{#if url}}", "<a href=\"{{url}}\">{{title}}</a>", "{{/each}}", "{{/if}}", "</ul>"].join("\n");
    expect(htmlProblems(html)).toEqual(["html, line 6: `{{/each}}` on line 6 closes `{{#if url}}` opened on line 4; blocks close innermost first"]);
  });

  it("says so when a closing tag or an {{else}} stands outside any block, or a block has two {{else}}", () => {
    expect(htmlProblems("{{#if a}}x{{/if}}\n{{/if}}")).toEqual(["html, line 2: `{{/if}}` closes nothing: no `{{#if}}` is open here"]);
    expect(htmlProblems("a\n{{ else }}")).toEqual(["html, line 2: `{{ else }}` stands outside any block"]);
    expect(htmlProblems("{{#if a}}\nx\n{{else}}y\n{{^}}z{{/if}}")).toEqual(["html, line 4: `{{^}}` is a second `{{else}}` in `{{#if a}}` opened on line 1"]);
  });

  it("says which tag lacks its closing braces", () => {
    expect(htmlProblems("<p>\n{{#if vip}\n<b>VIP</b>{{/if}}")).toEqual(["html, line 2: `{{#if vip}` lacks its closing `}}`"]);
    expect(checkTemplates({ subject: "Hello {{firstName", html: "x" }).map(formatTemplateProblem)).toEqual(["subject, line 1: `{{firstName` lacks its closing `}}`"]);
  });

  it("is not misled by comments, raw blocks, escaped tags, whitespace control or {{else if}} chains", () => {
    const html = [
      "{{!-- {{#if draft}} is not a block here --}}{{! nor {{#each}} }}",
      "\\{{#if literal}} is printed as it is",
      "{{{{raw}}}} {{#if raw}} {{{{/raw}}}}",
      "{{~#if a~}}1{{~else if b~}}2{{else}}3{{~/if~}}",
      "{{#unless c}}",
    ].join("\n");
    expect(htmlProblems(html)).toEqual(["html, line 5: `{{#unless c}}` opened here is never closed (it needs a `{{/unless}}`)"]);
  });

  it("falls back to the parser's own words, with the part and line, for other syntax errors", () => {
    expect(htmlProblems("<p>ok</p>\n{{#if a}}{{/if}}}")).toEqual(["html, line 2: syntax error: expecting 'CLOSE', got 'CLOSE_UNESCAPED'"]);
    expect(htmlProblems("x\n{{name=}}")).toEqual([expect.stringMatching(/^html, line 2: syntax error: expecting .*got /)]);
  });

  it("reports a helper sendgate lacks wherever it stands, even in a block no recipient may enter", () => {
    expect(checkTemplates({ subject: "{{shout name}}", html: "<p>x</p>" }).map(formatTemplateProblem)).toEqual([
      "subject, line 1: `{{shout name}}` calls shout, a helper sendgate does not have (it has if, unless, each, with, lookup, log)",
    ]);
    expect(htmlProblems("<p>x</p>\n{{#if vip}}\n  {{formatDate joined}}\n{{/if}}")).toEqual([
      "html, line 3: `{{formatDate joined}}` calls formatDate, a helper sendgate does not have (it has if, unless, each, with, lookup, log)",
    ]);
  });

  it("reports block helpers given other than one value or used without a block, and partials", () => {
    expect(htmlProblems("{{#each picks}}\n{{#if a b}}x{{/if}}{{/each}}")).toEqual(["html, line 2: `{{#if a b}}`: #if takes exactly one value"]);
    expect(htmlProblems("{{#with}}x{{/with}}")).toEqual(["html, line 1: `{{#with}}`: #with takes exactly one value"]);
    expect(htmlProblems("a {{each picks}}")).toEqual(["html, line 1: `{{each picks}}`: each works as a block only, `{{#each …}}…{{/each}}`"]);
    expect(htmlProblems("{{#if a}}{{> footer}}{{/if}}")).toEqual(["html, line 1: `{{> footer}}`: sendgate templates have no partials; write that part out"]);
  });

  it("accepts a clean template, nested blocks and paths included", () => {
    expect(checkTemplates({ subject: "Hello {{firstName}}", html: "{{#if vip}}<b>VIP</b>{{/if}}", text: "t" })).toEqual([]);
    const html = '{{#each picks as |pick|}}<a href="{{pick.url}}">{{this.title}}</a>{{else}}none{{/each}}{{#with author}}{{name}}{{/with}}{{picks.0.title}}';
    expect(checkTemplates({ subject: "{{picks.0.title}}", html, text: "{{#each picks}}{{title}}{{/each}}" })).toEqual([]);
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
