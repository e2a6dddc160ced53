// An NDJSON body is cut into lines by sendgate's own splitter (readline hands lines over one promise
// at a time, too slow for a million of them). It must cut exactly where readline cuts, whatever the
// line breaks and wherever the chunks end: generated bodies, cut at generated places, side by side.
import fc from "fast-check";
import type { IncomingMessage } from "node:http";
import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { readLines, splitLines } from "../../src/http/body.js";

/** A request as readLines sees it: its body in these chunks. */
const requestOf = (chunks: Buffer[]) => Object.assign(Readable.from(chunks, { objectMode: false }), { headers: {}, complete: true }) as unknown as IncomingMessage;

/** The lines, the chunks handed over one by one exactly as cut (a stream would join what it buffered). */
async function linesOf(chunks: Buffer[]): Promise<string[]> {
  const lines: string[] = [];
  async function* oneByOne() {
    yield* chunks;
  }
  for await (const chunk of splitLines(oneByOne())) lines.push(...chunk);
  return lines;
}

async function readlineLinesOf(chunks: Buffer[]): Promise<string[]> {
  const lines: string[] = [];
  for await (const line of createInterface({ input: Readable.from(chunks, { objectMode: false }), crlfDelay: Infinity })) lines.push(line);
  return lines;
}

/** The body cut into chunks at the given places. */
const cutAt = (body: Buffer, places: number[]) => {
  const ends = [...new Set(places.map((place) => place % (body.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const end of [...ends, body.length]) {
    if (end > start) chunks.push(body.subarray(start, end));
    start = Math.max(start, end);
  }
  return chunks;
};

const piece = fc.oneof(
  fc.constantFrom("\n", "\r\n", "\r", "\r\r\n", "\n\r", "", " "),
  fc.string({ maxLength: 12 }),
  fc.string({ maxLength: 6, unit: "binary" }),
  fc.constantFrom('{"email":"ann@example.com"}', "é€😀", "\uFEFF"),
);
const body = fc.oneof(
  fc.array(piece, { maxLength: 20 }).map((pieces) => Buffer.from(pieces.join(""))),
  // Not even UTF-8.
  fc.uint8Array({ maxLength: 60 }).map((bytes) => Buffer.from(bytes)),
);

describe("NDJSON body lines", () => {
  it("are cut where readline cuts them, wherever the chunks end", async () => {
    await fc.assert(
      fc.asyncProperty(body, fc.array(fc.nat(), { maxLength: 6 }), async (bytes, places) => {
        const chunks = cutAt(bytes, places);
        expect(await linesOf(chunks)).toEqual(await readlineLinesOf(chunks));
      }),
      { numRuns: 2_000 },
    );
  });

  it("hold a line broken by \\r\\n across two chunks, and a character across two chunks, whole", async () => {
    const euro = Buffer.from("€");
    const chunks = [Buffer.from('{"a":1}\r'), Buffer.from("\n"), Buffer.concat([Buffer.from('{"b":"'), euro.subarray(0, 1)]), Buffer.concat([euro.subarray(1), Buffer.from('"}\rlast')])];
    expect(await linesOf(chunks)).toEqual(['{"a":1}', '{"b":"€"}', "last"]);
  });

  it("come from the request's body", async () => {
    const lines: string[] = [];
    for await (const chunk of readLines(requestOf([Buffer.from('{"a":1}\r\n{"b":2}\n'), Buffer.from('{"c":3}')]), 1024)) lines.push(...chunk);
    expect(lines).toEqual(['{"a":1}', '{"b":2}', '{"c":3}']);
  });

  it("end with a 413 past the limit", async () => {
    const lines = readLines(requestOf([Buffer.from("x".repeat(600) + "\n"), Buffer.from("y".repeat(600) + "\n")]), 1000);
    await expect(async () => {
      for await (const chunk of lines) void chunk;
    }).rejects.toMatchObject({ status: 413 });
  });
});
