import type { Server } from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "pino";

export interface SlowClientLimits {
  /** From a connection opening (or its last answer) to the end of the next request's headers. */
  headersMs: number;
  /** A request body must arrive at least this fast, measured over each window... */
  minBodyBytesPerSecond: number;
  /** ...of this length: a client may pause shorter than this. */
  bodyWindowMs: number;
}

export const SLOW_CLIENT_LIMITS: SlowClientLimits = { headersMs: 20_000, minBodyBytesPerSecond: 1024, bodyWindowMs: 15_000 };

/**
 * Cuts off clients that hold a connection by sending slowly (slow-loris): headers that take longer
 * than `headersMs`, or a body that arrives slower than `minBodyBytesPerSecond` over a window. A large
 * upload at normal speed is never cut, however long it takes, and neither is one that waits on
 * sendgate: while the request's buffers hold unread bytes, the slow side is this one.
 * (Node's own headersTimeout is checked only every 30 seconds; these are checked on time.)
 */
export function guardAgainstSlowClients(server: Server, log: Logger, limits: SlowClientLimits = SLOW_CLIENT_LIMITS): void {
  const awaitingHeaders = new Map<Socket, NodeJS.Timeout>();
  const armHeaders = (socket: Socket, ms = limits.headersMs) => {
    clearTimeout(awaitingHeaders.get(socket));
    const timer = setTimeout(() => {
      awaitingHeaders.delete(socket);
      log.warn({ remote: socket.remoteAddress, limitMs: limits.headersMs }, "a client sent no complete request headers in time: connection closed");
      socket.destroy();
    }, ms);
    timer.unref();
    awaitingHeaders.set(socket, timer);
  };
  server.on("connection", (socket: Socket) => {
    armHeaders(socket);
    socket.once("close", () => {
      clearTimeout(awaitingHeaders.get(socket));
      awaitingHeaders.delete(socket);
    });
  });
  server.on("request", (req, res) => {
    const socket = req.socket;
    clearTimeout(awaitingHeaders.get(socket));
    awaitingHeaders.delete(socket);
    // Kept alive for another request: Node closes the idle connection after keepAliveTimeout (which it
    // tells the client, so the client never reuses it later); headers begun in that time get the limit.
    res.once("finish", () => {
      if (!socket.destroyed) armHeaders(socket, server.keepAliveTimeout + limits.headersMs);
    });
    if (req.complete) return;
    let seen = socket.bytesRead;
    let checkedAt = performance.now();
    const minBytes = (limits.minBodyBytesPerSecond * limits.bodyWindowMs) / 1000;
    const check = setInterval(() => {
      if (req.complete || socket.destroyed) return clearInterval(check);
      const read = socket.bytesRead - seen;
      const late = performance.now() - checkedAt > limits.bodyWindowMs * 1.5;
      seen = socket.bytesRead;
      checkedAt = performance.now();
      // The event loop was held up: what arrived meanwhile waits in the kernel, unread. Not the client's fault.
      if (late) return;
      const waitingOnUs = req.readableLength > 0 || socket.readableLength > 0 || req.isPaused();
      if (read >= minBytes || waitingOnUs) return;
      clearInterval(check);
      log.warn({ remote: socket.remoteAddress, bytes: read, windowMs: limits.bodyWindowMs, method: req.method, url: req.url }, "a request body arrived too slowly: connection closed");
      socket.destroy();
    }, limits.bodyWindowMs);
    check.unref();
    req.once("end", () => clearInterval(check));
    req.once("close", () => clearInterval(check));
  });
}
