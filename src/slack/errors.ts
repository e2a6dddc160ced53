import { isAppError, type AppError, type ErrorCode } from "../domain/errors.js";
import { safeMrkdwn } from "./format.js";

/**
 * The one place that decides how a refusal reaches a Slack user: beside the field of the open form
 * it concerns (Slack shows it under the input), or as a message with an icon that says what kind
 * of refusal it is. One answer per code.
 */
const presentation: Record<ErrorCode, { icon: string; inField: boolean }> = {
  VALIDATION: { icon: ":warning:", inField: true },
  LAUNCH_IN_PAST: { icon: ":warning:", inField: true },
  NOT_FOUND: { icon: ":warning:", inField: false },
  NOT_ALLOWED: { icon: ":lock:", inField: false },
  SELF_APPROVAL: { icon: ":lock:", inField: false },
  ALREADY_DECIDED: { icon: ":information_source:", inField: false },
  INVALID_STATE: { icon: ":information_source:", inField: false },
  CONFLICT: { icon: ":information_source:", inField: false },
  BLOCKED: { icon: ":no_entry:", inField: false },
};

/** The message a Slack user reads for a refusal (or for an unexpected failure, which is ours). */
export function slackMessageFor(error: unknown): string {
  if (!isAppError(error)) return ":warning: Something went wrong on sendgate's side; nothing changed. The details are in its log.";
  const { icon } = presentation[error.code];
  if (error.code === "BLOCKED") {
    // The evidence quotes the sender's content and addresses: shown as text, never as markup.
    const checks = (error.details as { checks?: { title: string; evidence: string }[] } | undefined)?.checks ?? [];
    const lines = checks.map((check) => `• *${safeMrkdwn(check.title, 150)}*: ${safeMrkdwn(check.evidence, 600)}`);
    return `${icon} Approval is blocked until the analysis errors are fixed:\n${lines.join("\n")}`;
  }
  return `${icon} ${error.message}`;
}

/** A refusal about what was typed into a form: shown under the field, the form stays open. */
export const isFieldError = (error: unknown): error is AppError => isAppError(error) && presentation[error.code].inField;

/** Unexpected errors are ours to log; refusals are the user's answer. */
export const isUnexpected = (error: unknown) => !isAppError(error);
