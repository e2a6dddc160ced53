import { App, HTTPReceiver, LogLevel, webApi, type Logger as BoltLogger } from "@slack/bolt";
import type { RequestListener } from "node:http";
import type { Logger } from "pino";
import type { Config } from "../config.js";
import type { Metrics } from "../metrics.js";
import type { SlackDeps } from "./deps.js";
import { createWebApiCaller, type WebApiCaller } from "./web-api-caller.js";
import { observedFetch, type WebApiObserver } from "./web-api-fetch.js";
import { registerActions } from "./listeners/actions/index.js";
import { registerCommands } from "./listeners/commands/index.js";
import { registerEvents } from "./listeners/events/index.js";
import { registerViews } from "./listeners/views/index.js";

export interface SlackApp {
  app: App;
  client: App["client"];
  /** The lean path for the modals listeners open after an acknowledgement. */
  webApi: WebApiCaller;
  /** HTTP mode: the handler for POST /slack/events, mounted on sendgate's own server. */
  requestListener?: RequestListener;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function boltLogger(log: Logger): BoltLogger {
  const child = log.child({ component: "bolt" });
  // The Slack client says a lot at debug on every call: the line is only put together when it is kept.
  return {
    debug: (...msg) => child.isLevelEnabled("debug") && child.debug(msg.map(String).join(" ")),
    info: (...msg) => child.isLevelEnabled("info") && child.info(msg.map(String).join(" ")),
    // A failed attempt while Slack is unreachable: the outage reporter says it once a minute instead.
    warn: (...msg) => (msg[0] === "http request failed" ? child.debug : child.warn).call(child, msg.map(String).join(" ")),
    error: (...msg) => child.error(msg.map(String).join(" ")),
    setLevel: () => {},
    getLevel: () => LogLevel.INFO,
    setName: () => {},
  };
}

/**
 * Asks Slack who the bot is, once. Bolt would otherwise do it in its constructor and crash the process
 * with an unhandled rejection when Slack is unreachable or refuses the token; sendgate keeps serving
 * its API then, logs what to fix, and Bolt retries the check on the next Slack request.
 */
async function identifyBot(config: Config, clientOptions: webApi.WebClientOptions, log: Logger) {
  try {
    const result = await new webApi.WebClient(config.slack.botToken, clientOptions).auth.test();
    return { botId: result.bot_id, botUserId: result.user_id };
  } catch (error) {
    const code = (error as { data?: { error?: string } }).data?.error;
    log.error(
      { err: error, slackError: code },
      code === "invalid_auth" || code === "not_authed"
        ? "Slack refused SLACK_BOT_TOKEN: put the app's Bot User OAuth Token (xoxb-…) in the environment"
        : "Slack could not be reached to check SLACK_BOT_TOKEN; Slack features wait until it answers",
    );
    return {};
  }
}

/** Bolt in Socket Mode when an app token is configured, otherwise HTTP on sendgate's own port. */
export async function createSlackApp(config: Config, log: Logger, metrics?: Metrics): Promise<SlackApp> {
  const logger = boltLogger(log);
  const observe: WebApiObserver | undefined = metrics && ((method, outcome) => metrics.countSlackCall(method, outcome));
  const webApi = createWebApiCaller({ apiUrl: config.slack.apiUrl, token: config.slack.botToken, observe });
  const clientOptions: webApi.WebClientOptions = {
    slackApiUrl: config.slack.apiUrl,
    logger,
    // Every Web API call of every client Bolt makes, counted by method and by what Slack answered.
    ...(observe ? { fetch: observedFetch(observe) } : {}),
    // A Slack outage must not hold sendgate's work hostage: a few quick retries, then the caller logs it.
    retryConfig: { retries: 2, factor: 2, minTimeout: 200, maxTimeout: 2000 },
  };
  const identity = { ...(await identifyBot(config, { ...clientOptions, retryConfig: { retries: 0 } }, log)), tokenVerificationEnabled: false };
  if (config.slack.appToken) {
    const app = new App({
      ...identity,
      token: config.slack.botToken,
      appToken: config.slack.appToken,
      socketMode: true,
      logger,
      clientOptions,
    });
    let retry: NodeJS.Timeout | undefined;
    const connect = async () => {
      try {
        await app.start();
        log.info("connected to Slack in Socket Mode");
      } catch (error) {
        log.error({ err: error }, "Socket Mode connection failed; retrying in 30 s (check SLACK_APP_TOKEN)");
        retry = setTimeout(connect, 30_000);
        retry.unref();
      }
    };
    return {
      app,
      client: app.client,
      webApi,
      start: connect,
      stop: async () => {
        clearTimeout(retry);
        await app.stop().catch(() => undefined);
        webApi.close();
      },
    };
  }
  const receiver = new HTTPReceiver({
    signingSecret: config.slack.signingSecret ?? "",
    endpoints: "/slack/events",
    logger,
  });
  const app = new App({ ...identity, token: config.slack.botToken, receiver, logger, clientOptions });
  return {
    app,
    client: app.client,
    webApi,
    requestListener: receiver.requestListener,
    start: async () => {},
    stop: async () => webApi.close(),
  };
}

export function registerListeners({ app, webApi }: Pick<SlackApp, "app" | "webApi">, deps: SlackDeps) {
  registerActions(app, deps, webApi);
  registerViews(app, deps);
  registerCommands(app, deps);
  registerEvents(app, deps);
}
