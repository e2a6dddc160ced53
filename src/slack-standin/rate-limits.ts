/**
 * Slack's Web API rate limits (https://api.slack.com/apis/rate-limits): each method belongs to a tier
 * that allows a number of calls per minute per workspace, with bursts; chat.postMessage allows about
 * one message a second per channel, also with short bursts. Over the limit Slack answers HTTP 429
 * with `Retry-After` in seconds. Modelled as token buckets: a full bucket is the burst.
 */

export const Tier = { 1: 1, 2: 20, 3: 50, 4: 100 } as const;

/** Calls per minute, by method. */
const methodTiers: Record<string, number> = {
  "apps.connections.open": Tier[1],
  "auth.test": Tier[4],
  "chat.getPermalink": Tier[4],
  "chat.postEphemeral": Tier[4],
  "chat.update": Tier[3],
  "conversations.open": Tier[3],
  "usergroups.users.list": Tier[2],
  "users.info": Tier[4],
  "views.open": Tier[4],
  "views.publish": Tier[4],
  "views.push": Tier[4],
  "views.update": Tier[4],
};

/** chat.postMessage: one a second per channel, with a short burst. */
export const POST_MESSAGE_PER_CHANNEL = { perSecond: 1, burst: 10 } as const;

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export interface RateLimiterOptions {
  now?: () => number;
  /** Multiplies every allowance: tests that need more headroom say so explicitly. 1 is Slack's. */
  scale?: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly now: () => number;
  private readonly scale: number;

  constructor(options: RateLimiterOptions = {}) {
    this.now = options.now ?? Date.now;
    this.scale = options.scale ?? 1;
  }

  /** null when the call may go ahead (and is counted), otherwise the seconds to wait. */
  take(method: string, channel?: string): number | null {
    if (method === "chat.postMessage") {
      const { perSecond, burst } = POST_MESSAGE_PER_CHANNEL;
      return this.takeFrom(`${method}:${channel ?? ""}`, burst * this.scale, perSecond * this.scale);
    }
    const perMinute = methodTiers[method];
    if (perMinute === undefined) return null;
    return this.takeFrom(method, perMinute * this.scale, (perMinute * this.scale) / 60);
  }

  private takeFrom(key: string, capacity: number, perSecond: number): number | null {
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: capacity, updatedAt: now };
    bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.updatedAt) / 1000) * perSecond);
    bucket.updatedAt = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return null;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / perSecond));
  }
}
