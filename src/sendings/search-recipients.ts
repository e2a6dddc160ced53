import type { Database } from "../db/database.js";
import { assertMayControl } from "./support/authority.js";
import type { ControlDeps } from "./support/deps.js";
import { placeholders, queryAlongIndex } from "./support/index-walk.js";

export interface RecipientMatch {
  id: number;
  email: string;
}

/** Slack's external select shows at most 100 options. */
export const SEARCH_LIMIT_MAX = 100;

/**
 * Recipients of a sending whose address starts with `query` (case-insensitive: addresses are stored
 * lower-cased), in address order, for the Preview modal's external select. Answered from the
 * (sendingId, email) unique index as a range `email >= q AND email < successor(q)`, so it takes
 * the same few milliseconds on a list of a million as on ten; LIKE would not use that index on
 * PostgreSQL, and its `%` and `_` would need escaping. On PostgreSQL it keeps to that ordered index
 * scan even before the planner has statistics (see queryAlongIndex).
 */
export async function searchRecipients(
  deps: Pick<ControlDeps, "db" | "approvers">,
  input: { sendingId: string; userId: string; query: string; limit?: number },
): Promise<RecipientMatch[]> {
  await assertMayControl(deps, input.sendingId, input.userId);
  const { db } = deps;
  const { sql, params } = await searchQuery(db, input.sendingId, input.query, input.limit ?? 20);
  const rows = await queryAlongIndex<{ id: number | bigint; email: string }>(db, sql, params);
  return rows.map((row) => ({ id: Number(row.id), email: row.email }));
}

/** The plan the database chooses for a search, for tests and the benchmark to show the index is used. */
export async function explainSearch(db: Database, sendingId: string, query: string, limit = 20): Promise<string> {
  const { sql, params } = await searchQuery(db, sendingId, query, limit);
  const explain = db.provider === "sqlite" ? `EXPLAIN QUERY PLAN ${sql}` : `EXPLAIN ${sql}`;
  const rows = await queryAlongIndex<Record<string, unknown>>(db, explain, params);
  return rows.map((row) => String(row.detail ?? row["QUERY PLAN"] ?? JSON.stringify(row))).join("\n");
}


async function searchQuery(db: Database, sendingId: string, query: string, limit: number) {
  const prefix = query.trim().toLowerCase();
  const take = Math.max(1, Math.min(SEARCH_LIMIT_MAX, Math.floor(limit) || 1));
  const p = placeholders(db);
  const select = `SELECT "id", "email" FROM "Recipient" WHERE "sendingId" = ${p()}`;
  const order = `ORDER BY "email"`;

  if (prefix === "") {
    return { sql: `${select} ${order} LIMIT ${p()}`, params: [sendingId, take] };
  }
  if (db.provider === "postgresql" && !(await comparesBytewise(db))) {
    // Under a linguistic collation (en_US, ICU) the addresses that start with q are not one range of
    // the index: walk the sending's part of it in order and keep those that match.
    return { sql: `${select} AND starts_with("email", ${p()}) ${order} LIMIT ${p()}`, params: [sendingId, prefix, take] };
  }
  const upper = prefixSuccessor(prefix);
  if (upper === null) {
    return { sql: `${select} AND "email" >= ${p()} ${order} LIMIT ${p()}`, params: [sendingId, prefix, take] };
  }
  return {
    sql: `${select} AND "email" >= ${p()} AND "email" < ${p()} ${order} LIMIT ${p()}`,
    params: [sendingId, prefix, upper, take],
  };
}

/**
 * The smallest string greater than every string that starts with `prefix`, in code point order
 * (SQLite's BINARY collation and PostgreSQL's "C" compare UTF-8 bytes, which is that order):
 * its last character, incremented. Null when no such string exists.
 */
export function prefixSuccessor(prefix: string): string | null {
  const points = [...prefix].map((char) => char.codePointAt(0) ?? 0);
  while (points.length > 0) {
    let last = (points.pop() ?? 0) + 1;
    if (last >= 0xd800 && last <= 0xdfff) last = 0xe000; // surrogates are not characters
    if (last <= 0x10ffff) return String.fromCodePoint(...points, last);
  }
  return null;
}

const bytewise = new WeakMap<Database, Promise<boolean>>();

/** Whether PostgreSQL's default collation orders text by its bytes (C, POSIX, C.UTF-8), asked once per database. */
function comparesBytewise(db: Database): Promise<boolean> {
  let answer = bytewise.get(db);
  if (!answer) {
    answer = db.prisma
      .$queryRawUnsafe<{ bytewise: boolean }[]>(`SELECT ('B' < 'a' AND 'a-b' < 'a0' AND 'a~' < 'aé' AND 'Z' < '_') AS "bytewise"`)
      .then((rows) => rows[0]?.bytewise === true);
    bytewise.set(db, answer);
    answer.catch(() => bytewise.delete(db));
  }
  return answer;
}
