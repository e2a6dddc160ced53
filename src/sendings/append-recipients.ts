import { BULK_BATCH_CHARACTERS, BULK_BATCH_SIZE, rowCharacters, type RecipientRow, type RecipientSink } from "../db/recipient-bulk.js";
import { AppError } from "../domain/errors.js";
import { editable, type SendingStatus } from "../domain/sending-status.js";
import { API_ACTOR, apiActor, notEditableIn } from "./support/content-change.js";
import type { IntakeDeps } from "./support/deps.js";
import { createLineReader, type ReadLine } from "./support/recipient-line.js";
import { appendedRecipientsStep } from "./support/recipient-publish-steps.js";
import { formatIssuePath, slackUserId } from "./support/sending-input.js";
import { SENDING_ID } from "./support/sending-id.js";
import { notifyAfterCommit } from "./support/notify-after-commit.js";

export interface AppendInput {
  sendingId: string;
  /** NDJSON lines in order, a chunk of them at a time; one recipient a line: `{ "email": "ann@example.com", "vars": { "firstName": "Ann" } }`. */
  lines: AsyncIterable<readonly string[]>;
  /** The Slack user behind the upload, when known. */
  actor?: string;
  /** The API token the lines came with: the change is theirs (`api:<name>`) unless `actor` names a Slack user. */
  tokenName?: string;
}

export interface AppendResult {
  sendingId: string;
  /** Valid, non-blank lines read. */
  received: number;
  appended: number;
  duplicates: { inUpload: number; alreadyInSending: number };
  recipientCount: number;
  status: SendingStatus;
  approvalsWithdrawn: number;
}

export interface InvalidLine {
  line: number;
  path: (string | number)[];
  message: string;
}

/** How many invalid lines a refusal names; the count covers them all. */
const REPORTED_INVALID_LINES = 20;

/**
 * Lines are read and checked in slices of about this much of the main thread's time, the event loop
 * served between them: while lines keep arriving, the loop below would otherwise run on from one
 * line to the next without ever letting a Slack click (3 seconds to acknowledge) in.
 */
const SLICE_MS = 10;
const nextTurnOfTheEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Appends recipients from a stream of NDJSON lines, all or nothing: one invalid line refuses the
 * whole upload and nothing is written. Memory stays flat whatever the list size: lines are written
 * in batches of bounded size as they arrive and become visible together (see RecipientBulk).
 */
export async function appendRecipients(deps: IntakeDeps, input: AppendInput): Promise<AppendResult> {
  const { db, clock, log } = deps;
  const { sendingId } = input;
  const actor = input.actor ?? (input.tokenName ? apiActor(input.tokenName) : API_ACTOR);
  if (input.actor !== undefined && !slackUserId.safeParse(input.actor).success) {
    throw new AppError("VALIDATION", "changedBy must be a Slack user ID such as U0123ABCD.", {
      issues: [{ path: ["changedBy"], message: "must be a Slack user ID such as U0123ABCD" }],
    });
  }
  const sending = SENDING_ID.test(sendingId)
    ? await db.prisma.sending.findUnique({ where: { id: sendingId }, select: { status: true } })
    : null;
  if (!sending) throw new AppError("NOT_FOUND", `Sending ${sendingId} does not exist.`);
  if (!editable.includes(sending.status)) throw notEditableIn(sending.status);

  const startedAt = performance.now();
  let received = 0;
  let readAt = startedAt;
  const outcome = await deps.recipients.append(
    {
      sendingId,
      step: appendedRecipientsStep,
      async fill(sink) {
        received = await writeLines(input.lines, sink, createLineReader(deps.recipientVarsLimits));
        readAt = performance.now();
      },
      after: () => ({ sendingId, actor, received, now: clock.now() }),
    },
    clock.now(),
  );

  const result: AppendResult = {
    sendingId,
    received,
    appended: outcome.appended,
    duplicates: { inUpload: received - outcome.fresh, alreadyInSending: outcome.fresh - outcome.appended },
    recipientCount: outcome.recipientCount,
    status: outcome.status,
    approvalsWithdrawn: outcome.approvalsWithdrawn,
  };
  const timings = { readMs: Math.round(readAt - startedAt), totalMs: Math.round(performance.now() - startedAt) };
  log.info({ ...result, ...timings }, "recipients appended");
  if (result.appended > 0) {
    await notifyAfterCommit(deps, sendingId, {
        kind: "content-changed",
        by: actor,
        changed: ["recipients"],
        approvalsWithdrawn: result.approvalsWithdrawn,
      });
  }
  return result;
}

/**
 * Reads, checks and writes the lines in batches; returns how many valid lines there were. One batch
 * is written while the next is read and checked, never more, so memory stays flat. Any invalid line
 * refuses the upload (after reading the rest, to name every bad line).
 */
async function writeLines(lines: AsyncIterable<readonly string[]>, sink: RecipientSink, readLine: ReadLine): Promise<number> {
  let writing: Promise<void> | undefined;
  const write = async (rows: RecipientRow[]) => {
    await writing;
    writing = rows.length ? sink.write(rows) : undefined;
    writing?.catch(() => {}); // awaited on the next call; this only keeps it from counting as unhandled meanwhile
  };
  try {
    const invalid: InvalidLine[] = [];
    let invalidCount = 0;
    let received = 0;
    let batch: RecipientRow[] = [];
    let batchCharacters = 0;
    let lineNumber = 0;
    let sliceStartedAt = performance.now();
    for await (const chunk of lines) {
      for (const line of chunk) {
        lineNumber += 1;
        if (performance.now() - sliceStartedAt >= SLICE_MS) {
          await nextTurnOfTheEventLoop();
          sliceStartedAt = performance.now();
        }
        const text = (lineNumber === 1 ? line.replace(/^\uFEFF/, "") : line).trim();
        if (!text) continue;
        const parsed = readLine(text);
        if ("problems" in parsed) {
          invalidCount += 1;
          if (invalidCount <= REPORTED_INVALID_LINES) {
            for (const problem of parsed.problems) invalid.push({ line: lineNumber, ...problem });
          }
          continue;
        }
        if (invalidCount > 0) continue;
        received += 1;
        batch.push(parsed.row);
        batchCharacters += rowCharacters(parsed.row);
        if (batch.length >= BULK_BATCH_SIZE || batchCharacters >= BULK_BATCH_CHARACTERS) {
          await write(batch);
          batch = [];
          batchCharacters = 0;
        }
      }
    }
    if (invalidCount > 0) throw invalidLines(invalidCount, invalid);
    await write(batch);
    await write([]);
    return received;
  } finally {
    // A batch still being written must land before the upload is given up, or its rows would outlive it.
    await writing?.catch(() => {});
  }
}

function invalidLines(count: number, reported: InvalidLine[]): AppError {
  const lineNumbers = [...new Set(reported.map((problem) => problem.line))];
  const first = reported[0];
  const firstText = first ? ` Line ${first.line}${first.path.length ? ` ${formatIssuePath(first.path)}` : ""}: ${first.message}.` : "";
  return new AppError(
    "VALIDATION",
    `${count} ${count === 1 ? "line is" : "lines are"} invalid (line${lineNumbers.length > 1 ? "s" : ""} ${lineNumbers.join(", ")}${
      count > lineNumbers.length ? ", …" : ""
    }); nothing was appended.${firstText}`,
    { invalidLines: count, issues: reported },
  );
}
