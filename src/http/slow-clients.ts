import type { IncomingMessage, Server } from "node:http";
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
 * sendgate: the window is measured in time sendgate spent reading (see `watchBodyRate`), and no verdict
 * is given before sendgate has read what the client sent (see `afterPendingReads`).
 * (Node's own headersTimeout is checked only every 30 seconds; these are checked on time.)
 */
export function guardAgainstSlowClients(server: Server, log: Logger, limits: SlowClientLimits = SLOW_CLIENT_LIMITS): void {
  const awaitingHeaders = new Map<Socket, NodeJS.Timeout>();
  const armHeaders = (socket: Socket, ms = limits.headersMs) => {
    clearTimeout(awaitingHeaders.get(socket));
    const timer = setTimeout(
      () =>
        afterPendingReads(() => {
          // The headers were there, unread: the request has begun meanwhile and took the socket off the list.
          if (awaitingHeaders.get(socket) !== timer) return;
          awaitingHeaders.delete(socket);
          log.warn({ remote: socket.remoteAddress, limitMs: limits.headersMs }, "a client sent no complete request headers in time: connection closed");
          socket.destroy();
        }),
      ms,
    );
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
    if (!req.complete) watchBodyRate(req, log, limits);
  });
}

/**
 * Runs `verdict` once the event loop has polled its sockets: a timer runs before the poll of its turn,
 * so bytes the client sent while the loop was busy (a loaded machine, a long synchronous step) still
 * wait in the kernel when it fires; judged then, a client that sent in time would look silent.
 */
const afterPendingReads = (verdict: () => void) => setImmediate(verdict);

/** How often the body's progress is sampled, in parts of a window. */
const SAMPLES_PER_WINDOW = 10;

/**
 * Judges a request body's rate over time sendgate spent reading it. Time does not count while the
 * request is paused (sendgate stopped reading: the upload path writes rows and the socket holds the
 * client back), while bytes wait in the request's buffers, nor while the event loop was held up: the
 * bytes that arrived meanwhile are still in the kernel, unread, and a check taken then would see a
 * silent client that in fact sent its share. Counting wall-clock time instead cut legitimate uploads
 * on a loaded machine whenever a pause or a stall filled most of a window.
 */
function watchBodyRate(req: IncomingMessage, log: Logger, limits: SlowClientLimits): void {
  const socket = req.socket;
  const sampleMs = limits.bodyWindowMs / SAMPLES_PER_WINDOW;
  let windowBytesFrom = socket.bytesRead;
  let readingMs = 0;
  let sampledAt = performance.now();
  let pausedSince: number | undefined = req.isPaused() ? sampledAt : undefined;
  let pausedMs = 0;
  const onPause = () => {
    pausedSince ??= performance.now();
  };
  const onResume = () => {
    if (pausedSince === undefined) return;
    pausedMs += performance.now() - pausedSince;
    pausedSince = undefined;
  };
  req.on("pause", onPause);
  req.on("resume", onResume);
  const sample = setInterval(() => {
    if (req.complete || socket.destroyed) return stop();
    const now = performance.now();
    const elapsed = now - sampledAt;
    const paused = pausedMs + (pausedSince === undefined ? 0 : now - Math.max(pausedSince, sampledAt));
    sampledAt = now;
    pausedMs = 0;
    if (pausedSince !== undefined) pausedSince = now;
    const heldUp = elapsed > sampleMs * 2;
    const waitingOnUs = req.readableLength > 0 || socket.readableLength > 0;
    // A late sample also waits for the next one before judging: the loop must first read what the kernel holds.
    if (heldUp || waitingOnUs) return;
    readingMs += Math.max(0, elapsed - paused);
    if (readingMs < limits.bodyWindowMs) return;
    const judged = readingMs;
    readingMs = 0;
    afterPendingReads(() => {
      if (req.complete || socket.destroyed) return;
      const bytes = socket.bytesRead - windowBytesFrom;
      windowBytesFrom = socket.bytesRead;
      if (bytes >= (limits.minBodyBytesPerSecond * judged) / 1000) return;
      stop();
      log.warn(
        { remote: socket.remoteAddress, bytes, readingMs: Math.round(judged), windowMs: limits.bodyWindowMs, method: req.method, url: req.url },
        "a request body arrived too slowly: connection closed",
      );
      socket.destroy();
    });
  }, sampleMs);
  sample.unref();
  const stop = () => {
    clearInterval(sample);
    req.off("pause", onPause);
    req.off("resume", onResume);
  };
  req.once("end", stop);
  req.once("close", stop);
}
