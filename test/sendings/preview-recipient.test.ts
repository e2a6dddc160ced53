import { afterAll, beforeAll, expect, it } from "vitest";
import { previewRecipient } from "../../src/sendings/preview-recipient.js";
import { approversOf } from "../sender/support/fixtures.js";
import { createTestDatabase, describeEachDatabase, type TestDatabase } from "../support/databases.js";
import { insertRecipients, insertSending } from "./fixtures.js";

describeEachDatabase("previewRecipient with nested variables", (provider) => {
  let db: TestDatabase;
  let sendingId: string;
  let ids: number[];
  beforeAll(async () => {
    db = await createTestDatabase(provider);
    sendingId = await insertSending(db, {
      subject: "{{picks.0.title}} for {{firstName}}",
      html: '<p>{{#with author}}{{name}}{{/with}}</p>{{#each picks}}<a href="{{this.url}}">{{title}}</a>{{/each}}<a href="{{unsubscribeUrl}}">Unsubscribe</a>',
    });
    ids = await insertRecipients(db, sendingId, [
      { email: "ann@example.com", vars: { firstName: "Ann", author: { name: "Bo" }, picks: [{ title: "Salt", url: "https://acme.test/s" }] } },
      { email: "bob@example.com", vars: { firstName: "Bob", picks: [{ title: "Pepper", url: "https://acme.test/p" }, { title: "Thyme" }] } },
      { email: "cy@example.com", vars: { firstName: "Cy", picks: [] } },
    ]);
  });
  afterAll(() => db?.destroy());

  const preview = (recipientId: number) => previewRecipient({ db, approvers: approversOf("UAPPROVER1") }, { sendingId, userId: "UAPPROVER1", recipientId });

  it("renders the recipient's own list and names the nested paths filled and missing", async () => {
    const ann = await preview(ids[0]!);
    expect(ann.message.subject).toBe("Salt for Ann");
    expect(ann.message.html).toContain('<p>Bo</p><a href="https://acme.test/s">Salt</a>');
    expect(ann.filledVariables).toEqual(["author", "author.name", "firstName", "picks", "picks.0.title", "picks[].title", "picks[].url"]);
    expect(ann.missingVariables).toEqual(["unsubscribeUrl"]);

    const bob = await preview(ids[1]!);
    expect(bob.message.html).toContain('<a href="https://acme.test/p">Pepper</a><a href="">Thyme</a>');
    expect(bob.filledVariables).toEqual(["firstName", "picks", "picks.0.title", "picks[].title"]);
    expect(bob.missingVariables).toEqual(["author", "author.name", "picks[].url", "unsubscribeUrl"]);
  });

  it("lists a list item's paths as neither filled nor missing when the recipient's list is empty", async () => {
    const cy = await preview(ids[2]!);
    expect(cy.message.subject).toBe("for Cy");
    expect(cy.filledVariables).toEqual(["firstName"]);
    expect(cy.missingVariables).toEqual(["author", "author.name", "picks", "picks.0.title", "unsubscribeUrl"]);
  });
});
