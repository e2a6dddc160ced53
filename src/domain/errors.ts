/** Every refusal sendgate gives carries one of these codes; src/http and src/slack map them to what users see. */
export type ErrorCode =
  | "VALIDATION" // input does not parse
  | "NOT_FOUND"
  | "NOT_ALLOWED" // the user lacks the authority
  | "SELF_APPROVAL"
  | "ALREADY_DECIDED" // a stale click or a lost race
  | "INVALID_STATE" // the action does not apply to the sending's status
  | "LAUNCH_IN_PAST"
  | "BLOCKED" // the analysis found errors that must be fixed first
  | "CONFLICT";

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "AppError";
  }
}

export const isAppError = (error: unknown): error is AppError => error instanceof AppError;
