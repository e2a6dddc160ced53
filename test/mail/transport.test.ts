import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simpleParser } from "mailparser";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { classifySmtpError, createMailer } from "../../src/mail/transport.js";
import { startSmtpSink, type SmtpSink } from "../sender/support/smtp-sink.js";
import { messageToAnn } from "./support/messages.js";

const log = pino({ level: "silent" });
const message = messageToAnn({
  replyTo: "help@acme.test",
  headers: { "List-Unsubscribe": "<https://acme.test/u/1>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click" },
});

describe("classifying SMTP failures", () => {
  it("treats 4xx replies and lost connections as temporary, 5xx replies as permanent", () => {
    expect(classifySmtpError({ code: "EENVELOPE", responseCode: 451, response: "451 4.7.1 Greylisted" })).toMatchObject({ temporary: true, reason: "451 4.7.1 Greylisted" });
    expect(classifySmtpError({ code: "EENVELOPE", responseCode: 550, response: "550 5.1.1 <bob@x.test>: unknown" })).toEqual({
      temporary: false,
      reason: "550 5.1.1 <…>: unknown",
      response: "550 5.1.1 <bob@x.test>: unknown",
    });
    for (const code of ["ECONNECTION", "ETIMEDOUT", "ESOCKET", "ECONNREFUSED"]) {
      expect(classifySmtpError(Object.assign(new Error("Connection closed unexpectedly"), { code })).temporary).toBe(true);
    }
    expect(classifySmtpError(Object.assign(new Error("Invalid address"), { code: "EENVELOPE" })).temporary).toBe(false);
    expect(classifySmtpError(new Error("something odd")).temporary).toBe(true);
  });
});

describe("the SMTP mailer", () => {
  let sink: SmtpSink;
  afterEach(() => sink?.close());

  it("hands the message over with its Message-ID and headers, and reports the server's reply", async () => {
    sink = await startSmtpSink({ rcpt: (address) => (address === "bob@example.com" ? { code: 550, message: "5.1.1 No such user" } : undefined) });
    const mailer = createMailer({ smtpUrl: sink.url, outboxDir: "unused", rate: 10, concurrency: 2 }, log);
    expect(mailer.target).toBe(`smtp://127.0.0.1:${sink.port}`);
    const sent = await mailer.send(message);
    expect(sent).toMatchObject({ accepted: true, response: expect.stringMatching(/^250 /) });
    expect(await mailer.send({ ...message, to: "bob@example.com" })).toMatchObject({ accepted: false, temporary: false, reason: "550 5.1.1 No such user" });
    await mailer.close();
    expect(sink.received).toHaveLength(1);
    expect(sink.received[0]).toMatchObject({ to: "ann@example.com", messageId: "<snd_abc.r1@acme.test>", subject: "Hello Ann" });
    expect(sink.received[0]!.headers.get("list-unsubscribe-post")).toBe("List-Unsubscribe=One-Click");
  });

  it("reports an unreachable server as a temporary failure", async () => {
    sink = await startSmtpSink();
    const url = sink.url;
    await sink.close();
    const mailer = createMailer({ smtpUrl: url, outboxDir: "unused", rate: 10, concurrency: 1 }, log);
    expect(await mailer.send(message)).toMatchObject({ accepted: false, temporary: true });
    await mailer.close();
  });
});

describe("the outbox mailer", () => {
  it("writes one .eml per message, named by its Message-ID, and overwrites it on a re-send", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sendgate-outbox-"));
    try {
      const lines: string[] = [];
      const mailer = createMailer({ outboxDir: dir, rate: 10, concurrency: 1 }, pino({ level: "info" }, { write: (line: string) => lines.push(line) }));
      expect(JSON.parse(lines[0]!)).toMatchObject({ level: 40, outbox: dir, msg: expect.stringMatching(/SMTP_URL is not set/) });
      expect(await mailer.send(message)).toMatchObject({ accepted: true, response: `written to ${join(dir, "snd_abc.r1@acme.test.eml")}` });
      expect(await mailer.send(message)).toMatchObject({ accepted: true });
      expect(readdirSync(dir)).toEqual(["snd_abc.r1@acme.test.eml"]);
      const parsed = await simpleParser(readFileSync(join(dir, "snd_abc.r1@acme.test.eml")));
      expect(parsed.messageId).toBe("<snd_abc.r1@acme.test>");
      expect(parsed.subject).toBe("Hello Ann");
      expect(parsed.text?.trim()).toBe("Hello Ann");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
