import { isAppError } from "../domain/errors.js";

/** The one place that turns a refusal into what a Slack user reads. */
export function slackMessageFor(error: unknown): string {
  if (!isAppError(error)) return ":warning: Something went wrong on sendgate's side; nothing changed. The details are in its log.";
  switch (error.code) {
    case "NOT_ALLOWED":
    case "SELF_APPROVAL":
      return `:lock: ${error.message}`;
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
