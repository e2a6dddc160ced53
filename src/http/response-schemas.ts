import { z } from "zod";
import { allStatuses } from "../domain/sending-status.js";
import type { AppendResult } from "../sendings/append-recipients.js";
import type { CancelResult } from "../sendings/cancel-sending.js";
import type { CreatedSending } from "../sendings/create-sending.js";
import type { FoundSendings } from "../sendings/find-sendings.js";
import type { AsJson, SameType } from "../sendings/support/as-json.js";
import { analysisSummaryJson } from "../sendings/support/sending-representation.js";
import type { UpdateResult } from "../sendings/update-sending.js";

/**
 * What the API answers, as the API document shows it. Each schema is closed (a field the answer gains
 * must be added here) and tied to the use case's result type, so the compiler says when they differ.
 * The sending's representation lives beside the use cases (sendingStateJson): PUT takes it back.
 */

const count = z.int().nonnegative();
const status = z.enum(allStatuses);
/** A date-time as JSON.stringify writes a Date: UTC, with milliseconds. */
const instant = z.iso.datetime();
const analysisAfterChange = analysisSummaryJson
  .nullable()
  .describe("What the analysis finds in the content as stored; null if it could not be made after the change was stored (GET makes it again).");

export const createdSendingJson = z.strictObject({
  id: z.string(),
  status,
  contentHash: z.string(),
  recipientCount: count,
  analysis: analysisAfterChange,
});

export const contentChangeJson = z.strictObject({
  sendingId: z.string(),
  changed: z.array(z.string()).describe("The stored fields whose value differs from before; empty when the request changed nothing."),
  changes: z
    .array(z.strictObject({ field: z.string(), from: z.string().optional(), to: z.string().optional() }))
    .describe("The same, as people read it: before and after for the short fields, only the name for the bodies."),
  status,
  contentHash: z.string(),
  approvalsWithdrawn: count,
  analysis: analysisAfterChange,
});

export const appendResultJson = z.strictObject({
  sendingId: z.string(),
  received: count.describe("Valid, non-blank lines read."),
  appended: count,
  duplicates: z.strictObject({ inUpload: count, alreadyInSending: count }).describe("Addresses skipped: repeated in the upload, or already recipients."),
  recipientCount: count,
  status,
  approvalsWithdrawn: count,
});

export const sendingListJson = z.strictObject({
  items: z.array(
    z.strictObject({
      id: z.string(),
      name: z.string(),
      status,
      launchAt: instant,
      recipientCount: count,
      counts: z
        .strictObject({ queued: count, prepared: count, sent: count, failed: count, cancelled: count })
        .describe("Where its recipients stand; the numbers add up to the recipient count."),
      updatedAt: instant,
    }),
  ),
  next: z.string().nullable().describe("Pass it back as `cursor` for the next page; null on the last one."),
});

export const pausedJson = z.strictObject({ id: z.string(), status: z.literal("PAUSED") });
export const resumedJson = z.strictObject({ id: z.string(), status: z.literal("SENDING") });
export const cancelledJson = z.strictObject({
  id: z.string(),
  status: z.literal("CANCELLED"),
  cancelledRecipients: count.describe("Recipients who will not get the message because of this cancel."),
  preparedCount: count.describe("Messages that were prepared when the cancel committed."),
  prepared: z.enum(["drop", "deliver", "none"]).describe('What happens to them; "none" when nothing was prepared.'),
});

export const healthJson = z.strictObject({ status: z.literal("ok") });
export const readinessJson = z.strictObject({ status: z.enum(["ready", "unavailable"]), database: z.enum(["sqlite", "postgresql"]) });

/** The OpenAPI document itself, described only as far as a client needs to recognize it. */
export const openApiDocumentJson = z.looseObject({
  openapi: z.string(),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  paths: z.record(z.string(), z.unknown()),
});

const _created: SameType<z.output<typeof createdSendingJson>, AsJson<CreatedSending>> = true;
const _changed: SameType<z.output<typeof contentChangeJson>, AsJson<UpdateResult>> = true;
const _appended: SameType<z.output<typeof appendResultJson>, AsJson<AppendResult>> = true;
const _found: SameType<z.output<typeof sendingListJson>, AsJson<FoundSendings>> = true;
const _cancelled: SameType<z.output<typeof cancelledJson>, AsJson<{ id: string; status: "CANCELLED" } & CancelResult>> = true;
