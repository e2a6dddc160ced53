import nock from "nock";

export const SLACK_ORIGIN = "https://slack.test";
export const SLACK_API_URL = `${SLACK_ORIGIN}/api/`;
export const RESPONSE_URL_ORIGIN = "https://hooks.slack.test";

export interface SlackCall {
  method: string;
  body: Record<string, unknown>;
}

type Reply = { status?: number; body: Record<string, unknown>; headers?: Record<string, string>; delayMs?: number };

/**
 * Slack's Web API, faked at the network boundary with nock. Every call is recorded with its decoded
 * arguments so tests can assert exactly what was sent; methods answer with realistic defaults.
 */
export class FakeSlackApi {
  readonly calls: SlackCall[] = [];
  readonly responses: { url: string; body: Record<string, unknown> }[] = [];
  private readonly queued = new Map<string, Reply[]>();
  private groupMembers = new Map<string, string[]>();
  private tsCounter = 0;
  /** How long every answer takes unless a queued reply says otherwise: a slow Slack. */
  latencyMs = 0;

  constructor() {
    nock.disableNetConnect();
    nock.enableNetConnect(/127\.0\.0\.1|localhost/);
    nock(SLACK_ORIGIN)
      .persist()
      .post(/^\/api\/[\w.]+$/)
      .reply((uri, requestBody, callback) => {
        const method = uri.replace(/^\/api\//, "");
        const body = decode(requestBody);
        this.calls.push({ method, body });
        const next = this.queued.get(method)?.shift();
        const reply: [number, Record<string, unknown>, Record<string, string>] = next
          ? [next.status ?? 200, next.body, next.headers ?? {}]
          : [200, this.defaultReply(method, body), {}];
        const delay = next?.delayMs ?? this.latencyMs;
        if (delay > 0) setTimeout(() => callback(null, reply), delay);
        else callback(null, reply);
      });
    nock(RESPONSE_URL_ORIGIN)
      .persist()
      .post(/.*/)
      .reply((uri, requestBody) => {
        this.responses.push({ url: uri, body: decode(requestBody) });
        return [200, "ok"];
      });
  }

  /** The next call of `method` gets this answer instead of the default. */
  replyOnce(method: string, body: Record<string, unknown>, status = 200, extra: { headers?: Record<string, string>; delayMs?: number } = {}) {
    this.queued.set(method, [...(this.queued.get(method) ?? []), { status, body, ...extra }]);
  }

  setGroupMembers(group: string, users: string[]) {
    this.groupMembers.set(group, users);
  }

  called(method: string): SlackCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  /** Blocks arrive JSON-encoded in form posts. */
  blocksOf(call: SlackCall): Array<Record<string, unknown>> {
    const blocks = call.body.blocks;
    return typeof blocks === "string" ? JSON.parse(blocks) : ((blocks as Array<Record<string, unknown>>) ?? []);
  }

  viewOf(call: SlackCall): Record<string, unknown> {
    const view = call.body.view;
    return typeof view === "string" ? JSON.parse(view) : (view as Record<string, unknown>);
  }

  reset() {
    this.calls.length = 0;
    this.responses.length = 0;
    this.queued.clear();
  }

  close() {
    nock.cleanAll();
    nock.enableNetConnect();
  }

  private defaultReply(method: string, body: Record<string, unknown>): Record<string, unknown> {
    switch (method) {
      case "auth.test":
        return { ok: true, user_id: "UBOT", bot_id: "BBOT", team_id: "T0TEAM" };
      case "chat.postMessage":
        this.tsCounter += 1;
        return { ok: true, channel: body.channel, ts: `1700000000.${String(this.tsCounter).padStart(6, "0")}` };
      case "chat.update":
        return { ok: true, channel: body.channel, ts: body.ts };
      case "chat.postEphemeral":
        return { ok: true, message_ts: "1700000000.999999" };
      case "views.open":
      case "views.update":
      case "views.push":
        return { ok: true, view: { id: "V0VIEW" } };
      case "users.info":
        return { ok: true, user: { id: body.user, profile: { email: `${String(body.user).toLowerCase()}@acme.test` } } };
      case "usergroups.users.list":
        return { ok: true, users: this.groupMembers.get(String(body.usergroup)) ?? [] };
      default:
        return { ok: false, error: `unexpected_method_${method}` };
    }
  }
}

function decode(requestBody: unknown): Record<string, unknown> {
  if (typeof requestBody !== "string") return (requestBody as Record<string, unknown>) ?? {};
  try {
    return JSON.parse(requestBody) as Record<string, unknown>;
  } catch {
    return Object.fromEntries(new URLSearchParams(requestBody));
  }
}
