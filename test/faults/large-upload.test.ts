import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { sendingJson } from "../support/http-harness.js";
import { errorsIn, sendgateEnv, startedSendgate, tail } from "./support/sendgate-process.js";
import { useCaseSurroundings } from "./support/surroundings.js";

/** 64,000 lines of 16,400 bytes: 1.05 GB, within the default API_NDJSON_LIMIT of 1 GiB. */
const LINES = 64_000;
const LINE_BYTES = 16_400;
const TOTAL_BYTES = LINES * LINE_BYTES;
/** The server's old-space heap limit (NODE_OPTIONS=--max-old-space-size). */
const HEAP_CAP_MB = 256;
/** Peak RSS of the server, upload included: the heap, the upload thread's, and about 225 MB that an idle sendgate under tsx takes. */
const RSS_BOUND_MB = 600;
const API_TOKEN = "faults-api-token-0123456789abcdef0123456789";

/** Line `i`, always LINE_BYTES long with its newline: an address, a name and a long note, all of them known from `i` alone. */
function lineOf(i: number): string {
  const n = String(i).padStart(6, "0");
  const head = `{"email":"reader${n}@example.test","vars":{"firstName":"Reader ${n}","notes":"`;
  const tail = `"}}\n`;
  const filler = `${n} the spring collection `.repeat(Math.ceil(LINE_BYTES / 20)).slice(0, LINE_BYTES - head.length - tail.length);
  return head + filler + tail;
}

/** The body, made as it is read, 64 lines (1 MB) at a time: nothing of it is held. */
function ndjsonBody(): Readable {
  let next = 0;
  return new Readable({
    read() {
      if (next >= LINES) return void this.push(null);
      let chunk = "";
      for (const end = Math.min(LINES, next + 64); next < end; next++) chunk += lineOf(next);
      this.push(chunk);
    },
  });
}

/** The kernel's high-water mark of a process's resident memory, in MB. */
function peakRssMb(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(match?.[1] ?? 0) / 1024;
}

function post(port: number, path: string, body: Readable | string, headers: Record<string, string | number>) {
  return new Promise<{ status: number; body: unknown }>((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: "POST", headers: { authorization: `Bearer ${API_TOKEN}`, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString() || "null") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    if (typeof body === "string") req.end(body);
    else body.pipe(req);
  });
}

/**
 * The other side of the slow-client guard (test/hostile/slow-clients.test.ts): a legitimate upload of
 * about a gigabyte at the speed the machine allows is taken whole, however long it takes, while the
 * server's memory stays bounded. A case of the fault suite for its size: it takes minutes.
 */
describe("a 1 GB NDJSON upload at normal speed", () => {
  const around = useCaseSurroundings("sqlite");

  it("is appended whole, every line as sent, with the server's memory bounded and no slow-client cut", async () => {
    const { db, sink, slack } = around;
    // A heap cap, as a container's memory limit sets one: an upload that held on to what it read would
    // die of it. Without a cap V8 lets an upload's garbage (each line's text, parsed and written again)
    // grow the heap to about a gigabyte before collecting it, which says nothing about what it keeps.
    const sendgate = await startedSendgate(
      sendgateEnv({ databaseUrl: db.url, smtpUrl: sink.url, slackApiUrl: slack.apiUrl }, { NODE_OPTIONS: `--max-old-space-size=${HEAP_CAP_MB}` }),
    );
    around.processes.push(sendgate);
    const port = Number(sendgate.log.find((line) => line.msg === "sendgate started")?.port);
    const created = await post(port, "/api/sendings", JSON.stringify(sendingJson({ recipients: [] })), { "content-type": "application/json" });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const { id } = created.body as { id: string };
    const rssBefore = peakRssMb(sendgate.pid);

    const started = Date.now();
    const appended = await post(port, `/api/sendings/${id}/recipients`, ndjsonBody(), {
      "content-type": "application/x-ndjson",
      "content-length": TOTAL_BYTES,
    });
    const seconds = (Date.now() - started) / 1000;
    const peakMb = peakRssMb(sendgate.pid);
    console.log(
      `[faults] 1 GB NDJSON upload: ${LINES.toLocaleString("en-US")} lines, ${(TOTAL_BYTES / 1e9).toFixed(2)} GB in ${seconds.toFixed(1)} s ` +
        `(${(TOTAL_BYTES / 1e6 / seconds).toFixed(1)} MB/s); server heap capped at ${HEAP_CAP_MB} MB, peak RSS ${peakMb.toFixed(0)} MB (${rssBefore.toFixed(0)} MB before it)`,
    );

    expect(appended.status, JSON.stringify(appended.body)).toBe(200);
    expect(appended.body).toMatchObject({ appended: LINES, duplicates: { inUpload: 0, alreadyInSending: 0 } });
    expect(sendgate.log.filter((line) => /too slowly|in time: connection closed/.test(line.msg))).toEqual([]);
    expect(errorsIn(sendgate.log), tail(sendgate.log)).toEqual([]);
    expect(peakMb, `peak RSS ${peakMb.toFixed(0)} MB`).toBeLessThan(RSS_BOUND_MB);

    // Every line is stored as it was sent: the count, the length of all variables together, and a digest of the addresses in order.
    const [stored] = await db.prisma.$queryRawUnsafe<{ n: bigint | number; chars: bigint | number }[]>(
      `SELECT count(*) AS n, sum(length("vars")) AS chars FROM "Recipient" WHERE "sendingId" = ?`,
      id,
    );
    const expectedVarsChars = Array.from({ length: LINES }, (_, i) => JSON.stringify(JSON.parse(lineOf(i)).vars).length).reduce((a, b) => a + b, 0);
    expect(Number(stored!.n)).toBe(LINES);
    expect(Number(stored!.chars)).toBe(expectedVarsChars);
    const addresses = createHash("sha256");
    const rows = await db.prisma.recipient.findMany({ where: { sendingId: id }, orderBy: { id: "asc" }, select: { email: true } });
    for (const row of rows) addresses.update(`${row.email}\n`);
    const expected = createHash("sha256");
    for (let i = 0; i < LINES; i++) expected.update(`reader${String(i).padStart(6, "0")}@example.test\n`);
    expect(addresses.digest("hex")).toBe(expected.digest("hex"));
    // A sample read back whole.
    for (const i of [0, 1, 31_999, LINES - 1]) {
      const row = await db.prisma.recipient.findFirstOrThrow({ where: { sendingId: id, email: `reader${String(i).padStart(6, "0")}@example.test` } });
      expect(JSON.parse(row.vars)).toEqual(JSON.parse(lineOf(i)).vars);
    }
  });
});
