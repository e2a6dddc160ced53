import { afterEach, beforeEach, expect, it } from "vitest";
import { describeEachDatabase } from "../support/databases.js";
import { ndjson, sendingJson, startHttpHarness, type HttpHarness } from "../support/http-harness.js";
import { startSmtpSink, type SmtpSink } from "./support/smtp-sink.js";
import { ManualClock, startTestEngine, type TestEngine } from "./support/fixtures.js";

/** A newsletter whose every reader has their own list of picks, read with {{#each}} in all three parts. */
const NEWSLETTER = {
  subject: "{{#if picks}}{{picks.0.title}} and {{picks.length}} picks{{else}}News{{/if}} for {{firstName}}",
  html: [
    "<p>Hi {{firstName}},</p>",
    "<ol>{{#each picks}}<li><a href=\"{{this.url}}\">{{title}}</a>{{#with author}} by {{name}}{{/with}} for {{../firstName}}</li>{{else}}<li>Nothing yet.</li>{{/each}}</ol>",
    '<p><a href="{{unsubscribeUrl}}">Unsubscribe</a></p>',
  ].join("\n"),
  text: "Hi {{firstName}},\n{{#each picks}}{{@index}}. {{title}} <{{url}}>\n{{else}}Nothing yet.\n{{/each}}",
};

interface Pick {
  title: string;
  url: string;
  author?: { name: string };
}
const picksOf = (i: number): Pick[] =>
  Array.from({ length: i % 4 }, (_, k) => ({
    title: `Pick ${i}.${k} & more`,
    url: `https://acme.test/p/${i}/${k}?a=1&b=2`,
    ...(k === 0 ? { author: { name: `Author ${i}` } } : {}),
  }));
const reader = (i: number) => ({
  email: `reader${i}@example.com`,
  vars: { firstName: `Reader${i}`, unsubscribeUrl: `https://acme.test/u/${i}`, picks: picksOf(i) },
});

describeEachDatabase("delivery of nested variables, from intake to the inbox", (provider) => {
  let h: HttpHarness;
  let sink: SmtpSink;
  let engine: TestEngine | undefined;
  beforeEach(async () => {
    h = await startHttpHarness(provider);
    sink = await startSmtpSink();
  });
  afterEach(async () => {
    await engine?.close();
    await sink.close();
    await h.close();
  });

  it("delivers each reader their own list, in subject, HTML and text, taken in as JSON and as NDJSON", async () => {
    const created = await h.request("POST", "/api/sendings", { body: sendingJson({ ...NEWSLETTER, recipients: [0, 1, 2, 3].map(reader) }) });
    expect(created.status).toBe(201);
    const appended = await h.request("POST", `/api/sendings/${created.body.id}/recipients`, {
      raw: ndjson([4, 5, 6, 7].map(reader)),
      contentType: "application/x-ndjson",
    });
    expect(appended.status).toBe(200);
    // As an approval leaves it; the engine's clock is past the launch date.
    await h.db.prisma.sending.update({ where: { id: created.body.id }, data: { status: "SCHEDULED" } });
    engine = startTestEngine(h.db, sink.url, { clock: new ManualClock(new Date("2030-03-20T08:00:30Z")) });

    await engine.deliver();

    expect(sink.received).toHaveLength(8);
    for (let i = 0; i < 8; i++) {
      const picks = picksOf(i);
      const mails = sink.received.filter((mail) => mail.to === `reader${i}@example.com`);
      expect(mails, `reader${i}`).toHaveLength(1);
      const { subject, html, text } = mails[0]!;
      expect(subject).toBe(picks.length ? `Pick ${i}.0 & more and ${picks.length} picks for Reader${i}` : `News for Reader${i}`);
      const items = picks.map(
        (p) => `<li><a href="${p.url.replaceAll("&", "&amp;").replaceAll("=", "&#x3D;")}">${p.title.replace("&", "&amp;")}</a>${p.author ? ` by ${p.author.name}` : ""} for Reader${i}</li>`,
      );
      expect(html).toContain(`<ol>${items.join("") || "<li>Nothing yet.</li>"}</ol>`);
      const lines = picks.map((p, k) => `${k}. ${p.title} <${p.url}>`);
      expect(text.trim()).toBe(`Hi Reader${i},\n${lines.join("\n") || "Nothing yet."}`);
    }
    const sending = await h.db.prisma.sending.findUniqueOrThrow({ where: { id: created.body.id } });
    expect(sending.status).toBe("COMPLETED");
    expect(await h.db.prisma.recipient.count({ where: { sendingId: sending.id, status: "SENT" } })).toBe(8);
  });
});
