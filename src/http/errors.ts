import type { Logger } from "pino";
import { isAppError, type ErrorCode } from "../domain/errors.js";

/** A refusal made by the HTTP layer itself (authentication, body limits, malformed JSON, routing). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/** The one place where an error's code decides the HTTP status and body the client sees. */
const appErrorStatus: Record<ErrorCode, { status: number; error: string }> = {
  VALIDATION: { status: 400, error: "invalid_request" },
  LAUNCH_IN_PAST: { status: 400, error: "invalid_request" },
  NOT_FOUND: { status: 404, error: "not_found" },
  NOT_ALLOWED: { status: 403, error: "forbidden" },
  SELF_APPROVAL: { status: 403, error: "forbidden" },
  CONFLICT: { status: 409, error: "conflict" },
  INVALID_STATE: { status: 409, error: "conflict" },
  ALREADY_DECIDED: { status: 409, error: "conflict" },
  BLOCKED: { status: 409, error: "blocked" },
};

export interface ErrorResponse {
  status: number;
  body: { error: string; message: string } & Record<string, unknown>;
}

/** The HTTP status of a refusal; undefined for an unexpected error (a 500, logged by the caller). */
export function httpStatusOf(error: unknown): number | undefined {
  if (error instanceof HttpError) return error.status;
  if (isAppError(error)) return appErrorStatus[error.code].status;
  return undefined;
}

export function toErrorResponse(error: unknown, log: Logger): ErrorResponse {
  if (error instanceof HttpError) return { status: error.status, body: { error: error.code, message: error.message } };
  if (isAppError(error)) {
    const { status, error: code } = appErrorStatus[error.code];
    const details = error.details && typeof error.details === "object" ? (error.details as Record<string, unknown>) : {};
    return { status, body: { ...details, error: code, message: error.message } };
  }
  log.error({ err: error }, "request failed");
  return { status: 500, body: { error: "internal", message: "Something went wrong on our side; nothing was changed by this request." } };
}
