import type { Logger } from "pino";
import { z } from "zod";
import { isAppError, type ErrorCode } from "../domain/errors.js";
import { allStatuses } from "../domain/sending-status.js";

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

/** The one place where an error's code decides the HTTP status and body the client sees (the API document reads it too). */
export const appErrorStatus: Record<ErrorCode, { status: number; error: string }> = {
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

/**
 * The body of every refusal, as the API document shows it: `error` for programs, `message` for people,
 * and what the refusal found (`issues` for input that does not parse, `status` for a status that does
 * not allow the request). Closed, so that a detail added to a refusal is added here too.
 */
export const errorBodySchema = z.strictObject({
  error: z.string().describe("What was refused, for programs: invalid_request, malformed_json, unauthorized, forbidden, not_found, conflict…"),
  message: z.string().describe("What was refused and what to do about it, for people."),
  issues: z
    .array(
      z.strictObject({
        line: z.int().positive().optional().describe("The NDJSON line, in a recipients upload."),
        path: z.array(z.union([z.string(), z.int()])).describe('Where in the body (or the line): ["recipients", 3, "email"].'),
        message: z.string(),
      }),
    )
    .optional()
    .describe("Every problem found in the input (400 invalid_request)."),
  invalidLines: z.int().positive().optional().describe("How many NDJSON lines are invalid; issues names those of the first 20."),
  status: z.enum(allStatuses).optional().describe("The sending's status, when it does not allow the request (409)."),
  field: z.string().optional().describe("The field at fault, when one is."),
});

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
