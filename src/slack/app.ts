import { App, HTTPReceiver, LogLevel, type Logger as BoltLogger } from "@slack/bolt";
import type { RequestListener } from "node:http";
import type { Logger } from "pino";
import type { Config } from "../config.js";
import type { SlackDeps } from "./deps.js";
import { registerActions } from "./listeners/actions/index.js";
import { registerCommands } from "./listeners/commands/index.js";
import { registerViews } from "./listeners/views/index.js";

export interface SlackApp {
  app: App;
  client: App["client"];
  /** HTTP mode: the handler for POST /slack/events, mounted on sendgate's own server. */
  requestListener?: RequestListener;
  start(): Promise<void>;
  stop(): Promise<void>;
}

function boltLogger(log: Logger): BoltLogger {
  const child = log.child({ component: "bolt" });
  return {
    debug: (...msg) => child.debug(msg.map(String).join(" ")),
    info: (...msg) => child.info(msg.map(String).join(" ")),
    warn: (...msg) => child.warn(msg.map(String).join(" ")),
    error: (...msg) => child.error(msg.map(String).join(" ")),
    setLevel: () => {},
    getLevel: () => LogLevel.INFO,
    setName: () => {},
  };
}

/** Bolt in Socket Mode when an app token is configured, otherwise HTTP on sendgate's own port. */
export function createSlackApp(config: Config, log: Logger): SlackApp {
  const logger = boltLogger(log);
  const clientOptions = {
    slackApiUrl: config.slack.apiUrl,
    // A Slack outage must not hold sendgate's work hostage: a few quick retries, then the caller logs it.
    retryConfig: { retries: 2, factor: 2, minTimeout: 200, maxTimeout: 2000 },
  };
  if (config.slack.appToken) {
    const app = new App({
      token: config.slack.botToken,
      appToken: config.slack.appToken,
      socketMode: true,
      logger,
      clientOptions,
    });
    return { app, client: app.client, start: async () => void (await app.start()), stop: async () => void (await app.stop()) };
  }
  const receiver = new HTTPReceiver({
    signingSecret: config.slack.signingSecret ?? "",
    endpoints: "/slack/events",
    logger,
  });
  const app = new App({ token: config.slack.botToken, receiver, logger, clientOptions });
  return {
    app,
    client: app.client,
    requestListener: receiver.requestListener,
    start: async () => {},
    stop: async () => {},
  };
}

export function registerListeners(app: App, deps: SlackDeps) {
  registerActions(app, deps);
  registerViews(app, deps);
  registerCommands(app, deps);
}
