import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config.js";
import { previewLinkKey, previewLinkUrl, signPreviewLink, verifyPreviewLink } from "../../src/http/preview-links.js";
import { testConfig } from "../support/http-harness.js";

const KEY = Buffer.alloc(32, 7);
const NOW = new Date("2026-11-27T12:00:00Z");
const IN_AN_HOUR = new Date(NOW.getTime() + 3600_000);
const TARGET = { sendingId: "snd_0a1b2c3d4e", recipientId: 4242 };

const link = (overrides: Partial<typeof TARGET & { expiresAt: Date }> = {}, key = KEY) =>
  signPreviewLink({ ...TARGET, expiresAt: IN_AN_HOUR, ...overrides }, key);

/** The link with one part of it replaced. */
function edit(path: string, change: (url: URL) => void): string {
  const url = new URL(path, "http://x");
  change(url);
  return url.pathname + url.search;
}

describe("signed preview links", () => {
  it("name the sending, recipient and expiry, and verify", () => {
    const path = link();
    expect(path).toMatch(/^\/preview\/snd_0a1b2c3d4e\/4242\?exp=\d+&sig=[A-Za-z0-9_-]{43}$/);
    expect(verifyPreviewLink(path, KEY, NOW)).toEqual(TARGET);
    expect(verifyPreviewLink(new URL(path, "https://sendgate.example.com"), KEY, NOW)).toEqual(TARGET);
  });

  it("refuse a link whose sending was changed", () => {
    const other = link({ sendingId: "snd_zzzzzzzzzz" });
    const forged = edit(link(), (u) => (u.pathname = "/preview/snd_zzzzzzzzzz/4242"));
    expect(verifyPreviewLink(other, KEY, NOW)).not.toBeNull(); // the genuine link for that sending works
    expect(verifyPreviewLink(forged, KEY, NOW)).toBeNull();
  });

  it("refuse a link whose recipient was changed", () => {
    expect(verifyPreviewLink(edit(link(), (u) => (u.pathname = "/preview/snd_0a1b2c3d4e/4243")), KEY, NOW)).toBeNull();
  });

  it("refuse a link whose expiry was moved", () => {
    const later = String(Math.floor(IN_AN_HOUR.getTime() / 1000) + 86_400);
    expect(verifyPreviewLink(edit(link(), (u) => u.searchParams.set("exp", later)), KEY, NOW)).toBeNull();
  });

  it("refuse a link whose signature was changed, shortened or dropped", () => {
    const path = link();
    const sig = new URL(path, "http://x").searchParams.get("sig")!;
    const flipped = (sig[0] === "A" ? "B" : "A") + sig.slice(1);
    expect(verifyPreviewLink(edit(path, (u) => u.searchParams.set("sig", flipped)), KEY, NOW)).toBeNull();
    expect(verifyPreviewLink(edit(path, (u) => u.searchParams.set("sig", sig.slice(0, 42))), KEY, NOW)).toBeNull();
    expect(verifyPreviewLink(edit(path, (u) => u.searchParams.delete("sig")), KEY, NOW)).toBeNull();
    expect(verifyPreviewLink(edit(path, (u) => u.searchParams.delete("exp")), KEY, NOW)).toBeNull();
  });

  it("refuse a link signed with another key", () => {
    expect(verifyPreviewLink(link({}, Buffer.alloc(32, 8)), KEY, NOW)).toBeNull();
  });

  it("refuse an expired link, from the second of its expiry", () => {
    const expiresAt = new Date(NOW.getTime() + 60_000);
    const path = link({ expiresAt });
    expect(verifyPreviewLink(path, KEY, new Date(expiresAt.getTime() - 1000))).toEqual(TARGET);
    expect(verifyPreviewLink(path, KEY, expiresAt)).toBeNull();
    expect(verifyPreviewLink(path, KEY, new Date(expiresAt.getTime() + 3600_000))).toBeNull();
  });

  it("refuse what is not a preview link", () => {
    for (const path of ["/preview/snd_x/0?exp=1&sig=x", "/preview/snd_x?exp=1", "/api/sendings/x", "/preview/%E0%A4%A/1?exp=1&sig=" + "a".repeat(43)]) {
      expect(verifyPreviewLink(path, KEY, NOW)).toBeNull();
    }
  });

  it("join PUBLIC_URL, with or without a path of its own", () => {
    expect(previewLinkUrl("https://sendgate.example.com/", { ...TARGET, expiresAt: IN_AN_HOUR }, KEY)).toBe(`https://sendgate.example.com${link()}`);
    expect(previewLinkUrl("https://example.com/sendgate", { ...TARGET, expiresAt: IN_AN_HOUR }, KEY)).toBe(`https://example.com/sendgate${link()}`);
  });
});

describe("previewLinkKey", () => {
  it("is derived from the Slack secret when PREVIEW_LINK_SECRET is unset, the same on every start", () => {
    const http = { SLACK_APP_TOKEN: "", SLACK_SIGNING_SECRET: "signing-secret-1" };
    const key = previewLinkKey(testConfig(http));
    expect(key).toHaveLength(32);
    expect(previewLinkKey(testConfig(http))).toEqual(key);
    expect(key.toString("utf8")).not.toContain("signing-secret-1");
    expect(previewLinkKey(testConfig({ ...http, SLACK_SIGNING_SECRET: "signing-secret-2" }))).not.toEqual(key);
    // Socket Mode without a signing secret: the bot token.
    expect(previewLinkKey(testConfig({ SLACK_BOT_TOKEN: "xoxb-one" }))).not.toEqual(previewLinkKey(testConfig({ SLACK_BOT_TOKEN: "xoxb-two" })));
  });

  it("comes from PREVIEW_LINK_SECRET when set", () => {
    const secret = "a".repeat(64);
    const key = previewLinkKey(testConfig({ PREVIEW_LINK_SECRET: secret }));
    expect(previewLinkKey(testConfig({ PREVIEW_LINK_SECRET: secret, SLACK_BOT_TOKEN: "xoxb-other" }))).toEqual(key);
    expect(key).not.toEqual(previewLinkKey(testConfig()));
  });

  it("refuses a short PREVIEW_LINK_SECRET, and reads the lifetime and reminder settings", () => {
    expect(() => testConfig({ PREVIEW_LINK_SECRET: "short" })).toThrow(ConfigError);
    expect(testConfig().preview.linkTtlMinutes).toBe(60);
    expect(testConfig({ PREVIEW_LINK_TTL_MINUTES: "15" }).preview.linkTtlMinutes).toBe(15);
    expect(testConfig().reminders.beforeMinutes).toBe(120);
    expect(() => testConfig({ REMIND_BEFORE_MINUTES: "0" })).toThrow(ConfigError);
  });
});
