// Clients that hold connections by sending slowly (slow-loris), and many connections at once: cut off
// on time, while a large upload at normal speed, even one sendgate itself is slow to take, goes through.
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { givenPendingSending, startSlackHarness, API_TOKEN, type SlackHarness } from "../support/slack-harness.js";

const LIMITS = { headersMs: 400, minBodyBytesPerSecond: 200, bodyWindowMs: 300 };

/** Resolves with how long the server kept the connection open. */
function trickle(url: string, lines: string[], everyMs: number): Promise<{ closedAfterMs: number; sent: number }> {
  const { hostname, port } = new URL(url);
  const started = Date.now();
  return new Promise((resolve) => {
    const socket: Socket = connect(Number(port), hostname);
    let sent = 0;
    const bytes = Buffer.from(lines.join(""));
    const timer = setInterval(() => {
      if (sent >= bytes.length) return;
      socket.write(bytes.subarray(sent, sent + 1));
      sent += 1;
    }, everyMs);
    socket.on("data", () => {});
    socket.on("error", () => {});
    socket.on("close", () => {
      clearInterval(timer);
      resolve({ closedAfterMs: Date.now() - started, sent });
    });
  });
}

const rssMb = () => process.memoryUsage().rss / 1024 / 1024;

describe("clients that send slowly", () => {
  let h: SlackHarness;
  let sendingId: string;
  beforeAll(async () => {
    h = await startSlackHarness("sqlite", {}, { slowClients: LIMITS });
    sendingId = (await givenPendingSending(h)).id;
  });
  afterAll(() => h?.close());

  it("headers sent a byte at a time are cut off once the headers limit is reached", async () => {
    const { closedAfterMs, sent } = await trickle(h.baseUrl, ["GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: ", "a".repeat(1000)], 20);
    expect(closedAfterMs).toBeGreaterThanOrEqual(LIMITS.headersMs - 50);
    expect(closedAfterMs).toBeLessThan(LIMITS.headersMs + 1500);
    expect(sent).toBeLessThan(200);
  });

  it("a body sent a byte at a time is cut off after a window below the minimum rate", async () => {
    const head = `POST /api/sendings/${sendingId}/recipients HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${API_TOKEN}\r\nContent-Type: application/x-ndjson\r\nContent-Length: 100000\r\n\r\n`;
    const { hostname, port } = new URL(h.baseUrl);
    const socket = connect(Number(port), hostname);
    socket.on("error", () => {});
    socket.write(head);
    const started = Date.now();
    const timer = setInterval(() => socket.write("x"), 50);
    await new Promise<void>((resolve) => socket.on("close", () => resolve()));
    clearInterval(timer);
    const closedAfterMs = Date.now() - started;
    expect(closedAfterMs).toBeLessThan(LIMITS.bodyWindowMs * 2 + 1500);
    expect(await h.db.prisma.recipient.count({ where: { sendingId } })).toBe(3);
  });

  it("a large upload at normal speed goes through, though sendgate is the slower side while it writes", async () => {
    const vars = JSON.stringify({ firstName: "Reader", bio: "x".repeat(2000) });
    const rows = 8_000;
    const body = Array.from({ length: rows }, (_, i) => `{"email":"reader${i}@example.com","vars":${vars}}\n`).join("");
    const response = await fetch(`${h.baseUrl}/api/sendings/${sendingId}/recipients`, {
      method: "POST",
      headers: { authorization: `Bearer ${API_TOKEN}`, "content-type": "application/x-ndjson" },
      body,
    });
    expect(response.status, await response.clone().text()).toBe(200);
    expect(((await response.json()) as { appended: number }).appended).toBe(rows);
    expect(body.length).toBeGreaterThan(16_000_000);
  });

  it("a thousand connections holding half their headers cost little memory and are all closed on time", async () => {
    const before = rssMb();
    const { hostname, port } = new URL(h.baseUrl);
    const sockets = await Promise.all(
      Array.from({ length: 1000 }, () => new Promise<Socket>((resolve) => {
        const socket = connect(Number(port), hostname, () => {
          socket.write("GET /healthz HTTP/1.1\r\nHost: x\r\n");
          resolve(socket);
        });
        socket.on("error", () => {});
      })),
    );
    const closed = Promise.all(sockets.map((socket) => new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.on("close", () => resolve())))));
    const grewMb = rssMb() - before;
    await closed;
    expect(grewMb).toBeLessThan(100);
    // The server still answers everyone else.
    expect((await fetch(`${h.baseUrl}/healthz`)).status).toBe(200);
  });
});
