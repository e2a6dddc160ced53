import { afterAll, beforeAll, expect, it } from "vitest";
import { describeEachDatabase } from "../support/databases.js";
import { sendingJson, startHttpHarness, type HttpHarness } from "../support/http-harness.js";

describeEachDatabase("intake: answers carry the analysis approvers see", (provider) => {
  let h: HttpHarness;
  beforeAll(async () => {
    h = await startHttpHarness(provider);
  });
  afterAll(() => h?.close());

  /** The analysis as the analyzer makes it, for comparison with what the API shows. */
  async function analysisOf(id: string) {
    const { checks, counts } = await h.deps.analyzer.current(id);
    return { checks, counts };
  }

  it("POST, PATCH and GET show the counts and every finding that is not a pass", async () => {
    const created = await h.request("POST", "/api/sendings", { body: sendingJson() });
    expect(created.status).toBe(201);
    const { counts } = await analysisOf(created.body.id);
    expect(created.body.analysis).toEqual({ errors: 0, warnings: 0, passed: counts.passed, findings: [] });
    expect(counts.passed).toBeGreaterThan(0);

    // A variable no recipient has, and no unsubscribe link any more.
    const changed = await h.request("PATCH", `/api/sendings/${created.body.id}`, { body: { subject: "Hi {{lastName}}", html: "<p>Hi</p>" } });
    expect(changed.status).toBe(200);
    const { analysis } = changed.body;
    const { checks } = await analysisOf(created.body.id);
    expect(analysis).toMatchObject({
      errors: checks.filter((c) => c.severity === "error").length,
      warnings: checks.filter((c) => c.severity === "warning").length,
      passed: checks.filter((c) => c.severity === "pass").length,
    });
    expect(analysis.errors).toBeGreaterThan(0);
    expect(analysis.findings).toHaveLength(analysis.errors + analysis.warnings);
    expect(analysis.findings.map((f: { severity: string }) => f.severity)).toEqual([
      ...Array(analysis.errors).fill("error"),
      ...Array(analysis.warnings).fill("warning"),
    ]);
    expect(analysis.findings).toContainEqual({
      id: expect.any(String),
      severity: "error",
      title: expect.any(String),
      evidence: expect.stringContaining("lastName"),
    });
    expect(analysis.findings).toContainEqual({
      id: "unsubscribe",
      severity: "warning",
      title: "Unsubscribe link and header",
      evidence: expect.stringMatching(/^No unsubscribe link in the HTML/),
    });

    const read = await h.request("GET", `/api/sendings/${created.body.id}`);
    expect(read.body.analysis).toEqual(analysis);
  });
});

describeEachDatabase("intake: an analysis that fails after a sending was stored", (provider) => {
  let h: HttpHarness;
  beforeAll(async () => {
    h = await startHttpHarness(provider, { analyzer: { current: async () => Promise.reject(new Error("analysis broke")) } });
  });
  afterAll(() => h?.close());

  it("still answers 201 (analysis null), so that the client does not send the sending again", async () => {
    const created = await h.request("POST", "/api/sendings", { body: sendingJson() });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ status: "PENDING_APPROVAL", analysis: null });
    expect(await h.db.prisma.sending.count({ where: { id: created.body.id } })).toBe(1);
    const read = await h.request("GET", `/api/sendings/${created.body.id}`);
    expect(read.status).toBe(500);
  });
});
