import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from "node:http";
import type { Config } from "../config.js";
import { countPreparedMessages, countSendingsByStatus } from "../sendings/count-sendings.js";
import type { SendingAnalyzer } from "../sendings/support/current-analysis.js";
import type { IntakeDeps } from "../sendings/support/deps.js";
import { apiRoutes } from "./api-routes.js";
import { createAccessCheck } from "./auth.js";
import { HttpError, toErrorResponse } from "./errors.js";
import { createMetrics, type Metrics } from "../metrics.js";
import type { SameType } from "../sendings/support/as-json.js";
import { createOpenApiDocument } from "./openapi.js";
import { operatorRoutes } from "./operator-routes.js";
import { healthJson, openApiDocumentJson, readinessJson } from "./response-schemas.js";
import { matchRoute, type Reply, type Route } from "./router.js";
import type { z } from "zod";

export interface HttpDeps extends IntakeDeps {
  config: Config;
  /** The analysis of a sending's current content, which the API shows beside it. */
  analyzer: SendingAnalyzer;
  /** Bolt's HTTP receiver, when Slack runs in HTTP mode rather than Socket Mode. */
  slackListener?: (req: IncomingMessage, res: ServerResponse) => void;
  /** Routes of other surfaces served on the same port (signed HTML previews). */
  extraRoutes?: Route[];
  /** The process's metrics, shared with the engine and Slack; a server of its own counts only HTTP. */
  metrics?: Metrics;
}

/** A large upload may take minutes on a slow link; Node's default would cut it at 5. */
const REQUEST_TIMEOUT_MS = 30 * 60_000;
/** After an early answer (401, 413, 404), this much of an unread body is still read so the client sees the answer. */
const DRAIN_AFTER_REPLY_BYTES = 1024 * 1024;

/** The one HTTP server: Slack's events, the intake API, health and metrics. Returned unstarted. */
export function createHttpServer(deps: HttpDeps): Server {
  return configureServer(createServer(createHttpHandler(deps)));
}

/** Node's defaults would cut a large upload at 5 minutes. */
export function configureServer(server: Server): Server {
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  return server;
}

export const OPENAPI_PATH = "/api/openapi.json";

/**
 * Every route the server answers, the API document's own included. The document is made from this
 * table once, here, and served as made.
 */
export function serverRoutes(deps: HttpDeps, metrics: Metrics): Route[] {
  const routes: Route[] = [
    ...(deps.slackListener
      ? [{ method: "POST", pattern: "/slack/events", doc: { notInApi: "Slack's own: events, interactivity and slash commands, signed by Slack and answered by Bolt." }, raw: deps.slackListener }]
      : []),
    ...apiRoutes(deps, metrics),
    ...operatorRoutes(deps),
    ...healthRoutes(deps, metrics),
    ...(deps.extraRoutes ?? []),
  ];
  let documentText = "";
  routes.push({
    method: "GET",
    pattern: OPENAPI_PATH,
    auth: false,
    doc: {
      operationId: "getOpenApiDocument",
      summary: "This document",
      description: "The OpenAPI 3.1 document of the API, made from the schemas the routes read and answer with; a client generator takes it as it is.",
      tag: "Service",
      answers: { 200: { description: "The document.", json: { name: "OpenApiDocument", schema: openApiDocumentJson } } },
    },
    handle: async () => ({ status: 200, body: documentText, contentType: "application/json; charset=utf-8" }),
  });
  documentText = JSON.stringify(createOpenApiDocument(routes));
  return routes;
}

/** Every route of the one server, as a request listener. */
export function createHttpHandler(deps: HttpDeps): RequestListener {
  const metrics = deps.metrics ?? createMetrics({ sendingsByStatus: () => countSendingsByStatus(deps), preparedMessages: () => countPreparedMessages(deps) });
  const routes = serverRoutes(deps, metrics);
  const authorize = createAccessCheck(deps.config.http);

  return (req, res) => {
    const method = req.method ?? "GET";
    const url = new URL(req.url ?? "/", "http://localhost");
    const match = matchRoute(routes, method, url.pathname);
    const route = typeof match === "object" ? match.route.pattern : "unmatched";
    const started = performance.now();
    res.on("finish", () => {
      metrics.countRequest(method, route, res.statusCode);
      // Bolt answers Slack's request when the listener acks: the response is the acknowledgement.
      if (route === "/slack/events") metrics.observeAck("http", (performance.now() - started) / 1000);
    });

    if (typeof match === "object" && "raw" in match.route) return match.route.raw(req, res);
    void (async () => {
      try {
        if (match === undefined) throw new HttpError(404, "not_found", `No route for ${method} ${url.pathname}.`);
        if (match === "wrong-method") throw new HttpError(405, "method_not_allowed", `${method} is not allowed on ${url.pathname}.`);
        if (!("handle" in match.route)) return;
        const context = { req, url, params: match.params };
        const reply = match.route.auth
          ? await match.route.handle({ ...context, tokenName: authorize(req, match.route.auth) })
          : await match.route.handle(context);
        send(req, res, reply);
      } catch (error) {
        // A client that hung up mid-request (an upload cancelled) is no fault of sendgate's: said at info.
        if (req.destroyed && !req.complete) {
          deps.log.info({ method, route, code: (error as { code?: string }).code }, "the client went away before the request was read");
          return;
        }
        const { status, body } = toErrorResponse(error, deps.log);
        send(req, res, { status, body });
      }
    })();
  };
}

function send(req: IncomingMessage, res: ServerResponse, reply: Reply) {
  if (res.headersSent || res.destroyed) return;
  const text = reply.contentType ? String(reply.body) : JSON.stringify(reply.body);
  const headers: Record<string, string | number> = {
    "content-type": reply.contentType ?? "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
  };
  // Answered before the body was read (a refusal): close the connection rather than read the rest.
  if (!req.complete) headers.connection = "close";
  res.writeHead(reply.status, headers);
  res.end(text);
  if (!req.complete) drainThenClose(req);
}

/**
 * Reads a bounded amount more of an unread body, then closes: clients that are still sending would
 * otherwise get a connection reset instead of the answer, and reading it all would defeat the limit.
 */
function drainThenClose(req: IncomingMessage) {
  let drained = 0;
  req.removeAllListeners("data");
  req.on("data", (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > DRAIN_AFTER_REPLY_BYTES) req.socket.destroy();
  });
  req.resume();
}

const _databases: SameType<z.output<typeof readinessJson>["database"], HttpDeps["db"]["provider"]> = true;

function healthRoutes(deps: HttpDeps, metrics: Metrics): Route[] {
  const readiness = { name: "Readiness", schema: readinessJson };
  return [
    {
      method: "GET",
      pattern: "/healthz",
      auth: false,
      doc: {
        operationId: "getHealth",
        summary: "Liveness",
        tag: "Service",
        answers: { 200: { description: "The process answers.", json: { name: "Health", schema: healthJson } } },
      },
      handle: async () => ({ status: 200, body: { status: "ok" } satisfies z.output<typeof healthJson> }),
    },
    {
      method: "GET",
      pattern: "/readyz",
      auth: false,
      doc: {
        operationId: "getReadiness",
        summary: "Readiness: the database answers",
        tag: "Service",
        answers: {
          200: { description: "Ready to serve.", json: readiness },
          503: { description: "The database does not answer.", json: readiness },
        },
      },
      async handle() {
        try {
          await deps.db.prisma.$queryRawUnsafe("SELECT 1");
          return { status: 200, body: { status: "ready", database: deps.db.provider } satisfies z.output<typeof readinessJson> };
        } catch (error) {
          deps.log.warn({ err: error }, "readiness check: the database does not answer");
          return { status: 503, body: { status: "unavailable", database: deps.db.provider } satisfies z.output<typeof readinessJson> };
        }
      },
    },
    {
      method: "GET",
      pattern: "/metrics",
      auth: false,
      doc: {
        operationId: "getMetrics",
        summary: "Prometheus metrics",
        description: "In Prometheus' text exposition format: deliveries, SMTP latency, the prepared queue, sendings by status, Slack calls, HTTP requests.",
        tag: "Service",
        answers: { 200: { description: "The metrics.", text: "text/plain" } },
      },
      handle: async () => ({ status: 200, body: await metrics.render(), contentType: metrics.contentType }),
    },
  ];
}
