import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AppTransport } from "./app-transport.js";
import { checkMessage, checkOptionsResponse, checkView, type BlockKitProblem } from "./block-kit.js";
import { RateLimiter } from "./rate-limits.js";
import { WebApi, fromJsonText, initialValue, type ApiCall, type Args } from "./web-api.js";
import { Workspace, type EphemeralMessage, type Message, type OpenView, type WorkspaceSeed } from "./workspace.js";

/**
 * A local Slack: the Web API an app calls, and the people who click in the client. It refuses what
 * Slack refuses and keeps what Slack would show, so tests and the playground see sendgate the way a
 * workspace does. Everything refused is kept in `refusals`.
 */

export interface Refusal {
  /** The Web API method, or the interaction whose acknowledgement Slack would refuse. */
  where: string;
  error: string;
  messages: string[];
}

export interface StandinOptions extends WorkspaceSeed {
  botToken: string;
  appToken?: string;
  signingSecret?: string;
  /** Multiplies Slack's rate limits; 1 (the default) is Slack's own. */
  rateLimitScale?: number;
  now?: () => number;
  /** Socket Mode: the address apps.connections.open hands out. */
  socketModeUrl?: () => string;
  /** How many Web API calls `calls` keeps, newest last; unbounded (tests) unless said. A long playground session keeps a few. */
  keepCalls?: number;
  /** The stand-in's own base address (for response_url), e.g. http://127.0.0.1:4000. */
  baseUrl?: string;
}

export interface Outage {
  status: number;
  error: string;
  retryAfter?: number;
  delayMs?: number;
}

/** A message, an ephemeral message or a view: what a person clicks in. */
export type Surface = { channel: string; ts: string } | { ephemeral: EphemeralMessage } | { viewId: string };

/**
 * Which element the person clicks when several share an action_id: Slack asks action_ids to be
 * unique within a block only, so a list of sendings repeats its Pause once per sending. Without a
 * place, the first element with the action_id.
 */
export interface ElementPlace {
  /** The position of the block the element is in, as the person saw the surface. */
  blockIndex?: number;
  /**
   * The element's value as the person saw it. When the surface changed before the click arrived
   * and the block at `blockIndex` no longer holds it, the element with this value is clicked
   * wherever it moved, never another one that happens to sit there now.
   */
  value?: string;
}

/** What became of a modal submission. */
export type SubmitOutcome =
  | { kind: "closed" }
  | { kind: "cleared" }
  | { kind: "errors"; errors: Record<string, string> }
  | { kind: "updated"; view: OpenView }
  | { kind: "pushed"; view: OpenView };

interface ResponseUrl {
  id: string;
  user: string;
  channel: string;
  issuedAt: number;
  uses: number;
  /** The message the interaction came from, which replace_original and delete_original act on. */
  original?: { channel: string; ts: string } | { ephemeral: EphemeralMessage };
}

/** Slack waits this long for an acknowledgement before it shows the person an error. */
export const ACK_TIMEOUT_MS = 3000;
const RESPONSE_URL_TTL_MS = 30 * 60_000;
const RESPONSE_URL_USES = 5;

export class SlackStandin {
  readonly workspace: Workspace;
  readonly api: WebApi;
  readonly calls: ApiCall[] = [];
  readonly refusals: Refusal[] = [];
  /** Slack's warnings, e.g. a message with blocks and no `text` fallback. */
  readonly warnings: Array<{ method: string; warning: string }> = [];
  /** Views refused as acknowledgements are shown to the person as Slack's generic error; errors from response_action: errors live here. */
  readonly viewErrors = new Map<string, Record<string, string>>();
  baseUrl: string;
  /** How long every Web API answer takes: a slow Slack. */
  latencyMs = 0;
  private readonly outages = new Map<string, Outage[]>();
  private outageForAll?: Outage;
  private transport?: AppTransport;
  private readonly responseUrls = new Map<string, ResponseUrl>();
  private readonly now: () => number;
  /** Grows with every change people could see; the playground page waits on it. */
  version = 0;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly options: StandinOptions) {
    this.now = options.now ?? Date.now;
    this.workspace = new Workspace(options, this.now);
    this.baseUrl = options.baseUrl ?? "http://127.0.0.1";
    this.api = new WebApi(this.workspace, {
      botToken: options.botToken,
      appToken: options.appToken,
      limiter: new RateLimiter({ now: this.now, scale: options.rateLimitScale }),
      socketModeUrl: options.socketModeUrl,
      warn: (method, warning) => this.warnings.push({ method, warning }),
    });
  }

  /** Resolves once the workspace has changed after `version`, or after `timeoutMs`. */
  waitForChange(version: number, timeoutMs: number): Promise<void> {
    if (this.version > version) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      timer.unref();
      this.waiters.add(done);
    });
  }

  private changed() {
    this.version += 1;
    // Each waiter removes itself as it wakes: iterate over a copy.
    for (const wake of [...this.waiters]) wake();
  }

  /** Where interactions go: the app's request URL (HTTP mode) or its socket (Socket Mode). */
  connect(transport: AppTransport) {
    this.transport = transport;
  }

  // ---- the Web API ----

  /** One Web API call, recorded; refusals other than rate limits are kept. */
  callApi(method: string, args: Args, token: string | undefined) {
    const reply = this.api.call(method, args, token);
    const body = reply.body as { ok: boolean; error?: string; response_metadata?: { messages?: string[] } };
    const call: ApiCall = { method, args, ok: body.ok, error: body.error, messages: body.response_metadata?.messages };
    this.record(call);
    if (!body.ok && reply.status !== 429) this.refusals.push({ where: method, error: body.error ?? "unknown", messages: call.messages ?? [] });
    if (body.ok) this.changed();
    return reply;
  }

  /**
   * Slack having a bad day: the next call of `method` gets this answer (a 5xx, or a 429 with
   * Retry-After) instead of being served. Connection resets and timeouts are nock's, in front of the client.
   */
  failNext(method: string, outage: Outage) {
    this.outages.set(method, [...(this.outages.get(method) ?? []), outage]);
  }

  /**
   * Slack down: every Web API call, whatever the method, gets this answer until `failAll(undefined)`.
   * Answers queued with failNext still come first, each once.
   */
  failAll(outage: Outage | undefined) {
    this.outageForAll = outage;
  }

  private record(call: ApiCall) {
    this.calls.push(call);
    const keep = this.options.keepCalls ?? Number.POSITIVE_INFINITY;
    if (this.calls.length > keep) this.calls.splice(0, this.calls.length - keep);
  }

  /** Serves the Web API at `<prefix>/api/<method>` and response URLs at `<prefix>/respond/<id>`. */
  requestListener(prefix = "") {
    return (req: IncomingMessage, res: ServerResponse) => {
      void this.serve(prefix, req, res).catch((error: unknown) => {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ ok: false, error: "internal_error", detail: String(error) }));
      });
    };
  }

  private async serve(prefix: string, req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length) : url.pathname;
    const raw = await readBody(req);
    const api = /^\/api\/([\w.]+)$/.exec(path);
    if (api && (req.method === "POST" || req.method === "GET")) {
      const args = { ...Object.fromEntries(url.searchParams), ...decodeBody(raw, req.headers["content-type"]) };
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
      const outage = this.outages.get(api[1]!)?.shift() ?? this.outageForAll;
      const delayMs = outage?.delayMs ?? this.latencyMs;
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      if (outage) {
        this.record({ method: api[1]!, args, ok: false, error: outage.error });
        res.writeHead(outage.status, { "content-type": "application/json", ...(outage.retryAfter ? { "retry-after": String(outage.retryAfter) } : {}) });
        res.end(JSON.stringify({ ok: false, error: outage.error }));
        return;
      }
      const reply = this.callApi(api[1]!, args, bearer ?? (typeof args.token === "string" ? args.token : undefined));
      res.writeHead(reply.status, { "content-type": "application/json; charset=utf-8", ...reply.headers });
      res.end(JSON.stringify(reply.body));
      return;
    }
    const respond = /^\/respond\/([\w-]+)$/.exec(path);
    if (respond && req.method === "POST") {
      const { status, text } = this.respond(respond[1]!, decodeBody(raw, req.headers["content-type"]));
      res.writeHead(status, { "content-type": "text/plain" });
      res.end(text);
      return;
    }
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found");
  }

  // ---- what people do in the client ----

  /** A person clicks a button (or a link button) in a message, an ephemeral message, a modal or the Home tab. */
  async click(user: string, surface: Surface, actionId: string, place: ElementPlace = {}): Promise<void> {
    const { element, blockId } = this.findElement(surface, actionId, place);
    if (element.type !== "button") throw new Error(`${actionId} is a ${String(element.type)}, not a button`);
    await this.sendAction(user, surface, {
      type: "button",
      action_id: actionId,
      block_id: blockId,
      text: element.text,
      ...(element.value !== undefined ? { value: element.value } : {}),
      ...(element.style ? { style: element.style } : {}),
    });
  }

  /** A person picks an option in a select menu, overflow menu or radio group outside an input block. */
  async pick(user: string, surface: Surface, actionId: string, option: { text: unknown; value: string }, place: ElementPlace = {}): Promise<void> {
    const { element, blockId } = this.findElement(surface, actionId, place);
    await this.sendAction(user, surface, { type: element.type, action_id: actionId, block_id: blockId, selected_option: option });
  }

  /** A person types in an external select: the app's options, checked as Slack checks them. */
  async suggest(user: string, surface: Surface, actionId: string, query: string): Promise<Array<{ text: unknown; value: string }>> {
    const { blockId } = this.findElement(surface, actionId);
    const payload: Record<string, unknown> = {
      type: "block_suggestion",
      ...this.common(user),
      action_id: actionId,
      block_id: blockId,
      value: query,
      ...this.container(surface),
    };
    const ack = await this.deliver("block_suggestion", payload);
    const problems = ack === undefined ? [{ pointer: "", message: "an empty acknowledgement has no options" }] : checkOptionsResponse(ack);
    if (problems.length > 0) {
      this.refuse("block_suggestion", "invalid_options", problems);
      return [];
    }
    const body = ack as { options?: Array<{ text: unknown; value: string }>; option_groups?: Array<{ options: Array<{ text: unknown; value: string }> }> };
    return body.options ?? body.option_groups?.flatMap((group) => group.options) ?? [];
  }

  /** A person fills an input in a modal: text, a radio choice (by value), a date-time (unix seconds). */
  fill(user: string, viewId: string, blockId: string, value: string | number) {
    const open = this.openViewOf(user, viewId);
    const block = ((open.view.blocks as Array<Record<string, unknown>>) ?? []).find((b) => b.block_id === blockId && b.type === "input");
    if (!block) throw new Error(`the view has no input block ${blockId}`);
    const element = block.element as Record<string, unknown>;
    const actionId = String(element.action_id);
    const filled = { ...initialValue(element) };
    switch (element.type) {
      case "radio_buttons":
      case "static_select": {
        const option = ((element.options as Array<{ value: string }>) ?? []).find((o) => o.value === value);
        if (!option) throw new Error(`${blockId} has no option ${value}`);
        filled.selected_option = option;
        break;
      }
      case "datetimepicker":
        filled.selected_date_time = Number(value);
        break;
      case "datepicker":
        filled.selected_date = String(value);
        break;
      default:
        filled.value = String(value);
    }
    open.values[blockId] = { [actionId]: filled };
  }

  /**
   * A person presses the modal's submit button. Slack's client first checks required fields and
   * lengths itself, then sends view_submission and applies the app's response_action.
   */
  async submit(user: string, viewId: string): Promise<SubmitOutcome> {
    const open = this.openViewOf(user, viewId);
    if (!open.view.submit) throw new Error("this modal has no submit button");
    const clientErrors = requiredInputErrors(open);
    if (Object.keys(clientErrors).length > 0) {
      this.viewErrors.set(open.id, clientErrors);
      this.changed();
      return { kind: "errors", errors: clientErrors };
    }
    const payload = {
      type: "view_submission",
      ...this.common(user),
      trigger_id: this.workspace.issueTrigger(user, open.id),
      view: this.api.viewJson(open),
      response_urls: [],
    };
    const ack = (await this.deliver("view_submission", payload)) as Record<string, unknown> | undefined;
    this.viewErrors.delete(open.id);
    if (ack === undefined || Object.keys(ack).length === 0) {
      this.closeOne(open);
      return { kind: "closed" };
    }
    switch (ack.response_action) {
      case "clear":
        this.closeStack(open);
        return { kind: "cleared" };
      case "errors": {
        const errors = (ack.errors ?? {}) as Record<string, string>;
        const inputIds = new Set(((open.view.blocks as Array<Record<string, unknown>>) ?? []).filter((b) => b.type === "input").map((b) => b.block_id));
        const unknown = Object.keys(errors).filter((id) => !inputIds.has(id));
        if (unknown.length > 0 || Object.keys(errors).length === 0) {
          this.refuse("view_submission", "invalid_errors", [{ pointer: "/errors", message: `errors must name input blocks of the view; not: ${unknown.join(", ") || "(none given)"}` }]);
          return { kind: "closed" };
        }
        this.viewErrors.set(open.id, errors);
        this.changed();
        return { kind: "errors", errors };
      }
      case "update":
      case "push": {
        const problems = checkView(ack.view, "/view");
        if (problems.length > 0) {
          this.refuse("view_submission", "invalid_arguments", problems);
          return { kind: "closed" };
        }
        const view = ack.view as Record<string, unknown>;
        if (ack.response_action === "update") {
          open.view = view;
          open.hash = this.workspace.newViewHash();
          this.changed();
          return { kind: "updated", view: open };
        }
        const pushed = this.api.call("views.push", { trigger_id: this.workspace.issueTrigger(user, open.id), view }, this.options.botToken);
        const id = ((pushed.body.view ?? {}) as { id?: string }).id;
        return { kind: "pushed", view: this.workspace.views.get(id ?? "")! };
      }
      default:
        this.refuse("view_submission", "invalid_response_action", [{ pointer: "/response_action", message: `unknown response_action ${String(ack.response_action)}` }]);
        return { kind: "closed" };
    }
  }

  /** A person closes a modal with its close button or the ×. */
  async close(user: string, viewId: string): Promise<void> {
    const open = this.openViewOf(user, viewId);
    if (open.view.notify_on_close === true) {
      await this.deliver("view_closed", { type: "view_closed", ...this.common(user), view: this.api.viewJson(open), is_cleared: false });
    }
    this.closeOne(open);
  }

  /** A person runs a slash command in a channel; the app's immediate answer is returned, checked. */
  async slashCommand(user: string, channel: string, command: string, text: string): Promise<{ text?: string; blocks?: unknown[] } | undefined> {
    const responseUrl = this.issueResponseUrl(user, channel);
    const ch = this.workspace.channels.get(channel);
    const fields = {
      token: "standin-verification-token",
      team_id: this.workspace.teamId,
      team_domain: this.workspace.teamDomain,
      channel_id: channel,
      channel_name: ch?.name ?? channel,
      user_id: user,
      user_name: this.workspace.users.get(user)?.name ?? user,
      command,
      text,
      api_app_id: this.workspace.appId,
      is_enterprise_install: "false",
      response_url: responseUrl.url,
      trigger_id: this.workspace.issueTrigger(user),
    };
    if (!this.transport) throw new Error("no app is connected to the stand-in");
    const ack = await this.transport.slashCommand(fields);
    this.checkAckTime(`${command} command`, ack.elapsedMs);
    if (ack.body === undefined) return undefined;
    const reply = ack.body as { text?: string; blocks?: unknown[]; response_type?: string };
    if (!this.postReply(`${command} command`, user, channel, reply, responseUrl.id)) return undefined;
    return reply;
  }

  /**
   * A person opens the app's Home tab (or its Messages tab): Slack tells the app with an
   * app_home_opened event, carrying the Home view the person has when the app published one.
   */
  async openAppHome(user: string, tab: "home" | "messages" = "home"): Promise<void> {
    if (!this.workspace.users.has(user)) throw new Error(`${user} is not in the workspace`);
    const homeId = this.workspace.homes.get(user);
    const home = homeId ? this.workspace.views.get(homeId) : undefined;
    const eventTs = this.workspace.ts();
    const event = {
      type: "app_home_opened",
      user,
      channel: this.workspace.imWith(user).id,
      tab,
      event_ts: eventTs,
      ...(home ? { view: this.api.viewJson(home) } : {}),
    };
    await this.deliverEvent(event, eventTs);
  }

  /** An Events API callback, as Slack wraps every event it sends an app. */
  private async deliverEvent(event: Record<string, unknown>, eventTs: string) {
    if (!this.transport) throw new Error("no app is connected to the stand-in");
    const ws = this.workspace;
    const body = {
      token: "standin-verification-token",
      team_id: ws.teamId,
      api_app_id: ws.appId,
      event,
      type: "event_callback",
      event_id: `Ev${ws.uniqueSuffix()}`,
      event_time: Math.floor(Number(eventTs)),
      authorizations: [{ enterprise_id: null, team_id: ws.teamId, user_id: ws.botUserId, is_bot: true, is_enterprise_install: false }],
      is_ext_shared_channel: false,
    };
    const ack = await this.transport.event(body);
    this.checkAckTime(`${String(event.type)} event`, ack.elapsedMs);
  }

  // ---- response_url ----

  private issueResponseUrl(user: string, channel: string, original?: ResponseUrl["original"]) {
    const id = randomBytes(12).toString("hex");
    this.responseUrls.set(id, { id, user, channel, issuedAt: this.now(), uses: 0, original });
    return { id, url: `${this.baseUrl}/respond/${id}` };
  }

  /** An app's POST to a response_url: a new ephemeral reply, or replacing or deleting the original. */
  respond(id: string, body: Record<string, unknown>): { status: number; text: string } {
    const answer = this.applyResponse(id, body);
    if (answer.status === 200) this.changed();
    return answer;
  }

  private applyResponse(id: string, body: Record<string, unknown>): { status: number; text: string } {
    const entry = this.responseUrls.get(id);
    if (!entry || this.now() - entry.issuedAt > RESPONSE_URL_TTL_MS) return this.refusedResponse("expired_url", 404);
    entry.uses += 1;
    if (entry.uses > RESPONSE_URL_USES) return this.refusedResponse("used_url", 404);
    const original = entry.original;
    if (body.delete_original === true || body.delete_original === "true") {
      if (original && "ephemeral" in original) this.workspace.ephemerals.splice(this.workspace.ephemerals.indexOf(original.ephemeral), 1);
      else if (original) this.workspace.messages.splice(this.workspace.messages.findIndex((m) => m.channel === original.channel && m.ts === original.ts), 1);
      return { status: 200, text: "ok" };
    }
    const blocks = fromJsonText(body.blocks);
    const { problems } = checkMessage({ text: body.text, blocks });
    if (problems.length > 0) {
      this.refuse("response_url", "invalid_blocks", problems);
      return { status: 400, text: "invalid_blocks" };
    }
    const text = typeof body.text === "string" ? body.text : "";
    const list = Array.isArray(blocks) ? blocks : [];
    if ((body.replace_original === true || body.replace_original === "true") && original) {
      if ("ephemeral" in original) {
        original.ephemeral.text = text;
        original.ephemeral.blocks = list;
      } else {
        const message = this.workspace.message(original.channel, original.ts);
        if (message) Object.assign(message, { text, blocks: list });
      }
      return { status: 200, text: "ok" };
    }
    this.postReply("response_url", entry.user, entry.channel, { ...body, text, blocks: list }, id);
    return { status: 200, text: "ok" };
  }

  private refusedResponse(error: string, status: number) {
    this.refusals.push({ where: "response_url", error, messages: [] });
    return { status, text: error };
  }

  /** An ack or response_url reply: ephemeral unless it says in_channel. */
  private postReply(where: string, user: string, channel: string, reply: { text?: unknown; blocks?: unknown; response_type?: unknown }, responseUrlId: string): boolean {
    const { problems, warnings } = checkMessage({ text: reply.text, blocks: reply.blocks });
    if (problems.length > 0) {
      this.refuse(where, "invalid_blocks", problems);
      return false;
    }
    for (const warning of warnings) this.warnings.push({ method: where, warning });
    const text = typeof reply.text === "string" ? reply.text : "";
    const blocks = Array.isArray(reply.blocks) ? reply.blocks : [];
    if (reply.response_type === "in_channel") {
      this.workspace.messages.push({ channel, ts: this.workspace.ts(), user: this.workspace.botUserId, botId: this.workspace.botId, text, blocks });
    } else {
      this.workspace.ephemerals.push({ channel, user, ts: this.workspace.ts(), text, blocks, responseUrlId });
    }
    this.changed();
    return true;
  }

  // ---- helpers ----

  private common(user: string) {
    const person = this.workspace.users.get(user);
    return {
      user: { id: user, username: person?.name ?? user, name: person?.name ?? user, team_id: this.workspace.teamId },
      team: { id: this.workspace.teamId, domain: this.workspace.teamDomain },
      api_app_id: this.workspace.appId,
      token: "standin-verification-token",
      is_enterprise_install: false,
      enterprise: null,
    };
  }

  private container(surface: Surface): Record<string, unknown> {
    if ("viewId" in surface) {
      const open = this.workspace.views.get(surface.viewId)!;
      return { container: { type: "view", view_id: open.id }, view: this.api.viewJson(open) };
    }
    if ("ephemeral" in surface) {
      const e = surface.ephemeral;
      const channel = this.workspace.channels.get(e.channel);
      return {
        container: { type: "message", message_ts: e.ts, channel_id: e.channel, is_ephemeral: true },
        channel: { id: e.channel, name: channel?.name ?? e.channel },
      };
    }
    const message = this.workspace.message(surface.channel, surface.ts)!;
    const channel = this.workspace.channels.get(surface.channel);
    return {
      container: { type: "message", message_ts: message.ts, channel_id: message.channel, is_ephemeral: false, ...(message.threadTs ? { thread_ts: message.threadTs } : {}) },
      channel: { id: message.channel, name: channel?.name ?? message.channel },
      message: this.api.messageJson(message),
    };
  }

  private async sendAction(user: string, surface: Surface, action: Record<string, unknown>) {
    this.assertSees(user, surface);
    const viewId = "viewId" in surface ? surface.viewId : undefined;
    const original = "viewId" in surface ? undefined : "ephemeral" in surface ? { ephemeral: surface.ephemeral } : { channel: surface.channel, ts: surface.ts };
    const channel = "viewId" in surface ? undefined : "ephemeral" in surface ? surface.ephemeral.channel : surface.channel;
    const payload: Record<string, unknown> = {
      type: "block_actions",
      ...this.common(user),
      trigger_id: this.workspace.issueTrigger(user, viewId),
      ...this.container(surface),
      ...(channel ? { response_url: this.issueResponseUrl(user, channel, original).url } : {}),
      state: { values: viewId ? this.workspace.views.get(viewId)!.values : {} },
      actions: [{ ...action, action_ts: (this.now() / 1000).toFixed(6) }],
    };
    await this.deliver("block_actions", payload);
  }

  private async deliver(kind: string, payload: Record<string, unknown>): Promise<unknown> {
    if (!this.transport) throw new Error("no app is connected to the stand-in");
    const ack = await this.transport.interactive(payload);
    this.checkAckTime(kind, ack.elapsedMs);
    return ack.body;
  }

  private checkAckTime(where: string, elapsedMs: number) {
    if (elapsedMs > ACK_TIMEOUT_MS) {
      this.refusals.push({ where, error: "operation_timeout", messages: [`acknowledged after ${elapsedMs} ms; Slack gives up after ${ACK_TIMEOUT_MS} ms`] });
    }
  }

  private refuse(where: string, error: string, problems: BlockKitProblem[]) {
    this.refusals.push({ where, error, messages: problems.map((p) => `[ERROR] ${p.message} [json-pointer:${p.pointer}]`) });
  }

  /** Only what a person can see can be clicked: their ephemeral messages, their modals, channels they are in. */
  private assertSees(user: string, surface: Surface) {
    if ("viewId" in surface) {
      this.openViewOf(user, surface.viewId);
    } else if ("ephemeral" in surface) {
      if (surface.ephemeral.user !== user) throw new Error(`${user} cannot see an ephemeral message meant for ${surface.ephemeral.user}`);
    } else {
      const channel = this.workspace.channels.get(surface.channel);
      if (!channel?.members.has(user) && channel?.isPrivate) throw new Error(`${user} is not in ${surface.channel}`);
    }
  }

  private openViewOf(user: string, viewId: string): OpenView {
    const open = this.workspace.views.get(viewId);
    if (!open || open.closed) throw new Error(`view ${viewId} is not open`);
    if (open.user !== user) throw new Error(`view ${viewId} is on ${open.user}'s screen, not ${user}'s`);
    return open;
  }

  private blocksOf(surface: Surface): unknown[] {
    if ("viewId" in surface) {
      const open = this.workspace.views.get(surface.viewId);
      if (!open || open.closed) throw new Error(`view ${surface.viewId} is not open`);
      return (open.view.blocks as unknown[]) ?? [];
    }
    if ("ephemeral" in surface) return surface.ephemeral.blocks;
    const message: Message | undefined = this.workspace.message(surface.channel, surface.ts);
    if (!message) throw new Error(`no message ${surface.ts} in ${surface.channel}`);
    return message.blocks;
  }

  /** The interactive element with this action_id, where the person sees it (at `place`, when given). */
  private findElement(surface: Surface, actionId: string, place: ElementPlace = {}) {
    const found: Array<{ element: Record<string, unknown>; blockId: string; index: number }> = [];
    for (const [index, raw] of this.blocksOf(surface).entries()) {
      const block = raw as Record<string, unknown>;
      // Slack gives blocks without a block_id one of its own; the payload reports it.
      const blockId = typeof block.block_id === "string" ? block.block_id : `standin-${index}`;
      const candidates = [
        ...((block.elements as Array<Record<string, unknown>>) ?? []),
        ...(block.accessory ? [block.accessory as Record<string, unknown>] : []),
        ...(block.element ? [block.element as Record<string, unknown>] : []),
      ];
      const element = candidates.find((e) => e.action_id === actionId && (place.value === undefined || e.value === place.value));
      if (element) found.push({ element, blockId, index });
    }
    const atPlace = place.blockIndex === undefined ? found[0] : (found.find((f) => f.index === place.blockIndex) ?? (place.value !== undefined ? found[0] : undefined));
    if (atPlace) return atPlace;
    throw new Error(`no element ${actionId}${place.value !== undefined ? ` with value ${place.value}` : ""} where the person looks; they cannot click what is not there`);
  }

  private closeOne(open: OpenView) {
    open.closed = true;
    this.viewErrors.delete(open.id);
    this.changed();
  }

  private closeStack(open: OpenView) {
    for (const view of this.workspace.views.values()) if (view.rootViewId === open.rootViewId) this.closeOne(view);
  }

  // ---- reading what Slack shows (tests, the playground) ----

  called(method: string): ApiCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  /** The modal on top of the person's screen. */
  modalOf(user: string): OpenView | undefined {
    return this.workspace.topModal(user);
  }

  /** Forget what was recorded so far (not the workspace's state). */
  resetRecords() {
    this.calls.length = 0;
    this.refusals.length = 0;
    this.warnings.length = 0;
  }
}

/** Slack's client will not submit a modal with a required input empty, or text over its max_length. */
function requiredInputErrors(open: OpenView): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const block of (open.view.blocks as Array<Record<string, unknown>>) ?? []) {
    if (block.type !== "input" || typeof block.block_id !== "string") continue;
    const element = block.element as Record<string, unknown>;
    const state = open.values[block.block_id]?.[String(element.action_id)] ?? {};
    const filled = Object.entries(state).some(([key, value]) => key !== "type" && value !== null && value !== "" && !(Array.isArray(value) && value.length === 0));
    if (!filled && block.optional !== true) errors[block.block_id] = "Please complete this required field.";
    const max = element.max_length;
    if (typeof max === "number" && typeof state.value === "string" && [...state.value].length > max) {
      errors[block.block_id] = `Must be ${max} characters or fewer.`;
    }
  }
  return errors;
}

function decodeBody(raw: string, contentType: string | undefined): Record<string, unknown> {
  if (!raw) return {};
  if (contentType?.includes("application/json")) {
    const parsed = fromJsonText(raw);
    return parsed && typeof parsed === "object" ? (parsed as Record<string, unknown>) : {};
  }
  return Object.fromEntries(new URLSearchParams(raw));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
