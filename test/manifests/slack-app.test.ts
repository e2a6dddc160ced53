// The Slack app manifest, checked against Slack's published JSON Schema for manifests (the file beside
// this test is schemas/manifest.schema.1.0.0.json of github.com/slackapi/manifest-schema, MIT licensed,
// at commit c50cfa8) and against what sendgate's listeners actually handle.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = any;

const manifest: Doc = parse(readFileSync("manifests/slack-app.yaml", "utf8"));
const schema = JSON.parse(readFileSync(new URL("./slack-manifest.schema.1.0.0.json", import.meta.url), "utf8")) as object;
// Slack's schema carries keywords of its own (descriptions for editors); they do not constrain anything.
const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);

/** The events sendgate's listeners subscribe to: every app.event("…") under src/slack/listeners. */
function listenedEvents(dir = "src/slack/listeners"): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return listenedEvents(path);
    return [...readFileSync(path, "utf8").matchAll(/app\.event\(\s*"([a-z_]+)"/g)].map((m) => m[1]!);
  });
}

describe("the Slack app manifest", () => {
  it("is valid against Slack's manifest schema, which does refuse a malformed one", () => {
    expect(validate(manifest), JSON.stringify(validate.errors, null, 2)).toBe(true);
    const broken = { ...manifest, features: { ...manifest.features, app_home: { ...manifest.features.app_home, home_tab: true } } };
    expect(validate(broken)).toBe(false);
  });

  it("enables the Home tab and subscribes to exactly the bot events sendgate listens to", () => {
    expect(manifest.features.app_home).toMatchObject({ home_tab_enabled: true, messages_tab_enabled: true, messages_tab_read_only_enabled: true });
    const listened = listenedEvents();
    expect(listened).toContain("app_home_opened");
    expect([...manifest.settings.event_subscriptions.bot_events].sort()).toEqual([...new Set(listened)].sort());
  });

  it("sends events, interactions and the slash command to the one endpoint sendgate serves", () => {
    const urls = [
      manifest.settings.event_subscriptions.request_url,
      manifest.settings.interactivity.request_url,
      ...manifest.features.slash_commands.map((command: Doc) => command.url),
    ];
    expect(new Set(urls)).toEqual(new Set(["https://sendgate.example.com/slack/events"]));
  });
});
