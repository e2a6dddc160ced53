import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { Readable } from "node:stream";
import { parseArgs } from "node:util";

export const HELP = `sendgate: hand sendings to the approval gate through its API, and steer deliveries without Slack.

Usage:
  sendgate create <sending.json>              create a sending from a JSON file (see examples/)
  sendgate append <id> <recipients.ndjson>    append recipients, one JSON object a line
  sendgate show <id>                          print a sending's state and recipient counts

With an operator token (OPERATOR_TOKENS), for when Slack is down:
  sendgate list [--status SENDING,PAUSED]     list sendings, newest first, with their recipient counts
  sendgate pause <id> [--reason <why>]        stop a delivery: no more messages go to the mail server
  sendgate resume <id>                        continue a paused delivery where it stopped
  sendgate cancel <id> --reason <why> --prepared drop|deliver
                                              cancel it; the messages already prepared are dropped
                                              or still delivered, the rest is cancelled either way

Options:
  --url <url>          the sendgate server (env SENDGATE_URL; default http://localhost:3000)
  --token <token>      create, append, show: an API token from API_TOKENS (env SENDGATE_API_TOKEN);
                       list, pause, resume, cancel: an operator token from OPERATOR_TOKENS
                       (env SENDGATE_OPERATOR_TOKEN)
  --launch-at <when>   create: launch at this date instead of the file's (ISO 8601 with an offset,
                       e.g. 2026-12-01T09:00:00+01:00, or from now: +90s, +2m, +1h, +1d)
  --changed-by <U…>    append: the Slack user behind the upload
  --status <list>      list: only these statuses, comma-separated (PENDING_APPROVAL, SCHEDULED,
                       SENDING, PAUSED, COMPLETED, REJECTED, CANCELLED)
  --reason <why>       pause, cancel: why (the audit and the Slack thread show it)
  --prepared <choice>  cancel: drop or deliver the messages already prepared
  -h, --help           this help

Exit status: 0 when the server accepted the request, 1 otherwise.`;

export interface CliIo {
  env: { SENDGATE_URL?: string; SENDGATE_API_TOKEN?: string; SENDGATE_OPERATOR_TOKEN?: string };
  out(line: string): void;
  err(line: string): void;
}

/** Commands that steer deliveries: they take an operator token, not an intake one. */
const OPERATOR_COMMANDS = new Set(["list", "pause", "resume", "cancel"]);

/** Runs one CLI command; returns the exit status. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        url: { type: "string" },
        token: { type: "string" },
        "changed-by": { type: "string" },
        "launch-at": { type: "string" },
        status: { type: "string" },
        reason: { type: "string" },
        prepared: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    io.err(`${(error as Error).message}\n\n${HELP}`);
    return 1;
  }
  const { values, positionals } = parsed;
  const [command, ...args] = positionals;
  if (values.help || !command) {
    (values.help ? io.out : io.err)(HELP);
    return values.help ? 0 : 1;
  }
  const baseUrl = (values.url ?? io.env.SENDGATE_URL ?? "http://localhost:3000").replace(/\/+$/, "");
  const operator = OPERATOR_COMMANDS.has(command);
  const token = values.token ?? (operator ? io.env.SENDGATE_OPERATOR_TOKEN : io.env.SENDGATE_API_TOKEN);
  if (!token) {
    io.err(
      operator
        ? "No operator token: pass --token or set SENDGATE_OPERATOR_TOKEN (one of the server's OPERATOR_TOKENS)."
        : "No API token: pass --token or set SENDGATE_API_TOKEN (one of the server's API_TOKENS).",
    );
    return 1;
  }
  const api = (path: string, init: RequestInit & { duplex?: "half" } = {}) =>
    fetch(`${baseUrl}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...init.headers } });

  try {
    if (command === "create" && args.length === 1) return await create(api, args[0]!, values["launch-at"], io);
    if (command === "append" && args.length === 2) return await append(api, args[0]!, args[1]!, values["changed-by"], io);
    if (command === "show" && args.length === 1) return await show(api, args[0]!, io);
    if (command === "list" && args.length === 0) return await list(api, values.status, io);
    if (command === "pause" && args.length === 1) return await pause(api, args[0]!, values.reason, io);
    if (command === "resume" && args.length === 1) return await resume(api, args[0]!, io);
    if (command === "cancel" && args.length === 1) return await cancel(api, args[0]!, values.reason, values.prepared, io);
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code === "ECONNREFUSED") io.err(`Cannot reach sendgate at ${baseUrl} (connection refused).`);
    else io.err(`Failed: ${(error as Error).message}${cause?.message ? ` (${cause.message})` : ""}`);
    return 1;
  }
  io.err(`Unknown command or wrong arguments: ${positionals.join(" ")}\n\n${HELP}`);
  return 1;
}

type Api = (path: string, init?: RequestInit & { duplex?: "half" }) => Promise<Response>;

/** `+2m` style offsets from now, or an ISO 8601 date with its offset; undefined when it is neither. */
export function parseLaunchAt(value: string, now: Date = new Date()): string | undefined {
  const relative = /^\+(\d+)(s|m|h|d)$/.exec(value.trim());
  if (relative) {
    const unit = { s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 }[relative[2] as "s" | "m" | "h" | "d"];
    return new Date(now.getTime() + Number(relative[1]) * unit).toISOString();
  }
  const iso = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.exec(value.trim());
  if (!iso || Number.isNaN(Date.parse(value))) return undefined;
  // Date.parse rolls 30 February over into March; a date that does not exist is refused instead.
  const [year, month, day] = [Number(iso[1]), Number(iso[2]), Number(iso[3])];
  const calendar = new Date(Date.UTC(year, month - 1, day));
  return calendar.getUTCMonth() === month - 1 && calendar.getUTCDate() === day ? value.trim() : undefined;
}

async function create(api: Api, file: string, launchAt: string | undefined, io: CliIo): Promise<number> {
  let body = await readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
    throw new Error(`cannot read ${file}: ${error.code ?? error.message}`);
  });
  if (launchAt !== undefined) {
    const when = parseLaunchAt(launchAt);
    if (!when) {
      io.err(`--launch-at "${launchAt}" is neither an ISO 8601 date with an offset (2026-12-01T09:00:00+01:00) nor a time from now (+2m, +1h).`);
      return 1;
    }
    let sending: unknown;
    try {
      sending = JSON.parse(body);
    } catch (error) {
      io.err(`${file} is not valid JSON: ${(error as Error).message}`);
      return 1;
    }
    if (!sending || typeof sending !== "object" || Array.isArray(sending)) {
      io.err(`${file} must hold one sending, a JSON object.`);
      return 1;
    }
    body = JSON.stringify({ ...sending, launchAt: when });
  }
  const response = await api("/api/sendings", { method: "POST", headers: { "content-type": "application/json" }, body });
  const result = await readBody(response);
  if (!response.ok) return reportError(response, result, io);
  io.out(`Created ${result.id}: ${result.status}, ${result.recipientCount} recipient${result.recipientCount === 1 ? "" : "s"}.`);
  return 0;
}

async function append(api: Api, id: string, file: string, changedBy: string | undefined, io: CliIo): Promise<number> {
  await stat(file).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`cannot read ${file}: ${error.code ?? error.message}`);
  });
  const query = changedBy ? `?changedBy=${encodeURIComponent(changedBy)}` : "";
  // Streamed from the file: a list of millions never sits in this process's memory.
  const response = await api(`/api/sendings/${encodeURIComponent(id)}/recipients${query}`, {
    method: "POST",
    headers: { "content-type": "application/x-ndjson" },
    body: Readable.toWeb(createReadStream(file)) as ReadableStream,
    duplex: "half",
  });
  const result = await readBody(response);
  if (!response.ok) return reportError(response, result, io);
  const { inUpload, alreadyInSending } = result.duplicates;
  io.out(
    `Appended ${result.appended} of ${result.received} recipients to ${result.sendingId} ` +
      `(skipped duplicates: ${inUpload} within the file, ${alreadyInSending} already in the sending). ` +
      `Now ${result.recipientCount} recipients, ${result.status}.`,
  );
  if (result.approvalsWithdrawn > 0) io.out(`${result.approvalsWithdrawn} approval(s) were withdrawn: it needs approval again.`);
  return 0;
}

async function show(api: Api, id: string, io: CliIo): Promise<number> {
  const response = await api(`/api/sendings/${encodeURIComponent(id)}`);
  const result = await readBody(response);
  if (!response.ok) return reportError(response, result, io);
  io.out(JSON.stringify(result, null, 2));
  return 0;
}

interface ListedSending {
  id: string;
  name: string;
  status: string;
  launchAt: string;
  recipientCount: number;
  counts: { queued: number; prepared: number; sent: number; failed: number; cancelled: number };
}

/** Every page of the list, as one table. */
async function list(api: Api, status: string | undefined, io: CliIo): Promise<number> {
  const items: ListedSending[] = [];
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ limit: "200" });
    if (status) query.set("status", status);
    if (cursor) query.set("cursor", cursor);
    const response = await api(`/api/sendings?${query}`);
    const page = await readBody(response);
    if (!response.ok) return reportError(response, page, io);
    items.push(...(page.items as ListedSending[]));
    cursor = page.next;
  } while (cursor);
  if (items.length === 0) {
    io.out(status ? `No sendings in ${status.toUpperCase()}.` : "No sendings.");
    return 0;
  }
  const rows = [
    ["ID", "STATUS", "LAUNCH (UTC)", "RECIPIENTS", "QUEUED", "PREPARED", "SENT", "FAILED", "CANCELLED", "NAME"],
    ...items.map((s) => [
      s.id,
      s.status,
      s.launchAt.slice(0, 16).replace("T", " "),
      String(s.recipientCount),
      String(s.counts.queued),
      String(s.counts.prepared),
      String(s.counts.sent),
      String(s.counts.failed),
      String(s.counts.cancelled),
      s.name,
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  for (const row of rows) io.out(row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join("  "));
  return 0;
}

const json = (body: unknown) => ({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

async function pause(api: Api, id: string, reason: string | undefined, io: CliIo): Promise<number> {
  const response = await api(`/api/sendings/${encodeURIComponent(id)}/pause`, json(reason === undefined ? {} : { reason }));
  const result = await readBody(response);
  if (!response.ok) return reportError(response, result, io);
  io.out(`Paused ${result.id}: now ${result.status}; no more messages go to the mail server (the few in its hands finish).`);
  return 0;
}

async function resume(api: Api, id: string, io: CliIo): Promise<number> {
  const response = await api(`/api/sendings/${encodeURIComponent(id)}/resume`, json({}));
  const result = await readBody(response);
  if (!response.ok) return reportError(response, result, io);
  io.out(`Resumed ${result.id}: now ${result.status}; delivery continues where it stopped.`);
  return 0;
}

async function cancel(api: Api, id: string, reason: string | undefined, prepared: string | undefined, io: CliIo): Promise<number> {
  // Checked here too: a cancel typed in a hurry is told everything it lacks before anything is sent.
  const missing: string[] = [];
  if (!reason?.trim()) missing.push("--reason <why> (the audit and the Slack thread show it)");
  if (prepared !== "drop" && prepared !== "deliver") {
    missing.push(`--prepared drop|deliver (what becomes of the messages already prepared${prepared === undefined ? "" : `; not "${prepared}"`})`);
  }
  if (missing.length > 0) {
    io.err(`cancel needs ${missing.join(" and ")}.`);
    return 1;
  }
  const response = await api(`/api/sendings/${encodeURIComponent(id)}/cancel`, json({ reason, prepared }));
  const result = await readBody(response);
  if (!response.ok) return reportError(response, result, io);
  const preparedWords =
    result.prepared === "none"
      ? "no message was prepared"
      : `${plural(result.preparedCount, "prepared message")} ${result.prepared === "drop" ? "dropped" : "still go out"}`;
  io.out(`Cancelled ${result.id}: now ${result.status}; ${plural(result.cancelledRecipients, "recipient")} will not get it; ${preparedWords}.`);
  return 0;
}

const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? "" : "s"}`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the server's JSON, printed field by field
async function readBody(response: Response): Promise<any> {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    return { error: "unexpected_response", message: text.slice(0, 500) };
  }
}

function reportError(response: Response, body: { message?: string; issues?: { path?: unknown[]; line?: number; message: string }[]; invalidLines?: number }, io: CliIo): number {
  io.err(`Refused (${response.status}): ${body.message ?? response.statusText}`);
  for (const issue of body.issues ?? []) {
    const where = [issue.line !== undefined ? `line ${issue.line}` : "", (issue.path ?? []).join(".")].filter(Boolean).join(" ");
    io.err(`  ${where || "(body)"}: ${issue.message}`);
  }
  if (body.invalidLines && body.issues && body.invalidLines > new Set(body.issues.map((i) => i.line)).size) {
    io.err(`  … ${body.invalidLines} invalid lines in all.`);
  }
  return 1;
}
