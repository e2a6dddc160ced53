import type { Logger } from "pino";

/** The codes of @slack/web-api errors that mean Slack did not answer usefully, rather than refused what was sent. */
const UNREACHABLE = new Set(["slack_webapi_request_error", "slack_webapi_http_error", "slack_webapi_rate_limited_error"]);

export const isSlackUnreachable = (error: unknown) => UNREACHABLE.has((error as { code?: string }).code ?? "");

/** The most telling code of an unreachable-Slack error: ECONNREFUSED, HTTP 503, ratelimited… */
function causeOf(error: unknown): string {
  const e = error as { code?: string; statusCode?: number; original?: { code?: string; message?: string } };
  if (e.original?.code) return e.original.code;
  if (e.statusCode) return `HTTP ${e.statusCode}`;
  if (e.code === "slack_webapi_rate_limited_error") return "ratelimited";
  return e.original?.message ?? e.code ?? "unknown";
}

export interface OutageReporter {
  failed(error: unknown): void;
  succeeded(): void;
}

/**
 * While Slack is unreachable every update fails, several a second during a delivery. One warning
 * when it starts, then one a minute with the count and the last cause, and one line when Slack
 * answers again: the log stays readable through an outage, and nothing is hidden.
 */
export function createOutageReporter(log: Logger, options: { intervalMs?: number; now?: () => number } = {}): OutageReporter {
  const intervalMs = options.intervalMs ?? 60_000;
  const now = options.now ?? Date.now;
  let failures = 0;
  let since = 0;
  let lastReportAt = 0;
  let unreported = 0;
  return {
    failed(error) {
      const cause = causeOf(error);
      failures += 1;
      unreported += 1;
      if (failures === 1) {
        since = now();
        lastReportAt = since;
        unreported = 0;
        log.warn({ cause }, "Slack is unreachable; decisions and deliveries go on, and Slack is told when it answers again");
      } else if (now() - lastReportAt >= intervalMs) {
        log.warn({ failures: unreported, cause, sinceMs: now() - since }, "Slack is still unreachable");
        lastReportAt = now();
        unreported = 0;
      }
    },
    succeeded() {
      if (failures === 0) return;
      log.info({ failures, downMs: now() - since }, "Slack answers again");
      failures = 0;
      unreported = 0;
    },
  };
}
