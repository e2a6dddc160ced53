import type { IncomingMessage } from "node:http";
import { PassThrough, type Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { formatIssuePath } from "../sendings/support/sending-input.js";
import { malformedText, mayHoldMalformedText } from "../sendings/support/well-formed-text.js";
import { HttpError } from "./errors.js";

const tooLarge = (limit: number) =>
  new HttpError(413, "payload_too_large", `The body is larger than the limit of ${formatBytes(limit)}.`);

function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3 && bytes % 1024 ** 3 === 0) return `${bytes / 1024 ** 3} GB`;
  if (bytes >= 1024 ** 2) return `${Math.round((bytes / 1024 ** 2) * 10) / 10} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} bytes`;
}

function refuseDeclaredSize(req: IncomingMessage, limit: number) {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
}

export function requireContentType(req: IncomingMessage, accepted: readonly string[], optional = false) {
  const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if ((optional && type === "") || accepted.includes(type)) return;
  throw new HttpError(415, "unsupported_media_type", `Send the body as ${accepted.join(" or ")}.`);
}

/**
 * Reads a JSON body of at most `limit` bytes. Past the limit it stops reading (the request is not
 * destroyed, so the client still gets its 413; the server closes the connection after answering).
 * An empty body is refused unless `whenEmpty` says what it stands for.
 */
export function readJsonBody(req: IncomingMessage, limit: number, options: { whenEmpty?: unknown } = {}): Promise<unknown> {
  refuseDeclaredSize(req, limit);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
    };
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total > limit) {
        cleanup();
        req.pause();
        chunks.length = 0;
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      const text = Buffer.concat(chunks).toString("utf8");
      if (!text.trim()) {
        // Some requests have nothing to say beyond their URL (pause, resume): no body stands for this value.
        if (options.whenEmpty !== undefined) return resolve(options.whenEmpty);
        return reject(new HttpError(400, "malformed_json", "The body is empty; send the JSON document."));
      }
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        return reject(new HttpError(400, "malformed_json", `The body is not valid JSON: ${(error as Error).message}`));
      }
      const malformed = mayHoldMalformedText(text) ? malformedText(value) : undefined;
      if (malformed) {
        return reject(new HttpError(400, "malformed_json", `The body is not valid text: ${formatIssuePath(malformed.path) || "the value"} ${malformed.problem}.`));
      }
      resolve(value);
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
  });
}

/**
 * The body as lines, a chunk's worth at a time, read as the consumer asks for them (the request is
 * paused while the consumer is busy), so memory stays flat however large the upload. Lines end at
 * "\n", "\r\n" or a lone "\r", as readline's do; the body is taken as UTF-8. Past `limit` bytes the
 * lines end with a 413 error. (Not readline: it hands lines over one promise at a time, which on a
 * million lines costs the main thread a second of its own.)
 */
export function readLines(req: IncomingMessage, limit: number): AsyncIterable<string[]> {
  refuseDeclaredSize(req, limit);
  return splitLines(limitedBody(req, limit));
}

/** Lines of a body that comes in chunks (which may end anywhere, inside a line break or a character). */
export async function* splitLines(body: AsyncIterable<Buffer>): AsyncGenerator<string[]> {
  const decoder = new StringDecoder("utf8");
  let rest = "";
  for await (const chunk of body) {
    const cut = cutLines(rest + decoder.write(chunk), false);
    rest = cut.rest;
    if (cut.lines.length) yield cut.lines;
  }
  // Bytes left of an unfinished character at the very end are dropped, as readline drops them.
  const last = cutLines(rest, true);
  if (last.rest) last.lines.push(last.rest);
  if (last.lines.length) yield last.lines;
}

const LINE_BREAK = /\r\n|\n|\r/;

/** The whole lines of `text`, and what follows the last break (a "\r" at the end may yet meet its "\n"). */
function cutLines(text: string, atEnd: boolean): { lines: string[]; rest: string } {
  const held = !atEnd && text.endsWith("\r") ? "\r" : "";
  const whole = held ? text.slice(0, -1) : text;
  const lines = whole.includes("\r") ? whole.split(LINE_BREAK) : whole.split("\n");
  return { lines, rest: lines.pop()! + held };
}

function limitedBody(req: IncomingMessage, limit: number): Readable {
  const out = new PassThrough();
  // Errors reach the reader through its iterator; this keeps one that arrives after it stopped reading from crashing the process.
  out.on("error", () => {});
  let total = 0;
  const stop = (error: Error) => {
    req.off("data", onData);
    req.pause();
    out.destroy(error);
  };
  const onData = (chunk: Buffer) => {
    total += chunk.length;
    if (total > limit) return stop(tooLarge(limit));
    if (!out.write(chunk)) req.pause();
  };
  req.on("data", onData);
  out.on("drain", () => req.resume());
  req.on("end", () => out.end());
  req.on("error", (error) => out.destroy(error));
  req.on("close", () => {
    if (!req.complete) out.destroy(new HttpError(400, "aborted", "The client stopped sending the body."));
  });
  return out;
}
