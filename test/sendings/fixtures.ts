import { randomBytes } from "node:crypto";
import type { Database } from "../../src/db/database.js";
import type { SendingStatus } from "../../src/domain/sending-status.js";

export const NOW = new Date("2026-11-27T12:00:00Z");

export interface SendingFields {
  id?: string;
  subject?: string;
  html?: string;
  text?: string | null;
  fromName?: string | null;
  fromEmail?: string;
  replyTo?: string | null;
  status?: SendingStatus;
  launchAt?: Date;
  remindedAt?: Date | null;
  requestedBy?: string;
}

/** A sending written straight to the database, with whatever status the test needs. */
export async function insertSending(db: Database, fields: SendingFields = {}): Promise<string> {
  const id = fields.id ?? `snd_${randomBytes(5).toString("hex")}`;
  await db.prisma.sending.create({
    data: {
      id,
      name: "Spring newsletter",
      subject: fields.subject ?? "Hello {{firstName}}",
      fromName: fields.fromName === undefined ? "Acme" : fields.fromName,
      fromEmail: fields.fromEmail ?? "news@acme.test",
      replyTo: fields.replyTo === undefined ? "help@acme.test" : fields.replyTo,
      html: fields.html ?? '<p>Hi {{firstName}}</p><p><a href="{{unsubscribeUrl}}">Unsubscribe</a></p>',
      text: fields.text ?? null,
      launchAt: fields.launchAt ?? new Date(NOW.getTime() + 24 * 3600_000),
      requestedBy: fields.requestedBy ?? "U0REQUESTER",
      status: fields.status ?? "PENDING_APPROVAL",
      remindedAt: fields.remindedAt ?? null,
      contentHash: "hash",
      recipientsDigest: "digest",
    },
  });
  return id;
}

/** Recipients as given (addresses are stored as they are: tests may write what the intake never would). */
export async function insertRecipients(db: Database, sendingId: string, rows: { email: string; vars?: Record<string, unknown> }[]) {
  const ids: number[] = [];
  for (const row of rows) {
    const created = await db.prisma.recipient.create({
      data: { sendingId, email: row.email, vars: JSON.stringify(row.vars ?? {}) },
      select: { id: true },
    });
    ids.push(created.id);
  }
  return ids;
}

/**
 * `count` recipients generated inside the database in one statement: `reader<i>@example.com` with
 * `{"firstName":"Reader<i>","id":<i>}`, except that every tenth has no firstName.
 */
export async function insertGeneratedRecipients(db: Database, sendingId: string, count: number): Promise<void> {
  const email = `'reader' || i || '@example.com'`;
  const vars = `CASE WHEN i % 10 = 0 THEN '{"id":' || i || '}' ELSE '{"firstName":"Reader' || i || '","id":' || i || '}' END`;
  if (db.provider === "sqlite") {
    await db.prisma.$executeRawUnsafe(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
       INSERT INTO "Recipient" ("sendingId", "email", "vars") SELECT ?, ${email}, ${vars} FROM n`,
      count,
      sendingId,
    );
  } else {
    await db.prisma.$executeRawUnsafe(
      `INSERT INTO "Recipient" ("sendingId", "email", "vars")
       SELECT $1, ${email}, ${vars} FROM generate_series(1, $2::int) AS g(i)`,
      sendingId,
      count,
    );
  }
}
