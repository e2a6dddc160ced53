import { describe, expect, it } from "vitest";
import { variableReferences } from "../../src/mail/template-variables.js";
import { formatVariablePath } from "../../src/mail/variable-paths.js";

/** References written out: `path printed [blocks]`. */
const read = (html: string, subject = "", text: string | null = null) =>
  variableReferences({ subject, html, text }).map((r) => `${formatVariablePath(r.path)}${r.printed ? " printed" : ""}${r.blocks.length ? ` in ${r.blocks.join(">")}` : ""}`);

describe("variableReferences", () => {
  it("reports each path with whether it is printed and the blocks around it; helpers and @data are not variables", () => {
    const refs = variableReferences({
      subject: "Hello {{firstName}}",
      html: "{{#if vip}}{{{code}}}{{else}}{{lookup codes region}}{{/if}}{{@index}}{{log note}}{{lookup tags nick=alias}}",
      text: null,
    });
    expect(refs).toEqual([
      { path: ["firstName"], printed: true, blocks: [] },
      { path: ["vip"], printed: false, blocks: [] },
      { path: ["code"], printed: true, blocks: ["if"] },
      { path: ["codes"], printed: false, blocks: ["if"] },
      { path: ["region"], printed: false, blocks: ["if"] },
      { path: ["note"], printed: false, blocks: [] },
      { path: ["tags"], printed: false, blocks: [] },
      { path: ["alias"], printed: false, blocks: [] },
    ]);
  });

  it("reads names inside {{#each}} as the items' own: {{title}}, {{this.title}}, a block parameter's, {{this}}", () => {
    expect(read('{{#each picks}}<a href="{{this.url}}">{{title}}</a>{{/each}}{{#each tags as |tag i|}}{{tag.name}}{{i}}{{/each}}{{#each words}}{{this}}{{/each}}')).toEqual([
      "picks",
      "picks[].url printed in each",
      "picks[].title printed in each",
      "tags",
      "tags[].name printed in each",
      "words",
      "words[] printed in each",
    ]);
  });

  it("reads names inside {{#with}} as the object's, nested blocks within each other, and {{else}} in the outer scope", () => {
    expect(read("{{#with author}}{{name}}{{#each books}}{{title}}{{#with publisher}}{{city}}{{/with}}{{/each}}{{else}}{{anonymous}}{{/with}}")).toEqual([
      "author",
      "author.name printed in with",
      "author.books in with",
      "author.books[].title printed in with>each",
      "author.books[].publisher in with>each",
      "author.books[].publisher.city printed in with>each>with",
      "anonymous printed in with",
    ]);
  });

  it("climbs out with ../ and @root, and keeps a number in a path as that one item", () => {
    expect(read("{{#each picks}}{{../firstName}}{{@root.lastName}}{{#each tags}}{{../title}}{{/each}}{{/each}}{{picks.0.title}}{{picks.[1].url}}")).toEqual([
      "picks",
      "firstName printed in each",
      "lastName printed in each",
      "picks[].tags in each",
      "picks[].title printed in each>each",
      "picks.0.title printed",
      "picks.1.url printed",
    ]);
  });

  it("does not guess inside a {{#section}}, whose context depends on the value; {{#if}} keeps the context", () => {
    expect(read("{{#picks}}{{title}}{{../firstName}}{{/picks}}{{#if vip}}{{this.code}}{{/if}}")).toEqual([
      "picks",
      "firstName printed in picks",
      "vip",
      "code printed in if",
    ]);
  });

  it("reads nothing from a part that does not parse, and still reads the others", () => {
    expect(read("{{name}}", "{{#if x}}")).toEqual(["name printed"]);
  });
});
