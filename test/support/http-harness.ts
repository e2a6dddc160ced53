import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { pino } from "pino";
import { loadConfig, type Config } from "../../src/config.js";
import type { Provider } from "../../src/db/provider.js";
import { createHttpServer, type HttpDeps } from "../../src/http/server.js";
import { createSendingAnalyzer, type SendingAnalyzer } from "../../src/sendings/support/current-analysis.js";
import type { IntakeDeps } from "../../src/sendings/support/deps.js";
import type { Clock, SendingEvent, SendingNotifier } from "../../src/sendings/support/ports.js";
import { createTestDatabase, type TestDatabase } from "./databases.js";
import { createTestRecipientBulk } from "./db-paths.js";

export const API_TOKEN = "test-token-0123456789abcdef0123456789abcdef";
/** Tests run at a fixed instant, so "in the past" does not depend on when they run. */
export const NOW = new Date("2026-11-27T12:00:00Z");

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    SLACK_BOT_TOKEN: "xoxb-test",
    SLACK_APP_TOKEN: "xapp-test",
    SLACK_APPROVALS_CHANNEL: "C0APPROVALS",
    APPROVERS: "U0APPROVER",
    API_TOKENS: `${API_TOKEN},another-token-0123456789abcdef0123456789`,
    API_BODY_LIMIT: "64kb",
    API_NDJSON_LIMIT: "256kb",
    ...env,
  });
}

/** The notifier port, recording what it is told; `failing` simulates a Slack outage. */
export class RecordingNotifier implements SendingNotifier {
  readonly events: { sendingId: string; event: SendingEvent }[] = [];
  failing = false;
  async sendingChanged(sendingId: string, event: SendingEvent) {
    this.events.push({ sendingId, event });
    if (this.failing) throw new Error("Slack is unreachable");
  }
  deliveryProgress() {}
}

export interface HttpHarness {
  db: TestDatabase;
  deps: IntakeDeps & { analyzer: SendingAnalyzer };
  notifier: RecordingNotifier;
  baseUrl: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are asserted field by field
  request(method: string, path: string, init?: { body?: unknown; raw?: string | Buffer; token?: string | null; contentType?: string }): Promise<{ status: number; body: any; headers: Headers }>;
  /** Rows in every table an intake request writes to, to prove a refusal wrote nothing. */
  rowCounts(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

export async function startHttpHarness(provider: Provider, overrides: Partial<HttpDeps> & { env?: Record<string, string> } = {}): Promise<HttpHarness> {
  const db = await createTestDatabase(provider);
  const notifier = new RecordingNotifier();
  const clock: Clock = { now: () => NOW };
  const recipients = createTestRecipientBulk(db);
  const analyzer = createSendingAnalyzer(db, {});
  const deps = { db, notifier, clock, recipients, analyzer, log: pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" }) };
  const server: Server = createHttpServer({ ...deps, config: testConfig(overrides.env), ...overrides });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    db,
    deps,
    notifier,
    baseUrl,
    async request(method, path, init = {}) {
      const headers: Record<string, string> = {};
      if (init.token !== null) headers.authorization = `Bearer ${init.token ?? API_TOKEN}`;
      let body: string | Buffer | undefined;
      if (init.raw !== undefined) body = init.raw;
      else if (init.body !== undefined) body = JSON.stringify(init.body);
      if (body !== undefined) headers["content-type"] = init.contentType ?? "application/json";
      const response = await fetch(baseUrl + path, { method, headers, body });
      const text = await response.text();
      const isJson = response.headers.get("content-type")?.includes("json");
      return { status: response.status, body: isJson ? JSON.parse(text) : text, headers: response.headers };
    },
    async rowCounts() {
      const p = db.prisma;
      return {
        sendings: await p.sending.count(),
        recipients: await p.recipient.count(),
        auditEvents: await p.auditEvent.count(),
        decisions: await p.decision.count(),
        stagedRecipients: await p.stagedRecipient.count(),
        recipientUploads: await p.recipientUpload.count(),
      };
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await recipients.close();
      await db.destroy();
    },
  };
}

/** A valid Sending JSON, launching in 2030; override any field. */
export function sendingJson(overrides: Record<string, unknown> = {}) {
  return {
    name: "Spring newsletter",
    subject: "Hello {{firstName}}",
    from: { name: "Acme", email: "news@acme.test" },
    replyTo: "help@acme.test",
    html: "<p>Hi {{firstName}}</p>\n<p><a href=\"{{unsubscribeUrl}}\">Unsubscribe</a></p>",
    launchAt: "2030-03-20T09:00:00+01:00",
    requestedBy: "U0REQUESTER",
    recipients: [
      { email: "ann@example.com", vars: { firstName: "Ann", unsubscribeUrl: "https://acme.test/u/1" } },
      { email: "bob@example.com", vars: { firstName: "Bob", unsubscribeUrl: "https://acme.test/u/2" } },
    ],
    ...overrides,
  };
}

export const ndjson = (rows: unknown[]) => rows.map((row) => (typeof row === "string" ? row : JSON.stringify(row))).join("\n") + "\n";
