import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import { describeEachDatabase } from "../support/databases.js";
import { API_TOKEN, sendingJson, startHttpHarness, type HttpHarness } from "../support/http-harness.js";

describeEachDatabase("intake: create and read a sending", (provider) => {
  let h: HttpHarness;
  let before: Record<string, number>;
  beforeAll(async () => {
    h = await startHttpHarness(provider);
  });
  afterAll(() => h?.close());
  beforeEach(async () => {
    h.notifier.events.length = 0;
    h.notifier.failing = false;
    before = await h.rowCounts();
  });
  const nothingWritten = async () => {
    expect(await h.rowCounts()).toEqual(before);
    expect(h.notifier.events).toEqual([]);
  };

  it("creates a sending pending approval, then GET shows its content, counts and no decisions", async () => {
    const created = await h.request("POST", "/api/sendings", { body: sendingJson() });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: "PENDING_APPROVAL", recipientCount: 2 });
    expect(created.body.id).toMatch(/^snd_[0-9a-z]{10}$/);
    expect(h.notifier.events).toEqual([{ sendingId: created.body.id, event: { kind: "created" } }]);

    const read = await h.request("GET", `/api/sendings/${created.body.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({
      id: created.body.id,
      name: "Spring newsletter",
      status: "PENDING_APPROVAL",
      from: { name: "Acme", email: "news@acme.test" },
      launchAt: "2030-03-20T08:00:00.000Z",
      requestedBy: "U0REQUESTER",
      contentHash: created.body.contentHash,
      recipientCount: 2,
      recipients: { QUEUED: 2, PREPARED: 0, SENT: 0, FAILED: 0, CANCELLED: 0 },
      approvals: 0,
      decisions: [],
    });
    const stored = await h.db.prisma.recipient.findMany({ where: { sendingId: created.body.id }, orderBy: { id: "asc" } });
    expect(stored.map((r) => [r.email, JSON.parse(r.vars).firstName, r.status])).toEqual([
      ["ann@example.com", "Ann", "QUEUED"],
      ["bob@example.com", "Bob", "QUEUED"],
    ]);
    const audit = await h.db.prisma.auditEvent.findMany({ where: { sendingId: created.body.id } });
    expect(audit.map((a) => [a.actor, a.action])).toEqual([["U0REQUESTER", "created"]]);
    expect(await h.db.prisma.stagedRecipient.count()).toBe(0);
  });

  it("normalizes addresses to lower case without surrounding spaces", async () => {
    const created = await h.request("POST", "/api/sendings", {
      body: sendingJson({ from: { email: " News@ACME.test" }, recipients: [{ email: "  Carol@Example.COM " }] }),
    });
    expect(created.status).toBe(201);
    const sending = await h.db.prisma.sending.findUniqueOrThrow({ where: { id: created.body.id }, include: { recipients: true } });
    expect(sending.fromEmail).toBe("news@acme.test");
    expect(sending.recipients.map((r) => [r.email, r.vars])).toEqual([["carol@example.com", "{}"]]);
  });

  it("keeps the sending when telling Slack fails", async () => {
    h.notifier.failing = true;
    const created = await h.request("POST", "/api/sendings", { body: sendingJson() });
    expect(created.status).toBe(201);
    expect(h.notifier.events).toHaveLength(1);
    expect(await h.db.prisma.sending.count({ where: { id: created.body.id } })).toBe(1);
  });

  it("refuses a request without a token, or with a wrong one, with 401", async () => {
    for (const token of [null, "wrong-token-0123456789abcdef0123456789abcdef", `${API_TOKEN}x`, ""]) {
      const response = await h.request("POST", "/api/sendings", { body: sendingJson(), token });
      expect(response.status, `token ${token}`).toBe(401);
      expect(response.body.error).toBe("unauthorized");
    }
    const basic = await fetch(`${h.baseUrl}/api/sendings/snd_0000000000`, { headers: { authorization: `Basic ${API_TOKEN}` } });
    expect(basic.status).toBe(401);
    await nothingWritten();
  });

  it("accepts every configured token", async () => {
    const response = await h.request("GET", "/api/sendings/snd_0000000000", { token: "another-token-0123456789abcdef0123456789" });
    expect(response.status).toBe(404);
  });

  it("refuses malformed JSON with 400", async () => {
    const response = await h.request("POST", "/api/sendings", { raw: '{"name": "Spring",' });
    expect(response.status).toBe(400);
    expect(response.body.error).toBe("malformed_json");
    const empty = await h.request("POST", "/api/sendings", { raw: "" });
    expect(empty.status).toBe(400);
    await nothingWritten();
  });

  it("refuses an invalid e-mail address, naming the recipient's index", async () => {
    const response = await h.request("POST", "/api/sendings", {
      body: sendingJson({ recipients: [{ email: "ann@example.com" }, { email: "not-an-address" }, { email: "carl@@example.com" }] }),
    });
    expect(response.status).toBe(400);
    expect(response.body.error).toBe("invalid_request");
    expect(response.body.issues).toEqual([
      { path: ["recipients", 1, "email"], message: "is not a valid e-mail address" },
      { path: ["recipients", 2, "email"], message: "is not a valid e-mail address" },
    ]);
    await nothingWritten();
  });

  it("refuses a launch date without a time-zone offset, and accepts Z and +01:00", async () => {
    const response = await h.request("POST", "/api/sendings", { body: sendingJson({ launchAt: "2030-12-01T09:00:00" }) });
    expect(response.status).toBe(400);
    expect(response.body.issues).toHaveLength(1);
    expect(response.body.issues[0].path).toEqual(["launchAt"]);
    expect(response.body.issues[0].message).toMatch(/time-zone offset/);
    await nothingWritten();
    for (const launchAt of ["2030-12-01T09:00:00Z", "2030-12-01T09:00:00+01:00"]) {
      const accepted = await h.request("POST", "/api/sendings", { body: sendingJson({ launchAt }) });
      expect(accepted.status, launchAt).toBe(201);
    }
  });

  it("refuses a launch date in the past", async () => {
    const response = await h.request("POST", "/api/sendings", { body: sendingJson({ launchAt: "2026-11-27T11:59:00Z" }) });
    expect(response.status).toBe(400);
    expect(response.body.issues).toEqual([{ path: ["launchAt"], message: "must be in the future" }]);
    await nothingWritten();
  });

  it("refuses a template that does not compile, naming the part and the line", async () => {
    const response = await h.request("POST", "/api/sendings", {
      body: sendingJson({ html: "<p>Hi</p>\n<p>{{#if vip}}Welcome back</p>\n", text: "Hi {{firstName}}\n\n{{#each}" }),
    });
    expect(response.status).toBe(400);
    expect(response.body.issues).toEqual([
      { path: ["html"], message: "html, line 2: `{{#if vip}}` opened here is never closed (it needs a `{{/if}}`)" },
      { path: ["text"], message: "text, line 3: `{{#each}` lacks its closing `}}`" },
    ]);
    expect(response.body.message).toBe("The sending is invalid: html: html, line 2: `{{#if vip}}` opened here is never closed (it needs a `{{/if}}`) (and 1 more).");
    const helper = await h.request("POST", "/api/sendings", { body: sendingJson({ subject: "Hi {{shout firstName}}" }) });
    expect(helper.status).toBe(400);
    expect(helper.body.issues).toEqual([{ path: ["subject"], message: expect.stringMatching(/^subject, line 1: `\{\{shout firstName\}\}` calls shout, a helper/) }]);
    await nothingWritten();
  });

  it("says where a block that is never closed opens, and which block a wrong closing tag closes", async () => {
    const html = [
      "<h1>Spring</h1>",
      "<p>Hi {{firstName}}</p>",
      "{{#if vip}}",
      "  <p>Early access for you.</p>",
      "<ul>",
      "{{#each picks}}",
      "  <li>{{#if url}}<a href=\"{{url}}\">{{title}}</a></li>",
      "{{/each}}",
      "</ul>",
      "<p><a href=\"{{unsubscribeUrl}}\">Unsubscribe</a></p>",
    ].join("\n");
    const mismatched = await h.request("POST", "/api/sendings", { body: sendingJson({ html }) });
    expect(mismatched.status).toBe(400);
    expect(mismatched.body.issues).toEqual([
      { path: ["html"], message: "html, line 8: `{{/each}}` on line 8 closes `{{#if url}}` opened on line 7; blocks close innermost first" },
    ]);
    const unclosed = await h.request("POST", "/api/sendings", { body: sendingJson({ html: html.replace("{{#if url}}", "") }) });
    expect(unclosed.status).toBe(400);
    expect(unclosed.body.issues).toEqual([{ path: ["html"], message: "html, line 3: `{{#if vip}}` opened here is never closed (it needs a `{{/if}}`)" }]);
    await nothingWritten();
  });

  it("refuses the same address twice, naming both places", async () => {
    const response = await h.request("POST", "/api/sendings", {
      body: sendingJson({ recipients: [{ email: "ann@example.com" }, { email: "bob@example.com" }, { email: " ANN@example.com" }] }),
    });
    expect(response.status).toBe(400);
    expect(response.body.issues).toEqual([
      { path: ["recipients", 2, "email"], message: "ann@example.com is already recipients[0]; each address may appear once" },
    ]);
    await nothingWritten();
  });

  it("takes nested variables (objects, lists, numbers, booleans, null) and stores them as they came", async () => {
    const vars = { firstName: "Ann", vip: true, score: 4.5, note: null, author: { name: "Bo" }, picks: [{ title: "Salt", url: "https://acme.test/s", tags: ["kitchen"] }] };
    const created = await h.request("POST", "/api/sendings", {
      body: sendingJson({
        html: '<p>Hi {{firstName}}</p>{{#each picks}}<a href="{{url}}">{{title}}</a>{{/each}}<p><a href="{{unsubscribeUrl}}">Unsubscribe</a></p>',
        recipients: [{ email: "ann@example.com", vars }],
      }),
    });
    expect(created.status).toBe(201);
    const [stored] = await h.db.prisma.recipient.findMany({ where: { sendingId: created.body.id } });
    expect(JSON.parse(stored!.vars)).toEqual(vars);
  });

  it("refuses variables nested deeper than 8 levels or larger than 32768 bytes, naming the offending value", async () => {
    const nested = (levels: number): unknown => (levels === 0 ? "end" : { next: nested(levels - 1) });
    const deep = await h.request("POST", "/api/sendings", {
      body: sendingJson({
        recipients: [
          { email: "ann@example.com", vars: { firstName: "Ann", eight: nested(7) } },
          { email: "bob@example.com", vars: { picks: [{ title: "Salt" }, { title: "Pepper" }, { title: [[[[[["too deep"]]]]]] }] } },
        ],
      }),
    });
    expect(deep.status).toBe(400);
    expect(deep.body.issues).toEqual([{ path: ["recipients", 1, "vars", "picks", 2, "title", 0, 0, 0, 0, 0], message: "nested deeper than 8 levels" }]);
    expect(deep.body.message).toBe("The sending is invalid: recipients[1].vars.picks[2].title[0][0][0][0][0]: nested deeper than 8 levels.");

    const large = await h.request("POST", "/api/sendings", {
      body: sendingJson({ recipients: [{ email: "ann@example.com", vars: { bio: "é".repeat(16_380) } }] }),
    });
    expect(large.status).toBe(400);
    expect(large.body.issues).toEqual([{ path: ["recipients", 0, "vars"], message: "are 32,770 bytes as JSON; at most 32,768 are allowed" }]);
    await nothingWritten();
  });

  it("refuses variables that are no object, and keeps a __proto__ key as data that never becomes a prototype", async () => {
    const response = await h.request("POST", "/api/sendings", {
      body: sendingJson({ recipients: [{ email: "ann@example.com", vars: ["Ann"] }, { email: "bob@example.com", vars: "Bob" }] }),
    });
    expect(response.status).toBe(400);
    expect(response.body.issues).toEqual([
      { path: ["recipients", 0, "vars"], message: "must be an object of variables" },
      { path: ["recipients", 1, "vars"], message: "must be an object of variables" },
    ]);
    await nothingWritten();

    const raw = JSON.stringify(sendingJson()).replace('"firstName":"Ann",', '"firstName":"Ann","__proto__":{"isAdmin":true},');
    const created = await h.request("POST", "/api/sendings", { raw });
    expect(created.status).toBe(201);
    const stored = await h.db.prisma.recipient.findFirstOrThrow({ where: { sendingId: created.body.id, email: "ann@example.com" } });
    expect(stored.vars).toContain('"__proto__":{"isAdmin":true}');
    expect(Object.getPrototypeOf(JSON.parse(stored.vars))).toBe(Object.prototype);
  });

  it("refuses missing fields, a bad requester and unknown fields", async () => {
    const { subject: _subject, ...withoutSubject } = sendingJson();
    const response = await h.request("POST", "/api/sendings", { body: { ...withoutSubject, requestedBy: "ann", launch_at: "x" } });
    expect(response.status).toBe(400);
    const paths = response.body.issues.map((issue: { path: unknown[] }) => issue.path.join("."));
    expect(paths).toEqual(expect.arrayContaining(["subject", "requestedBy", ""]));
    await nothingWritten();
  });

  it("refuses a body over the configured limit with 413", async () => {
    const recipients = Array.from({ length: 3000 }, (_, i) => ({ email: `reader${i}@example.com`, vars: { firstName: "Reader" } }));
    const response = await h.request("POST", "/api/sendings", { body: sendingJson({ recipients }) });
    expect(response.status).toBe(413);
    expect(response.body.error).toBe("payload_too_large");
    await nothingWritten();
  });

  it("refuses an oversized body sent without a length (chunked) with 413", async () => {
    const chunk = Buffer.alloc(16 * 1024, " ");
    const body = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(chunk);
        controller.close();
      },
    });
    const response = await fetch(`${h.baseUrl}/api/sendings`, {
      method: "POST",
      headers: { authorization: `Bearer ${API_TOKEN}`, "content-type": "application/json" },
      body,
      duplex: "half",
    } as RequestInit);
    expect(response.status).toBe(413);
    await nothingWritten();
  });

  it("answers 404 for an unknown sending and an unknown route", async () => {
    const unknown = await h.request("GET", "/api/sendings/snd_0000000000");
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe("not_found");
    const malformed = await h.request("GET", "/api/sendings/..%2Fetc");
    expect(malformed.status).toBe(404);
    const route = await h.request("GET", "/api/nothing-here");
    expect(route.status).toBe(404);
    expect(route.body.error).toBe("not_found");
    const method = await h.request("DELETE", "/api/sendings/snd_0000000000");
    expect(method.status).toBe(405);
    await nothingWritten();
  });
});
