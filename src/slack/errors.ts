import { isAppError } from "../domain/errors.js";
import { safeMrkdwn } from "./format.js";

/** The one place that turns a refusal into what a Slack user reads. */
export function slackMessageFor(error: unknown): string {
  if (!isAppError(error)) return ":warning: Something went wrong on sendgate's side; nothing changed. The details are in its log.";
  switch (error.code) {
    case "NOT_ALLOWED":
    case "SELF_APPROVAL":
      return `:lock: ${error.message}`;
    case "BLOCKED": {
      // The evidence quotes the sender's content and addresses: shown as text, never as markup.
      const checks = (error.details as { checks?: { title: string; evidence: string }[] } | undefined)?.checks ?? [];
      const lines = checks.map((check) => `• *${safeMrkdwn(check.title, 150)}*: ${safeMrkdwn(check.evidence, 600)}`);
      return `:no_entry: Approval is blocked until the analysis errors are fixed:\n${lines.join("\n")}`;
    }
    case "ALREADY_DECIDED":
    case "INVALID_STATE":
    case "CONFLICT":
      return `:information_source: ${error.message}`;
    default:
      return `:warning: ${error.message}`;
  }
}

/** Unexpected errors are ours to log; refusals are the user's answer. */
export const isUnexpected = (error: unknown) => !isAppError(error);
