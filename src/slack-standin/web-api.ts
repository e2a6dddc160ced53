import { checkMessage, checkView, type BlockKitProblem } from "./block-kit.js";
import { RateLimiter } from "./rate-limits.js";
import type { Channel, Message, OpenView, Workspace } from "./workspace.js";

/**
 * The Web API methods sendgate calls, answered the way Slack answers them: `{ ok: true, … }`, or
 * `{ ok: false, error }` with Slack's error code and, for refused payloads, the problems in
 * `response_metadata.messages` as "[ERROR] … [json-pointer:/blocks/0/text]".
 */

export type Args = Record<string, unknown>;

export interface ApiReply {
  status: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
}

/** One call as the stand-in saw it, decoded. */
export interface ApiCall {
  method: string;
  args: Args;
  ok: boolean;
  error?: string;
  messages?: string[];
}

export class SlackError extends Error {
  constructor(
    readonly error: string,
    readonly messages: string[] = [],
    readonly extra: Record<string, unknown> = {},
  ) {
    super(messages.length > 0 ? `${error}: ${messages.join("; ")}` : error);
  }
}

const describe = (problems: BlockKitProblem[]) => problems.map((p) => `${p.message} [json-pointer:${p.pointer}]`);
const asErrorMessages = (lines: string[]) => lines.map((line) => `[ERROR] ${line}`);

function invalidBlocks(problems: BlockKitProblem[]): SlackError {
  const lines = describe(problems);
  return new SlackError("invalid_blocks", asErrorMessages(lines), { errors: lines });
}

function invalidArguments(lines: string[]): SlackError {
  return new SlackError("invalid_arguments", asErrorMessages(lines));
}

/** Form-encoded calls carry objects as JSON strings; JSON calls carry them as they are. Text that is not JSON stays text. */
export function fromJsonText(value: unknown): unknown {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function required(args: Args, name: string): string {
  const value = args[name];
  if (value === undefined || value === null || value === "") throw invalidArguments([`missing required field: ${name}`]);
  return String(value);
}

const optional = (args: Args, name: string) => (args[name] === undefined || args[name] === null || args[name] === "" ? undefined : String(args[name]));

export interface WebApiOptions {
  botToken: string;
  appToken?: string;
  limiter?: RateLimiter;
  /** Socket Mode: the WebSocket address apps.connections.open hands out. */
  socketModeUrl?: () => string;
  /** Where chat.postMessage warnings (a message without its `text` fallback) go. */
  warn?: (method: string, warning: string) => void;
}

export class WebApi {
  private readonly limiter: RateLimiter;

  constructor(
    private readonly ws: Workspace,
    private readonly options: WebApiOptions,
  ) {
    this.limiter = options.limiter ?? new RateLimiter({ now: ws.now });
  }

  /** Answers one call. `token` is what came in the Authorization header or the `token` argument. */
  call(method: string, args: Args, token: string | undefined): ApiReply {
    try {
      this.authenticate(method, token);
      const handler = this.handlers[method];
      if (!handler) throw new SlackError("unknown_method");
      const wait = this.limiter.take(method, optional(args, "channel"));
      if (wait !== null) {
        return { status: 429, body: { ok: false, error: "ratelimited" }, headers: { "retry-after": String(wait) } };
      }
      return { status: 200, body: { ok: true, ...handler(args) } };
    } catch (error) {
      if (!(error instanceof SlackError)) throw error;
      const body: Record<string, unknown> = { ok: false, error: error.error, ...error.extra };
      if (error.messages.length > 0) body.response_metadata = { messages: error.messages };
      return { status: 200, body };
    }
  }

  private authenticate(method: string, token: string | undefined) {
    if (!token) throw new SlackError("not_authed");
    if (method === "apps.connections.open") {
      if (token === this.options.botToken) throw new SlackError("not_allowed_token_type");
      if (token !== this.options.appToken) throw new SlackError("invalid_auth");
      return;
    }
    if (token === this.options.appToken) throw new SlackError("not_allowed_token_type");
    if (token !== this.options.botToken) throw new SlackError("invalid_auth");
  }

  private readonly handlers: Record<string, (args: Args) => Record<string, unknown>> = {
    "auth.test": () => ({
      url: `https://${this.ws.teamDomain}.slack.com/`,
      team: this.ws.teamDomain,
      user: this.ws.users.get(this.ws.botUserId)?.name,
      team_id: this.ws.teamId,
      user_id: this.ws.botUserId,
      bot_id: this.ws.botId,
      is_enterprise_install: false,
    }),

    "apps.connections.open": () => {
      if (!this.options.socketModeUrl) throw new SlackError("not_allowed_token_type");
      return { url: this.options.socketModeUrl() };
    },

    "chat.postMessage": (args) => {
      const channel = this.postableChannel(required(args, "channel"));
      const { text, blocks } = this.checkedMessage("chat.postMessage", args);
      // chat.postMessage has no thread error: a reply to a message that does not exist lands in the channel.
      const parent = optional(args, "thread_ts");
      const threadTs = parent && this.ws.message(channel.id, parent) ? parent : undefined;
      const message: Message = {
        channel: channel.id,
        ts: this.ws.ts(),
        threadTs,
        user: this.ws.botUserId,
        botId: this.ws.botId,
        text,
        blocks,
      };
      this.ws.messages.push(message);
      return { channel: channel.id, ts: message.ts, message: this.messageJson(message) };
    },

    "chat.update": (args) => {
      const channel = this.visibleChannel(required(args, "channel"));
      const message = this.ws.message(channel.id, required(args, "ts"));
      if (!message) throw new SlackError("message_not_found");
      if (message.user !== this.ws.botUserId) throw new SlackError("cant_update_message");
      const { text, blocks } = this.checkedMessage("chat.update", args);
      message.text = text;
      message.blocks = blocks;
      message.edited = { user: this.ws.botUserId, ts: this.ws.ts() };
      return { channel: channel.id, ts: message.ts, text, message: this.messageJson(message) };
    },

    "chat.postEphemeral": (args) => {
      const channel = this.postableChannel(required(args, "channel"));
      const user = required(args, "user");
      if (!this.ws.users.has(user)) throw new SlackError("user_not_found");
      if (!channel.members.has(user)) throw new SlackError("user_not_in_channel");
      const { text, blocks } = this.checkedMessage("chat.postEphemeral", args);
      const ts = this.ws.ts();
      this.ws.ephemerals.push({ channel: channel.id, user, ts, threadTs: optional(args, "thread_ts"), text, blocks });
      return { message_ts: ts };
    },

    "chat.getPermalink": (args) => {
      const channel = this.visibleChannel(required(args, "channel"));
      const ts = required(args, "message_ts");
      if (!this.ws.message(channel.id, ts)) throw new SlackError("message_not_found");
      return { channel: channel.id, permalink: `https://${this.ws.teamDomain}.slack.com/archives/${channel.id}/p${ts.replace(".", "")}` };
    },

    "views.open": (args) => {
      const trigger = this.exchangeTrigger(required(args, "trigger_id"));
      const view = this.checkedView(args);
      if (view.type !== "modal") throw invalidArguments(["views.open opens modals only [json-pointer:/view/type]"]);
      return { view: this.viewJson(this.storeView(trigger.user, view, null)) };
    },

    "views.push": (args) => {
      const trigger = this.exchangeTrigger(required(args, "trigger_id"));
      const view = this.checkedView(args);
      if (view.type !== "modal") throw invalidArguments(["views.push pushes modals only [json-pointer:/view/type]"]);
      // A push goes onto the modal the interaction came from. A click in a message or on the Home
      // tab has a trigger but no modal stack: Slack answers not_found (the view to push onto), and
      // the trigger is spent as with any other refused view.
      const top = trigger.viewId ? this.openView(trigger.viewId) : undefined;
      if (!top || top.type !== "modal") throw new SlackError("not_found");
      if (this.stackDepth(top) >= 3) throw new SlackError("push_limit_reached");
      return { view: this.viewJson(this.storeView(trigger.user, view, top)) };
    },

    "views.update": (args) => {
      const viewId = optional(args, "view_id");
      const externalId = optional(args, "external_id");
      if (!viewId && !externalId) throw invalidArguments(["missing required field: view_id or external_id"]);
      const open = viewId
        ? this.openView(viewId)
        : [...this.ws.views.values()].find((v) => !v.closed && v.view.external_id === externalId);
      if (!open) throw new SlackError("not_found");
      const hash = optional(args, "hash");
      if (hash !== undefined && hash !== open.hash) throw new SlackError("hash_conflict");
      const view = this.checkedView(args);
      if (view.type !== open.type) throw invalidArguments([`a ${open.type} cannot become a ${String(view.type)} [json-pointer:/view/type]`]);
      open.view = view;
      open.hash = this.ws.newViewHash();
      open.values = keepValues(open.values, view);
      return { view: this.viewJson(open) };
    },

    "views.publish": (args) => {
      const user = required(args, "user_id");
      if (!this.ws.users.has(user)) throw new SlackError("user_not_found");
      const view = this.checkedView(args);
      if (view.type !== "home") throw invalidArguments(["views.publish publishes Home tabs only [json-pointer:/view/type]"]);
      const homeId = this.ws.homes.get(user);
      const existing = homeId ? this.ws.views.get(homeId) : undefined;
      const hash = optional(args, "hash");
      if (existing && hash !== undefined && hash !== existing.hash) throw new SlackError("hash_conflict");
      if (existing) {
        existing.view = view;
        existing.hash = this.ws.newViewHash();
        return { view: this.viewJson(existing) };
      }
      const stored = this.storeView(user, view, null);
      this.ws.homes.set(user, stored.id);
      return { view: this.viewJson(stored) };
    },

    "users.info": (args) => {
      const user = this.ws.users.get(required(args, "user"));
      if (!user) throw new SlackError("user_not_found");
      const profile: Record<string, unknown> = { real_name: user.realName, display_name: user.name };
      if (user.email && this.ws.scopes.has("users:read.email")) profile.email = user.email;
      return {
        user: { id: user.id, team_id: this.ws.teamId, name: user.name, real_name: user.realName, tz: user.tz, is_bot: user.isBot === true, deleted: false, profile },
      };
    },

    "usergroups.users.list": (args) => {
      if (!this.ws.scopes.has("usergroups:read")) throw new SlackError("missing_scope", [], { needed: "usergroups:read" });
      const members = this.ws.userGroups.get(required(args, "usergroup"));
      if (!members) throw new SlackError("no_such_subteam");
      return { users: [...members] };
    },

    "conversations.open": (args) => {
      const users = optional(args, "users")?.split(",").map((u) => u.trim()) ?? [];
      if (users.length !== 1) throw invalidArguments(["conversations.open: one user in `users` (group DMs are not supported here)"]);
      if (!this.ws.users.has(users[0]!)) throw new SlackError("user_not_found");
      return { channel: { id: this.ws.imWith(users[0]!).id } };
    },
  };

  /** Where the bot may post: channels it is in, public ones with chat:write.public, and people (their DM). */
  private postableChannel(id: string): Channel {
    if (/^[UW]/.test(id)) {
      if (!this.ws.users.has(id)) throw new SlackError("channel_not_found");
      return this.ws.imWith(id);
    }
    const channel = this.visibleChannel(id);
    if (!channel.members.has(this.ws.botUserId) && !(this.ws.scopes.has("chat:write.public") && !channel.isPrivate)) {
      throw new SlackError("not_in_channel");
    }
    return channel;
  }

  /** A private channel the bot is not in does not exist as far as the bot can tell. */
  private visibleChannel(id: string): Channel {
    const channel = this.ws.channels.get(id);
    if (!channel) throw new SlackError("channel_not_found");
    if (channel.isPrivate && !channel.members.has(this.ws.botUserId)) {
      throw new SlackError(channel.isIm ? "channel_not_found" : "not_in_channel");
    }
    return channel;
  }

  private checkedMessage(method: string, args: Args): { text: string; blocks: unknown[] } {
    const blocks = args.blocks === undefined ? undefined : fromJsonText(args.blocks);
    const { problems, warnings } = checkMessage({ text: args.text, blocks });
    if (problems.some((p) => p.pointer === "/text")) throw new SlackError("msg_too_long", asErrorMessages(describe(problems)));
    if (problems.some((p) => p.pointer === "")) throw new SlackError("no_text");
    if (problems.length > 0) throw invalidBlocks(problems);
    for (const warning of warnings) this.options.warn?.(method, warning);
    return { text: typeof args.text === "string" ? args.text : "", blocks: Array.isArray(blocks) ? blocks : [] };
  }

  private checkedView(args: Args): Record<string, unknown> {
    const view = fromJsonText(args.view);
    if (view === undefined) throw invalidArguments(["missing required field: view"]);
    const problems = checkView(view);
    if (problems.length > 0) throw invalidArguments(describe(problems));
    return view as Record<string, unknown>;
  }

  private exchangeTrigger(id: string) {
    const trigger = this.ws.triggers.get(id);
    if (!trigger) throw new SlackError("invalid_trigger_id");
    if (trigger.exchanged) throw new SlackError("exchanged_trigger_id");
    if (this.ws.now() - trigger.issuedAt > 3000) throw new SlackError("expired_trigger_id");
    trigger.exchanged = true;
    return trigger;
  }

  private openView(id: string): OpenView | undefined {
    const view = this.ws.views.get(id);
    return view && !view.closed ? view : undefined;
  }

  private stackDepth(view: OpenView): number {
    let depth = 1;
    let current = view;
    while (current.previousViewId) {
      const previous = this.ws.views.get(current.previousViewId);
      if (!previous) break;
      depth += 1;
      current = previous;
    }
    return depth;
  }

  private storeView(user: string, view: Record<string, unknown>, below: OpenView | null): OpenView {
    const id = `V${this.ws.uniqueSuffix()}`;
    const open: OpenView = {
      id,
      hash: this.ws.newViewHash(),
      type: String(view.type),
      user,
      view,
      values: keepValues({}, view),
      rootViewId: below?.rootViewId ?? id,
      previousViewId: below?.id ?? null,
      closed: false,
    };
    this.ws.views.set(id, open);
    return open;
  }

  viewJson(open: OpenView): Record<string, unknown> {
    const v = open.view;
    return {
      id: open.id,
      team_id: this.ws.teamId,
      type: open.type,
      blocks: v.blocks ?? [],
      private_metadata: v.private_metadata ?? "",
      callback_id: v.callback_id ?? "",
      state: { values: open.values },
      hash: open.hash,
      title: v.title,
      clear_on_close: v.clear_on_close === true,
      notify_on_close: v.notify_on_close === true,
      close: v.close ?? null,
      submit: v.submit ?? null,
      previous_view_id: open.previousViewId,
      root_view_id: open.rootViewId,
      app_id: this.ws.appId,
      external_id: v.external_id ?? "",
      app_installed_team_id: this.ws.teamId,
      bot_id: this.ws.botId,
    };
  }

  messageJson(message: Message): Record<string, unknown> {
    return {
      type: "message",
      user: message.user,
      bot_id: message.botId,
      text: message.text,
      blocks: message.blocks,
      ts: message.ts,
      ...(message.threadTs ? { thread_ts: message.threadTs } : {}),
      ...(message.edited ? { edited: message.edited } : {}),
      team: this.ws.teamId,
    };
  }
}

/**
 * What a person typed survives a views.update for the inputs whose block_id and action_id stay, as in
 * Slack; initial values fill the rest.
 */
function keepValues(previous: OpenView["values"], view: Record<string, unknown>): OpenView["values"] {
  const values: OpenView["values"] = {};
  for (const block of (view.blocks as Array<Record<string, unknown>>) ?? []) {
    if (block.type !== "input" || typeof block.block_id !== "string") continue;
    const element = block.element as Record<string, unknown> | undefined;
    const actionId = element?.action_id;
    if (!element || typeof actionId !== "string") continue;
    values[block.block_id] = { [actionId]: previous[block.block_id]?.[actionId] ?? initialValue(element) };
  }
  return values;
}

export function initialValue(element: Record<string, unknown>): Record<string, unknown> {
  const type = element.type;
  switch (type) {
    case "plain_text_input":
    case "email_text_input":
    case "url_text_input":
    case "number_input":
      return { type, value: element.initial_value ?? null };
    case "radio_buttons":
    case "static_select":
    case "external_select":
      return { type, selected_option: element.initial_option ?? null };
    case "checkboxes":
    case "multi_static_select":
    case "multi_external_select":
      return { type, selected_options: element.initial_options ?? [] };
    case "datepicker":
      return { type, selected_date: element.initial_date ?? null };
    case "timepicker":
      return { type, selected_time: element.initial_time ?? null };
    case "datetimepicker":
      return { type, selected_date_time: element.initial_date_time ?? null };
    case "users_select":
      return { type, selected_user: element.initial_user ?? null };
    case "conversations_select":
      return { type, selected_conversation: element.initial_conversation ?? null };
    case "channels_select":
      return { type, selected_channel: element.initial_channel ?? null };
    default:
      return { type };
  }
}
