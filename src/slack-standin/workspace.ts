import { randomBytes } from "node:crypto";

/**
 * The state of one Slack workspace as the stand-in keeps it: people, user groups, channels with their
 * messages and threads, ephemeral messages, open views and the trigger ids handed out with
 * interactions. Written from Slack's documentation; nothing here knows sendgate.
 */

export interface WorkspaceUser {
  id: string;
  name: string;
  realName: string;
  email?: string;
  /** IANA time zone, e.g. "Europe/Paris": dates in mrkdwn are shown in it. */
  tz: string;
  isBot?: boolean;
}

export interface Channel {
  id: string;
  name: string;
  isPrivate: boolean;
  /** A direct message channel with `imUser`. */
  isIm: boolean;
  imUser?: string;
  members: Set<string>;
}

export interface Message {
  channel: string;
  ts: string;
  threadTs?: string;
  /** Who posted it: the bot user for the app's messages. */
  user: string;
  botId?: string;
  text: string;
  blocks: unknown[];
  edited?: { user: string; ts: string };
}

export interface EphemeralMessage {
  channel: string;
  /** The only person who sees it. */
  user: string;
  ts: string;
  threadTs?: string;
  text: string;
  blocks: unknown[];
  /** Where the app may replace or delete it (response_url), when it answered an interaction. */
  responseUrlId?: string;
}

export interface OpenView {
  id: string;
  hash: string;
  /** modal or home */
  type: string;
  /** Whose screen it is on. */
  user: string;
  /** The view as the app last sent it. */
  view: Record<string, unknown>;
  /** What the person has typed and picked, by block_id and action_id, as Slack reports it in `state.values`. */
  values: Record<string, Record<string, Record<string, unknown>>>;
  rootViewId: string;
  previousViewId: string | null;
  closed: boolean;
}

export interface Trigger {
  id: string;
  user: string;
  issuedAt: number;
  exchanged: boolean;
  /** The view the interaction came from (a modal or the Home tab): views.push stacks on it when it is a modal. */
  viewId?: string;
}

export interface WorkspaceSeed {
  teamId?: string;
  teamDomain?: string;
  botUserId?: string;
  botId?: string;
  appId?: string;
  users?: WorkspaceUser[];
  userGroups?: Record<string, string[]>;
  channels?: Array<{ id: string; name: string; isPrivate?: boolean; members?: string[] }>;
  /** Bot scopes granted at install, as in the app manifest. */
  scopes?: string[];
}

/** Slack's timestamps are "seconds.microseconds" and unique per channel; a counter keeps them unique. */
function createTsSource(now: () => number) {
  let last = 0;
  return () => {
    const micros = Math.max(now() * 1000, last + 1);
    last = micros;
    const seconds = Math.floor(micros / 1_000_000);
    return `${seconds}.${String(micros % 1_000_000).padStart(6, "0")}`;
  };
}

export class Workspace {
  readonly teamId: string;
  readonly teamDomain: string;
  readonly botUserId: string;
  readonly botId: string;
  readonly appId: string;
  readonly scopes: Set<string>;
  readonly users = new Map<string, WorkspaceUser>();
  readonly userGroups = new Map<string, string[]>();
  readonly channels = new Map<string, Channel>();
  readonly messages: Message[] = [];
  readonly ephemerals: EphemeralMessage[] = [];
  readonly views = new Map<string, OpenView>();
  readonly triggers = new Map<string, Trigger>();
  /** The Home tab each person sees, by user id. */
  readonly homes = new Map<string, string>();
  readonly now: () => number;
  private readonly nextTs: () => string;
  private counter = 0;

  constructor(seed: WorkspaceSeed = {}, now: () => number = Date.now) {
    this.now = now;
    this.nextTs = createTsSource(now);
    this.teamId = seed.teamId ?? "T0STANDIN";
    this.teamDomain = seed.teamDomain ?? "standin";
    this.botUserId = seed.botUserId ?? "U0BOTUSER";
    this.botId = seed.botId ?? "B0BOT";
    this.appId = seed.appId ?? "A0STANDIN";
    this.scopes = new Set(seed.scopes ?? ["chat:write", "chat:write.public", "commands", "im:write", "usergroups:read", "users:read", "users:read.email"]);
    this.addUser({ id: this.botUserId, name: "sendgate", realName: "sendgate", tz: "UTC", isBot: true });
    for (const user of seed.users ?? []) this.addUser(user);
    for (const [group, members] of Object.entries(seed.userGroups ?? {})) this.userGroups.set(group, [...members]);
    for (const channel of seed.channels ?? []) this.addChannel(channel);
  }

  addUser(user: WorkspaceUser) {
    this.users.set(user.id, user);
  }

  addChannel(channel: { id: string; name: string; isPrivate?: boolean; members?: string[] }) {
    this.channels.set(channel.id, {
      id: channel.id,
      name: channel.name,
      isPrivate: channel.isPrivate ?? false,
      isIm: false,
      members: new Set(channel.members ?? []),
    });
  }

  /** The direct message channel between the bot and `user`, opened on first use as Slack does. */
  imWith(user: string): Channel {
    for (const channel of this.channels.values()) if (channel.isIm && channel.imUser === user) return channel;
    const channel: Channel = { id: `D${this.uniqueSuffix()}`, name: user, isPrivate: true, isIm: true, imUser: user, members: new Set([user, this.botUserId]) };
    this.channels.set(channel.id, channel);
    return channel;
  }

  ts(): string {
    return this.nextTs();
  }

  uniqueSuffix(): string {
    this.counter += 1;
    return `${String(this.counter).padStart(4, "0")}${randomBytes(3).toString("hex").toUpperCase()}`;
  }

  /** A trigger id in Slack's shape ("digits.digits.hex"), good once and for three seconds. */
  issueTrigger(user: string, viewId?: string): string {
    const id = `${Math.floor(this.now() / 1000)}.${Math.floor(Math.random() * 1e10)}.${randomBytes(16).toString("hex")}`;
    this.triggers.set(id, { id, user, issuedAt: this.now(), exchanged: false, viewId });
    return id;
  }

  newViewHash(): string {
    return `${Math.floor(this.now() / 1000)}.${randomBytes(6).toString("hex")}`;
  }

  message(channel: string, ts: string): Message | undefined {
    return this.messages.find((m) => m.channel === channel && m.ts === ts);
  }

  /** Top-level messages of a channel, oldest first. */
  history(channel: string): Message[] {
    return this.messages.filter((m) => m.channel === channel && (!m.threadTs || m.threadTs === m.ts));
  }

  /** The replies in a message's thread, oldest first. */
  replies(channel: string, threadTs: string): Message[] {
    return this.messages.filter((m) => m.channel === channel && m.threadTs === threadTs && m.ts !== threadTs);
  }

  ephemeralsFor(user: string, channel?: string): EphemeralMessage[] {
    return this.ephemerals.filter((m) => m.user === user && (channel === undefined || m.channel === channel));
  }

  /** The modal on top of the person's stack, if one is open. */
  topModal(user: string): OpenView | undefined {
    const open = [...this.views.values()].filter((v) => v.user === user && v.type === "modal" && !v.closed);
    return open.at(-1);
  }
}
