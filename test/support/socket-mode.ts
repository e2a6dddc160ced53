import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import type { Ack, AppTransport } from "../../src/slack-standin/app-transport.js";
import { ACK_TIMEOUT_MS } from "../../src/slack-standin/standin.js";

/**
 * Slack's side of Socket Mode (https://api.slack.com/apis/socket-mode): the WebSocket address
 * apps.connections.open hands out, the hello that opens a connection, and envelopes the app
 * acknowledges with { envelope_id, payload? }.
 */
export interface SocketModeServer {
  /** A fresh single-use address, ws://127.0.0.1:PORT/link/?ticket=…: what apps.connections.open answers. */
  issueUrl(): string;
  /** Interactions, slash commands and events as envelopes over the app's connection. */
  transport: AppTransport;
  /** Resolves once an app holds an open connection and has been sent hello. */
  connected(timeoutMs?: number): Promise<void>;
  /** Slack's disconnect message: the app is to drop this connection and open a new one. */
  requestReconnect(reason?: "warning" | "refresh_requested" | "link_disabled"): void;
  close(): Promise<void>;
}

export interface SocketModeOptions {
  /** The app the connection belongs to, reported in hello. */
  appId: string;
  /** An envelope nobody acknowledges fails after this long; acks later than Slack's 3 s still arrive and are judged by the stand-in. */
  ackTimeoutMs?: number;
  /** How often Slack pings the connection; the client drops it when pings stop for 30 s. */
  pingIntervalMs?: number;
}

interface Pending {
  resolve(ack: Ack): void;
  reject(error: Error): void;
  startedAt: number;
  timer: NodeJS.Timeout;
}

type EnvelopeType = "interactive" | "slash_commands" | "events_api";

export async function startSocketModeServer(options: SocketModeOptions): Promise<SocketModeServer> {
  const ackTimeoutMs = options.ackTimeoutMs ?? 2 * ACK_TIMEOUT_MS;
  const tickets = new Set<string>();
  const pending = new Map<string, Pending>();
  const greeted: WebSocket[] = [];
  let waiters: Array<() => void> = [];

  const http = createServer((_req, res) => {
    res.writeHead(426, { "content-type": "text/plain" });
    res.end("upgrade required");
  });
  const wss = new WebSocketServer({ noServer: true });

  http.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const ticket = url.searchParams.get("ticket") ?? "";
    // A ticket opens one connection: reconnecting means calling apps.connections.open again.
    if (url.pathname !== "/link/" || !tickets.delete(ticket)) {
      socket.end("HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n");
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => welcome(ws));
  });

  function welcome(ws: WebSocket) {
    // ws answers the client's pings with pongs on its own; Bolt's client drops the connection without them.
    const pinger = setInterval(() => ws.ping(), options.pingIntervalMs ?? 5000);
    pinger.unref();
    ws.on("message", (data, isBinary) => receive(data, isBinary));
    ws.on("close", () => {
      clearInterval(pinger);
      const index = greeted.indexOf(ws);
      if (index >= 0) greeted.splice(index, 1);
    });
    ws.send(
      JSON.stringify({
        type: "hello",
        num_connections: greeted.length + 1,
        debug_info: { host: "standin", approximate_connection_time: 3600 },
        connection_info: { app_id: options.appId },
      }),
    );
    greeted.push(ws);
    const waiting = waiters;
    waiters = [];
    for (const wake of waiting) wake();
  }

  function receive(data: RawData, isBinary: boolean) {
    if (isBinary) return;
    let message: { envelope_id?: unknown; payload?: unknown };
    try {
      message = JSON.parse(data.toString()) as typeof message;
    } catch {
      return;
    }
    // Acks of envelopes Slack no longer waits for (or never sent) are dropped, as Slack drops them.
    if (typeof message.envelope_id !== "string") return;
    const entry = pending.get(message.envelope_id);
    if (!entry) return;
    pending.delete(message.envelope_id);
    clearTimeout(entry.timer);
    entry.resolve({ body: ackBody(message.payload), elapsedMs: Date.now() - entry.startedAt });
  }

  function deliver(type: EnvelopeType, payload: Record<string, unknown>): Promise<Ack> {
    // Slack spreads envelopes over an app's open connections; the newest one will do.
    const ws = greeted.findLast((candidate) => candidate.readyState === candidate.OPEN);
    if (!ws) return Promise.reject(new Error("no app is connected over Socket Mode"));
    const envelopeId = randomUUID();
    return new Promise<Ack>((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(envelopeId);
        reject(new Error(`the app did not acknowledge the ${type} envelope ${envelopeId} within ${ackTimeoutMs} ms`));
      }, ackTimeoutMs);
      pending.set(envelopeId, { resolve, reject, startedAt: Date.now(), timer });
      ws.send(JSON.stringify({ envelope_id: envelopeId, type, payload, accepts_response_payload: true }), (error) => {
        if (!error) return;
        clearTimeout(timer);
        pending.delete(envelopeId);
        reject(error);
      });
    });
  }

  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const origin = `ws://127.0.0.1:${(http.address() as AddressInfo).port}`;

  return {
    issueUrl() {
      const ticket = randomBytes(16).toString("hex");
      tickets.add(ticket);
      return `${origin}/link/?ticket=${ticket}`;
    },
    transport: {
      interactive: (payload) => deliver("interactive", payload),
      slashCommand: (fields) => deliver("slash_commands", fields),
      event: (body) => deliver("events_api", body),
    },
    connected(timeoutMs = 5000) {
      if (greeted.some((ws) => ws.readyState === ws.OPEN)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters = waiters.filter((wake) => wake !== done);
          reject(new Error(`no app connected over Socket Mode within ${timeoutMs} ms`));
        }, timeoutMs);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        waiters.push(done);
      });
    },
    requestReconnect(reason = "refresh_requested") {
      for (const ws of greeted) ws.send(JSON.stringify({ type: "disconnect", reason, debug_info: { host: "standin" } }));
    },
    async close() {
      for (const [envelopeId, entry] of pending) {
        clearTimeout(entry.timer);
        entry.reject(new Error(`Socket Mode closed before envelope ${envelopeId} was acknowledged`));
      }
      pending.clear();
      tickets.clear();
      // The app normally hung up first (app.stop()); whoever is left gets a close frame, then the cord is cut.
      await Promise.all(
        [...wss.clients].map(
          (ws) =>
            new Promise<void>((resolve) => {
              if (ws.readyState === ws.CLOSED) return resolve();
              const cut = setTimeout(() => ws.terminate(), 1000);
              ws.once("close", () => {
                clearTimeout(cut);
                resolve();
              });
              ws.close(1001, "going away");
            }),
        ),
      );
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** Bolt's bare ack() sends `payload: {}`, which Slack reads as an acknowledgement with nothing to show. */
function ackBody(payload: unknown): unknown {
  if (payload === undefined || payload === null) return undefined;
  if (typeof payload === "object" && !Array.isArray(payload) && Object.keys(payload).length === 0) return undefined;
  return payload;
}
