import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { z } from "zod";
import { HttpError } from "../http/errors.js";
import { readJsonBody } from "../http/body.js";
import type { Route } from "../http/router.js";
import { httpTransport } from "../slack-standin/app-transport.js";
import { SlackStandin, type Surface } from "../slack-standin/standin.js";
import type { Message } from "../slack-standin/workspace.js";
import { PLAYGROUND } from "./personas.js";

/**
 * The playground: the strict Slack stand-in in sendgate's own process, and a page in front of it
 * where a person picks who they are and uses sendgate as in Slack. Every click becomes the signed
 * request Slack would send to /slack/events; nothing typed on the page reaches sendgate unsigned.
 */

export interface Playground {
  standin: SlackStandin;
  /** The page, its state and actions, and the stand-in's Web API and response URLs, all under /playground. */
  routes: Route[];
  /** Only Slack's side (Web API, response URLs): what sendgate calls while it is still starting. */
  slackListener: (req: IncomingMessage, res: ServerResponse) => void;
  /** Starts sending interactions to sendgate's own receiver. */
  connect(requestUrl: string, signingSecret: string): void;
}

const PREFIX = "/playground";
const LONG_POLL_MS = 25_000;
const ACTION_BODY_LIMIT = 64 * 1024;
const PAGE_DIR = new URL("./page/", import.meta.url);
const ASSETS: Record<string, string> = {
  "playground.js": "text/javascript; charset=utf-8",
  "mrkdwn.js": "text/javascript; charset=utf-8",
  "playground.css": "text/css; charset=utf-8",
};
const PAGE_HEADERS = {
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

export function createPlayground(options: { botToken: string; baseUrl: string; log: Logger }): Playground {
  const standin = new SlackStandin({
    botToken: options.botToken,
    baseUrl: `${options.baseUrl}${PREFIX}`,
    teamId: "T0PLAYGROUND",
    teamDomain: "playground",
    users: PLAYGROUND.personas.map(({ id, name, realName, tz, email }) => ({ id, name, realName, tz, email })),
    userGroups: { [PLAYGROUND.reviewersGroup.id]: [...PLAYGROUND.reviewers] },
    // Progress updates go on for as long as the playground runs: keep only the recent calls.
    keepCalls: 500,
    channels: [{ id: PLAYGROUND.approvalsChannel, name: PLAYGROUND.approvalsChannelName, members: PLAYGROUND.personas.map((p) => p.id) }],
  });
  const slackSide = standin.requestListener(PREFIX);

  const doc = { notInApi: "The playground's page and its stand-in for Slack: playground mode only, on 127.0.0.1." };
  const routes: Route[] = [
    { method: "POST", pattern: `${PREFIX}/api/:method`, doc, raw: slackSide },
    { method: "POST", pattern: `${PREFIX}/respond/:id`, doc, raw: slackSide },
    { method: "GET", pattern: PREFIX, doc, raw: (req, res) => void servePage(res, "index.html", "text/html; charset=utf-8", options.log) },
    {
      method: "GET",
      pattern: `${PREFIX}/assets/:file`,
      doc,
      raw: (req, res) => {
        const file = new URL(req.url ?? "/", "http://localhost").pathname.split("/").at(-1) ?? "";
        const type = ASSETS[file];
        if (!type) {
          res.writeHead(404, { "content-type": "text/plain" });
          res.end("not found");
          return;
        }
        void servePage(res, file, type, options.log);
      },
    },
    {
      method: "GET",
      pattern: `${PREFIX}/state`,
      doc,
      auth: false,
      async handle({ url }) {
        const as = personaOf(url.searchParams.get("as"));
        const after = Number(url.searchParams.get("after") ?? -1);
        if (!Number.isInteger(after)) throw new HttpError(400, "invalid_request", "after must be the version number the page last saw.");
        await standin.waitForChange(after, LONG_POLL_MS);
        return { status: 200, body: stateFor(standin, as) };
      },
    },
    {
      method: "POST",
      pattern: `${PREFIX}/actions`,
      doc,
      auth: false,
      async handle({ req }) {
        const parsed = actionSchema.safeParse(await readJsonBody(req, ACTION_BODY_LIMIT));
        if (!parsed.success) {
          throw new HttpError(400, "invalid_request", parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; "));
        }
        try {
          return { status: 200, body: { ok: true, ...(await act(standin, parsed.data)) } };
        } catch (error) {
          // The stand-in refuses what no Slack client could do (a button that is not shown, someone else's modal).
          if (error instanceof Error && !(error instanceof HttpError)) throw new HttpError(400, "not_possible_in_slack", error.message);
          throw error;
        }
      },
    },
  ];

  return {
    standin,
    routes,
    slackListener: slackSide,
    connect(requestUrl, signingSecret) {
      standin.connect(httpTransport(requestUrl, signingSecret));
    },
  };
}

async function servePage(res: ServerResponse, file: string, type: string, log: Logger) {
  try {
    const body = await readFile(new URL(file, PAGE_DIR));
    res.writeHead(200, { "content-type": type, "content-length": body.length, ...PAGE_HEADERS });
    res.end(body);
  } catch (error) {
    log.error({ err: error, file }, "playground page file missing");
    res.writeHead(500, { "content-type": "text/plain" });
    res.end("The playground page is missing from this installation.");
  }
}

const personaIds = PLAYGROUND.personas.map((p) => p.id) as [string, ...string[]];
const persona = z.enum(personaIds, { message: `must be one of the playground's people: ${personaIds.join(", ")}` });

function personaOf(value: string | null): string {
  const parsed = persona.safeParse(value);
  if (!parsed.success) throw new HttpError(400, "invalid_request", `as ${parsed.error.issues[0]!.message}`);
  return parsed.data;
}

const slackId = (prefix: string) => z.string().regex(new RegExp(`^${prefix}[A-Z0-9]{2,}$`), `must be a Slack id starting with ${prefix}`);
const ts = z.string().regex(/^\d+\.\d{6}$/, "must be a Slack message timestamp such as 1764321000.000100");
const surface = z.union([
  z.object({ channel: z.string().regex(/^[CDG][A-Z0-9]{2,}$/, "must be a channel id"), ts }).strict(),
  z.object({ ephemeral: ts }).strict(),
  z.object({ view: slackId("V") }).strict(),
]);
const actionId = z.string().min(1).max(255);
const option = z.object({ text: z.unknown(), value: z.string().max(150) });
/** The clicked element's block, by position, when blocks repeat an action_id (a list of sendings, each with its Pause). */
const block = z.number().int().min(0).max(99).optional();
/** The clicked button's value as the page showed it: Slack's limit is 2,000 characters. */
const value = z.string().max(2000).optional();

const actionSchema = z.discriminatedUnion("action", [
  z.object({ as: persona, action: z.literal("click"), surface, actionId, block, value }).strict(),
  z.object({ as: persona, action: z.literal("pick"), surface, actionId, option, block }).strict(),
  z.object({ as: persona, action: z.literal("suggest"), surface, actionId, query: z.string().max(500) }).strict(),
  z.object({
    as: persona,
    action: z.literal("submit"),
    view: slackId("V"),
    values: z.record(z.string().max(255), z.union([z.string().max(10_000), z.number().int()])),
  }).strict(),
  z.object({ as: persona, action: z.literal("close"), view: slackId("V") }).strict(),
  z.object({ as: persona, action: z.literal("command"), channel: z.string().regex(/^[CD][A-Z0-9]{2,}$/), text: z.string().max(4000) }).strict(),
  z.object({ as: persona, action: z.literal("openHome") }).strict(),
]);
type Action = z.infer<typeof actionSchema>;

function surfaceFor(standin: SlackStandin, user: string, value: z.infer<typeof surface>): Surface {
  if ("view" in value) return { viewId: value.view };
  if ("ephemeral" in value) {
    const ephemeral = standin.workspace.ephemeralsFor(user).find((e) => e.ts === value.ephemeral);
    if (!ephemeral) throw new HttpError(400, "not_found", "That message is no longer there; it may have been replaced.");
    return { ephemeral };
  }
  if (!standin.workspace.message(value.channel, value.ts)) throw new HttpError(400, "not_found", "That message is no longer there.");
  return { channel: value.channel, ts: value.ts };
}

async function act(standin: SlackStandin, action: Action): Promise<Record<string, unknown>> {
  switch (action.action) {
    case "click":
      await standin.click(action.as, surfaceFor(standin, action.as, action.surface), action.actionId, { blockIndex: action.block, value: action.value });
      return {};
    case "pick":
      await standin.pick(action.as, surfaceFor(standin, action.as, action.surface), action.actionId, action.option, { blockIndex: action.block });
      return {};
    case "suggest":
      return { options: await standin.suggest(action.as, surfaceFor(standin, action.as, action.surface), action.actionId, action.query) };
    case "submit":
      for (const [blockId, value] of Object.entries(action.values)) standin.fill(action.as, action.view, blockId, value);
      return { outcome: summarize(await standin.submit(action.as, action.view)) };
    case "close":
      await standin.close(action.as, action.view);
      return {};
    case "command": {
      const match = /^\s*(\/[a-z-]+)\s*([\s\S]*)$/.exec(action.text);
      if (!match || match[1] !== "/sendings") throw new HttpError(400, "unknown_command", "Only the /sendings command works here, e.g. /sendings pending.");
      return { reply: (await standin.slashCommand(action.as, action.channel, "/sendings", match[2]!.trim())) ?? null };
    }
    case "openHome":
      // Slack tells the app with app_home_opened; sendgate publishes the tab after acknowledging it,
      // so the view comes with a later state (`home` in it), not with this answer.
      await standin.openAppHome(action.as);
      return {};
  }
}

function summarize(outcome: Awaited<ReturnType<SlackStandin["submit"]>>) {
  if (outcome.kind === "errors") return outcome;
  if (outcome.kind === "updated" || outcome.kind === "pushed") return { kind: outcome.kind, view: outcome.view.id };
  return { kind: outcome.kind };
}

/** What one person sees: their channels and direct messages, their ephemeral messages, their modals, their Home tab. */
function stateFor(standin: SlackStandin, me: string) {
  const ws = standin.workspace;
  const visible = [...ws.channels.values()].filter((c) => (c.isIm ? c.imUser === me : !c.isPrivate || c.members.has(me)));
  const person = (id: string) => ws.users.get(id);
  const messageJson = (m: Message) => ({
    ts: m.ts,
    user: m.user,
    userName: person(m.user)?.realName ?? m.user,
    isBot: m.user === ws.botUserId,
    text: m.text,
    blocks: m.blocks,
    edited: m.edited !== undefined,
  });
  const modals = [...ws.views.values()]
    .filter((v) => v.user === me && v.type === "modal" && !v.closed)
    .map((v) => ({ id: v.id, hash: v.hash, view: v.view, errors: standin.viewErrors.get(v.id) ?? {} }));
  const homeId = ws.homes.get(me);
  const home = homeId ? ws.views.get(homeId) : undefined;
  return {
    version: standin.version,
    team: PLAYGROUND.teamName,
    me,
    people: PLAYGROUND.personas,
    userGroups: { [PLAYGROUND.reviewersGroup.id]: { handle: PLAYGROUND.reviewersGroup.handle, members: ws.userGroups.get(PLAYGROUND.reviewersGroup.id) ?? [] } },
    channels: visible.map((c) => ({ id: c.id, name: c.isIm ? "sendgate" : c.name, kind: c.isIm ? "im" : "channel" })),
    messages: Object.fromEntries(
      visible.map((c) => [c.id, ws.history(c.id).map((m) => ({ ...messageJson(m), replies: ws.replies(c.id, m.ts).map(messageJson) }))]),
    ),
    ephemerals: ws.ephemeralsFor(me).map((e) => ({ channel: e.channel, ts: e.ts, text: e.text, blocks: e.blocks })),
    modals,
    home: home ? { id: home.id, view: home.view } : null,
  };
}
