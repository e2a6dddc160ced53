import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { pino } from "pino";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { RecipientBulk } from "../../src/db/recipient-bulk.js";
import { createTestRecipientBulk } from "../support/db-paths.js";
import { compileSending } from "../../src/mail/templates.js";
import { signPreviewLink } from "../../src/http/preview-links.js";
import { PREVIEW_REFUSED, previewRoutes } from "../../src/http/preview-routes.js";
import { matchRoute, type Route } from "../../src/http/router.js";
import { createHttpServer, type HttpDeps } from "../../src/http/server.js";
import { buildMessage, unsubscribeUrlFor } from "../../src/mail/message.js";
import { createSendingAnalyzer } from "../../src/sendings/support/current-analysis.js";
import { createTestDatabase, describeEachDatabase, type TestDatabase } from "../support/databases.js";
import { RecordingNotifier, testConfig } from "../support/http-harness.js";
import { NOW, insertRecipients, insertSending } from "../sendings/fixtures.js";

const KEY = Buffer.alloc(32, 3);
const UNSUBSCRIBE_URL = "https://acme.test/u?e={email}";
const HTML = [
  "<style>p { color: #333 }</style>",
  "<p>Hi {{firstName}} &amp; welcome</p>",
  '<img src="https://cdn.acme.test/{{id}}.png" alt="">',
  '<a href="{{unsubscribeUrl}}">Unsubscribe</a>',
].join("\n");

/**
 * sendgate's own server with the preview routes in front of its handler. server.ts does not mount
 * extra routes yet; once HttpDeps takes `routes`, this becomes createHttpServer({ ...deps, routes }).
 */
function serverWithPreviews(deps: HttpDeps, routes: Route[]): Server {
  const sendgate = createHttpServer(deps);
  const handle = sendgate.listeners("request")[0] as (req: unknown, res: unknown) => void;
  return createServer((req, res) => {
    const match = matchRoute(routes, req.method ?? "GET", new URL(req.url ?? "/", "http://localhost").pathname);
    if (typeof match === "object" && "raw" in match.route) return match.route.raw(req, res);
    handle(req, res);
  });
}

describeEachDatabase("GET /preview/:sendingId/:recipientId", (provider) => {
  let db: TestDatabase;
  let server: Server;
  let recipients: RecipientBulk | undefined;
  let base: string;
  let sendingId: string;
  let ann: number;
  let otherRecipient: number;

  beforeAll(async () => {
    db = await createTestDatabase(provider);
    sendingId = await insertSending(db, { html: HTML });
    ann = (await insertRecipients(db, sendingId, [{ email: "ann@example.com", vars: { firstName: "Ann <3", id: 7 } }]))[0]!;
    const other = await insertSending(db);
    otherRecipient = (await insertRecipients(db, other, [{ email: "zed@example.com", vars: { firstName: "Zed" } }]))[0]!;
    const log = pino({ level: "silent" });
    const clock = { now: () => NOW };
    recipients = createTestRecipientBulk(db);
    const deps = { db, recipients, clock, log, notifier: new RecordingNotifier(), config: testConfig(), analyzer: createSendingAnalyzer(db, {}) };
    server = serverWithPreviews(deps, previewRoutes({ db, clock, log, key: KEY, unsubscribeUrl: UNSUBSCRIBE_URL }));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await recipients?.close();
    await db?.destroy();
  });

  const link = (recipientId = ann, expiresAt = new Date(NOW.getTime() + 3600_000), id = sendingId) =>
    signPreviewLink({ sendingId: id, recipientId, expiresAt }, KEY);

  function expectLockedDown(headers: Headers) {
    expect(headers.get("content-security-policy")).toBe("default-src 'none'; img-src * data:; style-src 'unsafe-inline'");
    expect(headers.get("x-frame-options")).toBe("DENY");
    expect(headers.get("referrer-policy")).toBe("no-referrer");
    expect(headers.get("cache-control")).toBe("private, no-store");
  }

  it("serves exactly the HTML the engine sends that recipient, locked down", async () => {
    const response = await fetch(base + link());
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expectLockedDown(response.headers);

    const sending = await db.prisma.sending.findUniqueOrThrow({ where: { id: sendingId } });
    const vars = { firstName: "Ann <3", id: 7 };
    const engine = buildMessage({
      sendingId,
      content: sending,
      recipient: { id: ann, email: "ann@example.com" },
      rendered: compileSending(sending).render({ email: "ann@example.com", ...vars }),
      unsubscribeUrl: unsubscribeUrlFor(vars, UNSUBSCRIBE_URL, { sendingId, recipientId: ann, email: "ann@example.com" }),
    });
    const body = await response.text();
    expect(body).toBe(engine.html);
    expect(body).toContain("<p>Hi Ann &lt;3 &amp; welcome</p>");
    expect(body).toContain("https://cdn.acme.test/7.png");
  });

  it.each([
    ["a tampered recipient", (path: string) => path.replace(/\/(\d+)\?/, (_, id: string) => `/${Number(id) + 1}?`)],
    ["a tampered sending", (path: string) => path.replace(/snd_\w+/, "snd_zzzzzzzzzz")],
    ["a tampered expiry", (path: string) => path.replace(/exp=(\d+)/, (_, exp: string) => `exp=${Number(exp) + 3600}`)],
    ["a tampered signature", (path: string) => path.replace(/sig=(.)/, (_, c: string) => `sig=${c === "A" ? "B" : "A"}`)],
    ["no signature", (path: string) => path.replace(/&sig=.*/, "")],
  ])("refuses %s with 403 and shows nothing", async (_, tamper) => {
    const response = await fetch(base + tamper(link()));
    expect(response.status).toBe(403);
    expect(response.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expectLockedDown(response.headers);
    const body = await response.text();
    expect(body).toBe(PREVIEW_REFUSED);
    expect(body).not.toContain("Ann");
  });

  it("refuses an expired link with 403", async () => {
    const response = await fetch(base + link(ann, new Date(NOW.getTime() - 1000)));
    expect(response.status).toBe(403);
    expect(await response.text()).toBe(PREVIEW_REFUSED);
  });

  it("answers 404 for a genuine link to a recipient of another sending, or one since removed", async () => {
    const crossed = await fetch(base + link(otherRecipient));
    expect(crossed.status).toBe(404);
    expect(await crossed.text()).not.toContain("Zed");
    const removed = await fetch(base + link(ann, undefined, "snd_gone000000"));
    expect(removed.status).toBe(404);
  });

  it("answers 400, as the API does for invalid content, when the stored template does not render", async () => {
    const broken = await insertSending(db, { html: "<p>{{#if vip}}Hi</p>" });
    const [recipient] = await insertRecipients(db, broken, [{ email: "bo@example.com", vars: {} }]);
    const response = await fetch(base + link(recipient!, undefined, broken));
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/^The template does not render: /);
    expectLockedDown(response.headers);
  });

  it("leaves the rest of the server as it was", async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/preview/x`)).status).toBe(404);
  });
});
