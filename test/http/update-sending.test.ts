import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { approveSending } from "../../src/sendings/approve-sending.js";
import { describeEachDatabase } from "../support/databases.js";
import { ndjson, sendingJson, startHttpHarness, type HttpHarness } from "../support/http-harness.js";

describeEachDatabase("intake: change a sending's content (PATCH) or replace it (PUT)", (provider) => {
  let h: HttpHarness;
  beforeAll(async () => {
    h = await startHttpHarness(provider);
  });
  afterAll(() => h?.close());
  beforeEach(() => {
    h.notifier.events.length = 0;
  });

  async function createSending() {
    const created = await h.request("POST", "/api/sendings", { body: sendingJson() });
    expect(created.status).toBe(201);
    h.notifier.events.length = 0;
    return created.body as { id: string; contentHash: string };
  }

  /** Approved through the real use case, by two approvers: the sending is SCHEDULED on its current hash. */
  async function createScheduledSending() {
    const sending = await createSending();
    const deps = { ...h.deps, approvers: { isApprover: async () => true }, policy: { requiredApprovals: 2, allowSelfApproval: false } };
    await approveSending(deps, { sendingId: sending.id, userId: "U0APPROVER1" });
    const second = await approveSending(deps, { sendingId: sending.id, userId: "U0APPROVER2" });
    expect(second.scheduled).toBe(true);
    h.notifier.events.length = 0;
    return sending;
  }

  const auditOf = (id: string) => h.db.prisma.auditEvent.findMany({ where: { sendingId: id }, orderBy: { id: "asc" } });

  it("a content change on a SCHEDULED sending withdraws its approvals and sends it back for approval", async () => {
    const sending = await createScheduledSending();
    const response = await h.request("PATCH", `/api/sendings/${sending.id}`, {
      body: { subject: "Spring is here, {{firstName}}", from: { name: "Acme News", email: "news@acme.test" }, changedBy: "U0MARKETER" },
    });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      sendingId: sending.id,
      changed: ["subject", "fromName"],
      status: "PENDING_APPROVAL",
      approvalsWithdrawn: 2,
    });
    expect(response.body.contentHash).not.toBe(sending.contentHash);

    const read = await h.request("GET", `/api/sendings/${sending.id}`);
    expect(read.body).toMatchObject({ status: "PENDING_APPROVAL", subject: "Spring is here, {{firstName}}", approvals: 0 });
    expect(read.body.decisions.map((d: { userId: string; current: boolean }) => [d.userId, d.current])).toEqual([
      ["U0APPROVER1", false],
      ["U0APPROVER2", false],
    ]);
    const last = (await auditOf(sending.id)).at(-1)!;
    expect(last).toMatchObject({ actor: "U0MARKETER", action: "content changed", fromStatus: "SCHEDULED", toStatus: "PENDING_APPROVAL" });
    const changes = [
      { field: "subject", from: "Hello {{firstName}}", to: "Spring is here, {{firstName}}" },
      { field: "from", from: "Acme <news@acme.test>", to: "Acme News <news@acme.test>" },
    ];
    // changedBy names who asked; the token it came through is kept beside it.
    expect(JSON.parse(last.details ?? "{}")).toEqual({ changed: ["subject", "fromName"], changes, via: "api:token-1", approvalsWithdrawn: 2 });
    expect(h.notifier.events).toEqual([
      {
        sendingId: sending.id,
        event: { kind: "content-changed", by: "U0MARKETER", changed: ["subject", "fromName"], changes, approvalsWithdrawn: 2 },
      },
    ]);

    // The withdrawn approvals do not count towards the quorum any more: one new approval is not enough.
    const deps = { ...h.deps, approvers: { isApprover: async () => true }, policy: { requiredApprovals: 2, allowSelfApproval: false } };
    const again = await approveSending(deps, { sendingId: sending.id, userId: "U0APPROVER1" });
    expect(again).toEqual({ approvals: 1, required: 2, scheduled: false });
  });

  it("appending recipients to a SCHEDULED sending withdraws its approvals too", async () => {
    const sending = await createScheduledSending();
    const response = await h.request("POST", `/api/sendings/${sending.id}/recipients`, {
      raw: ndjson([{ email: "new@example.com" }]),
      contentType: "application/x-ndjson",
    });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ appended: 1, status: "PENDING_APPROVAL", approvalsWithdrawn: 2 });
    const last = (await auditOf(sending.id)).at(-1)!;
    expect(last).toMatchObject({ action: "recipients appended", fromStatus: "SCHEDULED", toStatus: "PENDING_APPROVAL" });
    expect(h.notifier.events[0]?.event).toEqual({ kind: "content-changed", by: "api:token-1", changed: ["recipients"], approvalsWithdrawn: 2 });
  });

  it("tells what changed: short fields with what they were and became, bodies only by name", async () => {
    const sending = await createSending();
    const response = await h.request("PATCH", `/api/sendings/${sending.id}`, {
      body: { name: "Spring letter", replyTo: null, html: "<p>Hello {{firstName}}</p>", text: "Hello {{firstName}}", launchAt: "2030-04-01T10:00:00+02:00", from: { email: "hello@acme.test" } },
    });
    expect(response.status).toBe(200);
    const changes = [
      { field: "from", from: "Acme <news@acme.test>", to: "hello@acme.test" },
      { field: "replyTo", from: "help@acme.test" },
      { field: "html" },
      { field: "text" },
      { field: "name", from: "Spring newsletter", to: "Spring letter" },
      { field: "launchAt", from: "2030-03-20T08:00:00.000Z", to: "2030-04-01T08:00:00.000Z" },
    ];
    expect(response.body).toMatchObject({ changed: ["fromName", "fromEmail", "replyTo", "html", "text", "name", "launchAt"], changes });
    expect(h.notifier.events.map(({ event }) => event)).toEqual([
      { kind: "content-changed", by: "api:token-1", changed: response.body.changed, changes, approvalsWithdrawn: 0 },
    ]);
    const last = (await auditOf(sending.id)).at(-1)!;
    expect(last.actor).toBe("api:token-1");
    expect(JSON.parse(last.details ?? "{}")).toMatchObject({ changes, via: "api:token-1" });
  });

  it("a new launch date or name alone keeps the approvals and the schedule", async () => {
    const sending = await createScheduledSending();
    const response = await h.request("PATCH", `/api/sendings/${sending.id}`, {
      body: { launchAt: "2030-04-01T08:00:00Z", name: "Spring newsletter (final)" },
    });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ changed: ["name", "launchAt"], status: "SCHEDULED", approvalsWithdrawn: 0, contentHash: sending.contentHash });
    const read = await h.request("GET", `/api/sendings/${sending.id}`);
    expect(read.body).toMatchObject({ status: "SCHEDULED", approvals: 2, launchAt: "2030-04-01T08:00:00.000Z" });
  });

  it("a request that changes nothing writes nothing", async () => {
    const sending = await createSending();
    const before = await h.rowCounts();
    const response = await h.request("PATCH", `/api/sendings/${sending.id}`, { body: { subject: "Hello {{firstName}}" } });
    expect(response.status).toBe(200);
    expect(response.body.changed).toEqual([]);
    expect(await h.rowCounts()).toEqual(before);
    expect(h.notifier.events).toEqual([]);
  });

  it("refuses invalid changes with 400 and writes nothing", async () => {
    const sending = await createScheduledSending();
    const before = await h.rowCounts();
    const cases: [unknown, string][] = [
      [{}, ""],
      [{ html: "<p>{{#each items}}</p>" }, "html"],
      [{ launchAt: "2030-04-01T08:00:00" }, "launchAt"],
      [{ launchAt: "2026-01-01T08:00:00Z" }, "launchAt"],
      [{ replyTo: "nobody" }, "replyTo"],
      [{ recipients: [] }, ""],
    ];
    for (const [body, path] of cases) {
      const response = await h.request("PATCH", `/api/sendings/${sending.id}`, { body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.issues.map((issue: { path: unknown[] }) => issue.path.join("."))).toContain(path);
    }
    expect(await h.rowCounts()).toEqual(before);
    expect((await h.request("GET", `/api/sendings/${sending.id}`)).body.status).toBe("SCHEDULED");
    expect(h.notifier.events).toEqual([]);
  });

  it("refuses a change once delivery started (409) and for an unknown sending (404)", async () => {
    const sending = await createSending();
    await h.db.prisma.sending.update({ where: { id: sending.id }, data: { status: "SENDING" } });
    const before = await h.rowCounts();
    const started = await h.request("PATCH", `/api/sendings/${sending.id}`, { body: { subject: "Too late" } });
    expect(started.status).toBe(409);
    expect(started.body).toMatchObject({ error: "conflict", status: "SENDING" });
    const unknown = await h.request("PATCH", "/api/sendings/snd_0000000000", { body: { subject: "x" } });
    expect(unknown.status).toBe(404);
    expect(await h.rowCounts()).toEqual(before);
    expect(h.notifier.events).toEqual([]);
  });

  /** What GET returns, as a client holds it: plain JSON. */
  async function representationOf(id: string): Promise<Record<string, unknown>> {
    const read = await h.request("GET", `/api/sendings/${id}`);
    expect(read.status).toBe(200);
    return read.body;
  }

  describe("PUT: the whole sending, as GET returns it", () => {
    it("takes back what GET returned, unchanged, as a change of nothing (200, nothing written)", async () => {
      const sending = await createScheduledSending();
      const representation = await representationOf(sending.id);
      expect(representation.decisions).toHaveLength(2);
      const before = await h.rowCounts();
      const response = await h.request("PUT", `/api/sendings/${sending.id}`, { body: representation });
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      expect(response.body).toMatchObject({ changed: [], changes: [], status: "SCHEDULED", approvalsWithdrawn: 0, contentHash: sending.contentHash });
      expect(response.body.analysis).toEqual(representation.analysis);
      expect(await h.rowCounts()).toEqual(before);
      expect(h.notifier.events).toEqual([]);
      expect(await representationOf(sending.id)).toEqual(representation);
    });

    it("takes back the first representation GET makes, when GET had to make the analysis first", async () => {
      const sending = await createSending();
      await h.db.prisma.sending.update({ where: { id: sending.id }, data: { analysis: null, analysisHash: null } });
      const representation = await representationOf(sending.id);
      const response = await h.request("PUT", `/api/sendings/${sending.id}`, { body: representation });
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      expect(response.body.changed).toEqual([]);
    });

    it("refuses a representation read before another change, rather than undo that change", async () => {
      const sending = await createSending();
      const representation = await representationOf(sending.id);
      expect((await h.request("PATCH", `/api/sendings/${sending.id}`, { body: { subject: "Changed meanwhile" } })).status).toBe(200);
      const response = await h.request("PUT", `/api/sendings/${sending.id}`, { body: { ...representation, name: "My edit" } });
      expect(response.status).toBe(400);
      expect(response.body.issues.map((issue: { path: string[] }) => issue.path.join("."))).toEqual(["contentHash", "updatedAt"]);
      expect(response.body.issues[0].message).toMatch(/^is read-only \(it is [0-9a-f]{64}; got "[0-9a-f]{64}"\): the sending changed since this representation was read; GET it again/);
      expect(await representationOf(sending.id)).toMatchObject({ subject: "Changed meanwhile", name: representation.name });
    });

    it("replaces the content: an edited field changes, optional ones left out are removed", async () => {
      const sending = await createSending();
      expect((await h.request("PATCH", `/api/sendings/${sending.id}`, { body: { text: "Hi {{firstName}}" } })).status).toBe(200);
      h.notifier.events.length = 0;
      const { replyTo: _replyTo, text: _text, ...representation } = await representationOf(sending.id);
      const response = await h.request("PUT", `/api/sendings/${sending.id}`, {
        body: { ...representation, subject: "Spring, {{firstName}}", from: { email: "news@acme.test" }, changedBy: "U0MARKETER" },
      });
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      expect(response.body).toMatchObject({
        changed: ["subject", "fromName", "replyTo", "text"],
        changes: [
          { field: "subject", from: "Hello {{firstName}}", to: "Spring, {{firstName}}" },
          { field: "from", from: "Acme <news@acme.test>", to: "news@acme.test" },
          { field: "replyTo", from: "help@acme.test" },
          { field: "text" },
        ],
        status: "PENDING_APPROVAL",
      });
      expect(await representationOf(sending.id)).toMatchObject({
        subject: "Spring, {{firstName}}",
        from: { name: null, email: "news@acme.test" },
        replyTo: null,
        text: null,
        html: representation.html,
        name: representation.name,
        launchAt: representation.launchAt,
      });
      const last = (await auditOf(sending.id)).at(-1)!;
      expect(last).toMatchObject({ actor: "U0MARKETER", action: "content changed" });
      expect(JSON.parse(last.details ?? "{}")).toMatchObject({ changed: ["subject", "fromName", "replyTo", "text"], via: "api:token-1" });
      expect(h.notifier.events.map(({ event }) => event)).toEqual([
        expect.objectContaining({ kind: "content-changed", by: "U0MARKETER", changed: ["subject", "fromName", "replyTo", "text"] }),
      ]);
    });

    it("withdraws approvals like PATCH when what recipients receive changes; by the token's name without changedBy", async () => {
      const sending = await createScheduledSending();
      const representation = await representationOf(sending.id);
      const response = await h.request("PUT", `/api/sendings/${sending.id}`, { body: { ...representation, html: "<p>New {{firstName}}</p><a href=\"{{unsubscribeUrl}}\">Unsubscribe</a>" } });
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      expect(response.body).toMatchObject({ changed: ["html"], changes: [{ field: "html" }], status: "PENDING_APPROVAL", approvalsWithdrawn: 2 });
      expect((await auditOf(sending.id)).at(-1)).toMatchObject({ actor: "api:token-1", fromStatus: "SCHEDULED", toStatus: "PENDING_APPROVAL" });
    });

    it("refuses changed read-only fields with 400, naming each with what it is and what was sent", async () => {
      const sending = await createSending();
      const representation = await representationOf(sending.id);
      const before = await h.rowCounts();
      const response = await h.request("PUT", `/api/sendings/${sending.id}`, {
        body: { ...representation, subject: "Changed too", status: "SCHEDULED", approvals: 3, contentHash: "0".repeat(64), requestedBy: "U0SOMEONE" },
      });
      expect(response.status).toBe(400);
      expect(response.body.error).toBe("invalid_request");
      expect(response.body.message).toContain('status is read-only (it is PENDING_APPROVAL; got "SCHEDULED")');
      expect(response.body.message).toContain("approvals is read-only (it is 0; got 3)");
      expect(response.body.message).toContain('requestedBy is read-only (it is U0REQUESTER; got "U0SOMEONE")');
      expect(response.body.issues.map((issue: { path: string[] }) => issue.path.join("."))).toEqual(["status", "requestedBy", "contentHash", "approvals"]);
      expect(await h.rowCounts()).toEqual(before);
      expect(h.notifier.events).toEqual([]);
      expect((await representationOf(sending.id)).subject).toBe(representation.subject);
    });

    it("refuses a representation missing required fields with 400, naming them", async () => {
      const sending = await createSending();
      const { name: _name, html: _html, launchAt: _launchAt, ...representation } = await representationOf(sending.id);
      const before = await h.rowCounts();
      const response = await h.request("PUT", `/api/sendings/${sending.id}`, { body: representation });
      expect(response.status).toBe(400);
      expect(response.body.issues).toEqual(
        ["name", "html", "launchAt"].map((field) => ({ path: [field], message: expect.stringMatching(/^is required: PUT takes the whole sending/) })),
      );
      expect(response.body.message).toMatch(/^The sending is invalid: name is required: .*; html is required: .*; launchAt is required: /);
      const partial = await h.request("PUT", `/api/sendings/${sending.id}`, { body: { subject: "Only this" } });
      expect(partial.status).toBe(400);
      expect(partial.body.issues.map((issue: { path: string[] }) => issue.path.join("."))).toEqual(["name", "from", "html", "launchAt"]);
      expect(await h.rowCounts()).toEqual(before);
    });

    it("refuses a recipient list, pointing to the NDJSON append", async () => {
      const sending = await createSending();
      const representation = await representationOf(sending.id);
      const response = await h.request("PUT", `/api/sendings/${sending.id}`, { body: { ...representation, recipients: [{ email: "new@example.com" }] } });
      expect(response.status).toBe(400);
      expect(response.body.issues).toEqual([
        { path: ["recipients"], message: expect.stringContaining(`add recipients with POST /api/sendings/${sending.id}/recipients (NDJSON)`) },
      ]);
    });

    it("checks the content fields as creation does, and keeps a launch date in the past only when it is left as it was", async () => {
      const sending = await createSending();
      await h.db.prisma.sending.update({ where: { id: sending.id }, data: { launchAt: new Date("2026-11-27T08:00:00Z") } });
      const representation = await representationOf(sending.id);
      const unchanged = await h.request("PUT", `/api/sendings/${sending.id}`, { body: { ...representation, launchAt: "2026-11-27T09:00:00+01:00" } });
      expect(unchanged.status, JSON.stringify(unchanged.body)).toBe(200);
      expect(unchanged.body.changed).toEqual([]);
      const cases: [Record<string, unknown>, string][] = [
        [{ launchAt: "2026-11-27T07:00:00Z" }, "launchAt"],
        [{ launchAt: "2030-04-01T08:00:00" }, "launchAt"],
        [{ replyTo: "nobody" }, "replyTo"],
        [{ html: "<p>{{#each items}}</p>" }, "html"],
        [{ from: { name: "Acme", email: "news@acme.test", extra: 1 } }, "from"],
        [{ somethingElse: true }, ""],
        [{ changedBy: "alice" }, "changedBy"],
      ];
      for (const [edit, path] of cases) {
        const response = await h.request("PUT", `/api/sendings/${sending.id}`, { body: { ...representation, ...edit } });
        expect(response.status, JSON.stringify(edit)).toBe(400);
        expect(response.body.issues.map((issue: { path: unknown[] }) => issue.path.join(".")), JSON.stringify(edit)).toEqual([path]);
      }
      const notAnObject = await h.request("PUT", `/api/sendings/${sending.id}`, { body: [representation] });
      expect(notAnObject.status).toBe(400);
    });

    it("refuses a replacement once delivery started (409) and for an unknown sending (404)", async () => {
      const sending = await createSending();
      await h.db.prisma.sending.update({ where: { id: sending.id }, data: { status: "SENDING" } });
      const representation = await representationOf(sending.id);
      const started = await h.request("PUT", `/api/sendings/${sending.id}`, { body: { ...representation, subject: "Too late" } });
      expect(started.status).toBe(409);
      expect(started.body).toMatchObject({ error: "conflict", status: "SENDING" });
      const unknown = await h.request("PUT", "/api/sendings/snd_0000000000", { body: representation });
      expect(unknown.status).toBe(404);
    });
  });
});
