import type { Database } from "../db/database.js";
import { AppError } from "../domain/errors.js";
import { analyzeSending as analyzeContent, createRecipientStatsCollector, type Analysis } from "../mail/analysis/index.js";
import { templateVariables } from "../mail/templates.js";
import { parseVars } from "../mail/message.js";
import { placeholders, queryAlongIndex } from "./support/index-walk.js";

/** Recipients read per query: memory stays flat whatever the list's length. */
const PAGE_SIZE = 5_000;
/** Addresses looked up per query for their lower-case twins. */
const LOOKUP_SIZE = 500;

/**
 * The analysis of a sending as it is stored: recipients are streamed by address in pages into counts and
 * samples (never the whole list in memory), then the pure checks of src/mail/analysis/ run.
 */
export async function analyzeSending(
  db: Database,
  sendingId: string,
  settings: { unsubscribeUrl?: string; dkimDomain?: string } = {},
): Promise<Analysis> {
  const sending = await db.prisma.sending.findUnique({
    where: { id: sendingId },
    select: { subject: true, html: true, text: true, fromEmail: true },
  });
  if (!sending) throw new AppError("NOT_FOUND", `Sending ${sendingId} does not exist.`);

  const collector = createRecipientStatsCollector(templateVariables(sending));
  // Paged by address along the (sendingId, email) index, which gives the order without a sort. By
  // id, SQLite picks that same index for "sendingId = ?" and sorts the whole list for every page.
  for (let after: string | undefined; ; ) {
    const p = placeholders(db);
    const page = await queryAlongIndex<{ email: string; vars: string }>(
      db,
      after === undefined
        ? `SELECT "email", "vars" FROM "Recipient" WHERE "sendingId" = ${p()} ORDER BY "email" LIMIT ${p()}`
        : `SELECT "email", "vars" FROM "Recipient" WHERE "sendingId" = ${p()} AND "email" > ${p()} ORDER BY "email" LIMIT ${p()}`,
      after === undefined ? [sendingId, PAGE_SIZE] : [sendingId, after, PAGE_SIZE],
    );
    for (const row of page) collector.add({ email: row.email, vars: parseVars(row.vars) }, row.vars.length);
    if (page.length < PAGE_SIZE) break;
    after = page[page.length - 1]!.email;
  }

  // Addresses are stored lower-cased, so a case-variant twin only exists where something bypassed
  // the intake: look up just the lower-case forms of the few addresses that have capitals.
  const lowered = [...new Set(collector.mixedCaseAddresses().map((email) => email.toLowerCase()))];
  const twins = new Set<string>();
  for (let start = 0; start < lowered.length; start += LOOKUP_SIZE) {
    const found = await db.prisma.recipient.findMany({
      where: { sendingId, email: { in: lowered.slice(start, start + LOOKUP_SIZE) } },
      select: { email: true },
    });
    for (const row of found) twins.add(row.email);
  }

  return analyzeContent({ content: { subject: sending.subject, html: sending.html, text: sending.text }, recipients: collector.finish(twins), unsubscribeUrl: settings.unsubscribeUrl, dkimDomain: settings.dkimDomain, fromEmail: sending.fromEmail });
}
