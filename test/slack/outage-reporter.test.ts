import pino from "pino";
import { describe, expect, it } from "vitest";
import { boltLogger } from "../../src/slack/app.js";
import { createOutageReporter, isSlackUnreachable } from "../../src/slack/outage-reporter.js";

/** What @slack/web-api throws when the connection is refused. */
const refused = Object.assign(new Error("A request error occurred: connect ECONNREFUSED 127.0.0.1:9"), {
  code: "slack_webapi_request_error",
  original: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
});

function recordingLog() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { log, lines };
}

describe("Slack outage reporting", () => {
  it("tells an outage once, then once a minute with a count and the cause, then its end", () => {
    const { log, lines } = recordingLog();
    let now = 0;
    const reporter = createOutageReporter(log, { now: () => now });
    for (let second = 0; second < 150; second += 1) {
      now = second * 1000;
      reporter.failed(refused);
      reporter.failed(refused);
    }
    reporter.succeeded();
    expect(lines.map((line) => [line.level, line.msg, line.failures ?? null, line.cause ?? null])).toEqual([
      [40, "Slack is unreachable; decisions and deliveries go on, and Slack is told when it answers again", null, "ECONNREFUSED"],
      [40, "Slack is still unreachable", 120, "ECONNREFUSED"],
      [40, "Slack is still unreachable", 120, "ECONNREFUSED"],
      [30, "Slack answers again", 300, null],
    ]);
    // No stack traces: an outage of an hour is about sixty short lines.
    expect(JSON.stringify(lines)).not.toContain("stack");
  });

  it("tells a refusal by Slack apart from Slack being unreachable", () => {
    expect(isSlackUnreachable(refused)).toBe(true);
    expect(isSlackUnreachable(Object.assign(new Error("HTTP 503"), { code: "slack_webapi_http_error", statusCode: 503 }))).toBe(true);
    expect(isSlackUnreachable(Object.assign(new Error("invalid_blocks"), { code: "slack_webapi_platform_error" }))).toBe(false);
    expect(isSlackUnreachable(new Error("something else"))).toBe(false);
  });

  it("keeps the Slack client's line per failed attempt out of the warnings (the reporter sums them up)", () => {
    const { log, lines } = recordingLog();
    log.level = "debug";
    const bolt = boltLogger(log);
    bolt.warn("http request failed", "connect ECONNREFUSED 127.0.0.1:9");
    bolt.warn("chat.postMessage is deprecated");
    expect(lines.map((line) => [line.level, line.msg])).toEqual([
      [20, "http request failed connect ECONNREFUSED 127.0.0.1:9"],
      [40, "chat.postMessage is deprecated"],
    ]);
  });
});
