import { describe, expect, it } from "vitest";
import { variableReferences } from "../../src/mail/template-variables.js";

describe("variableReferences", () => {
  it("reports each path with whether it is printed and the blocks around it", () => {
    const refs = variableReferences({
      subject: "Hello {{firstName}}",
      html: "{{#if vip}}{{{code}}}{{else}}{{formatDate date}}{{/if}}{{#each items}}{{title}}{{/each}}{{@index}}{{../up}}{{upper name=nick}}",
      text: null,
    });
    expect(refs).toEqual([
      { name: "firstName", printed: true, blocks: [] },
      { name: "if", printed: false, blocks: [] },
      { name: "vip", printed: false, blocks: [] },
      { name: "code", printed: true, blocks: ["if"] },
      { name: "formatDate", printed: false, blocks: ["if"] },
      { name: "date", printed: false, blocks: ["if"] },
      { name: "each", printed: false, blocks: [] },
      { name: "items", printed: false, blocks: [] },
      { name: "title", printed: true, blocks: ["each"] },
      { name: "upper", printed: false, blocks: [] },
      { name: "nick", printed: false, blocks: [] },
    ]);
  });

  it("reads nothing from a part that does not parse, and still reads the others", () => {
    expect(variableReferences({ subject: "{{#if x}}", html: "{{name}}" })).toEqual([{ name: "name", printed: true, blocks: [] }]);
  });
});
