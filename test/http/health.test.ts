import { afterAll, beforeAll, expect, it } from "vitest";
import type { AddressInfo } from "node:net";
import { pino } from "pino";
import { openDatabase } from "../../src/db/database.js";
import { createHttpServer } from "../../src/http/server.js";
import { createSendingAnalyzer } from "../../src/sendings/support/current-analysis.js";
import { systemClock } from "../../src/sendings/support/ports.js";
import { databaseUrlFor, postgresUrl } from "../support/database-urls.js";
import { describeEachDatabase } from "../support/databases.js";
import { RecordingNotifier, sendingJson, startHttpHarness, testConfig, type HttpHarness } from "../support/http-harness.js";

describeEachDatabase("health, readiness, metrics and routing", (provider) => {
  let h: HttpHarness;
  const slackRequests: string[] = [];
  beforeAll(async () => {
    h = await startHttpHarness(provider, {
      slackListener: (req, res) => {
        slackRequests.push(`${req.method} ${req.url}`);
        res.writeHead(200, { "content-type": "text/plain" }).end("handled by Slack");
      },
    });
  });
  afterAll(() => h?.close());

  it("healthz and readyz answer without a token", async () => {
    const health = await h.request("GET", "/healthz", { token: null });
    expect(health).toMatchObject({ status: 200, body: { status: "ok" } });
    const ready = await h.request("GET", "/readyz", { token: null });
    expect(ready).toMatchObject({ status: 200, body: { status: "ready", database: provider } });
  });

  it("metrics count sendings by status and requests by route and status", async () => {
    const created = await h.request("POST", "/api/sendings", { body: sendingJson() });
    expect(created.status).toBe(201);
    await h.db.prisma.sending.update({ where: { id: created.body.id }, data: { status: "SCHEDULED" } });
    await h.request("POST", "/api/sendings", { body: sendingJson() });
    await h.request("GET", "/api/sendings/snd_0000000000");
    const metrics = await h.request("GET", "/metrics", { token: null });
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get("content-type")).toMatch(/^text\/plain; version=0.0.4/);
    const text = metrics.body as string;
    expect(text).toMatch(/^sendgate_sendings\{status="PENDING_APPROVAL"\} 1$/m);
    expect(text).toMatch(/^sendgate_sendings\{status="SCHEDULED"\} 1$/m);
    expect(text).toMatch(/^sendgate_sendings\{status="COMPLETED"\} 0$/m);
    expect(text).toMatch(/^sendgate_http_requests_total\{method="POST",route="\/api\/sendings",status="201"\} 2$/m);
    expect(text).toMatch(/^sendgate_http_requests_total\{method="GET",route="\/api\/sendings\/:id",status="404"\} 1$/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+$/m);
    expect(text).toMatch(/^# TYPE sendgate_recipients_appended_total counter$/m);
  });

  it("hands POST /slack/events to the Slack listener untouched", async () => {
    const response = await fetch(`${h.baseUrl}/slack/events`, { method: "POST", body: "payload=%7B%7D" });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("handled by Slack");
    expect(slackRequests).toEqual(["POST /slack/events"]);
  });

  it("has no Slack route when Slack runs in Socket Mode", async () => {
    const db = h.db;
    const server = createHttpServer({ db, recipients: h.deps.recipients, analyzer: createSendingAnalyzer(db, {}), config: testConfig(), notifier: new RecordingNotifier(), clock: systemClock, log: pino({ level: "silent" }) });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`, { method: "POST", body: "x" });
      expect(response.status).toBe(404);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  // A database that does not answer is a PostgreSQL server's missing database; SQLite would create the file.
  if (provider === "postgresql") it("readyz answers 503 when the database does not answer", async () => {
    const db = await openDatabase(databaseUrlFor(postgresUrl()!, "sendgate_does_not_exist"));
    const server = createHttpServer({ db, recipients: h.deps.recipients, analyzer: createSendingAnalyzer(db, {}), config: testConfig(), notifier: new RecordingNotifier(), clock: systemClock, log: pino({ level: "silent" }) });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      expect((await fetch(`${base}/readyz`)).status).toBe(503);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await db.close();
    }
  });
});
