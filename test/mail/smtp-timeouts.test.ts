import net, { type AddressInfo } from "node:net";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { createMailer, type Mailer } from "../../src/mail/transport.js";
import { startSmtpSink, type SmtpSink } from "../sender/support/smtp-sink.js";
import { messageToAnn } from "./support/messages.js";

/** Short waits read as an operator would set them; the defaults (30 s, 30 s, 60 s) would outlast the test. */
const timeouts = loadConfig({
  SLACK_BOT_TOKEN: "xoxb-1-2-3",
  SLACK_SIGNING_SECRET: "secret",
  SLACK_APPROVALS_CHANNEL: "C0APPROVALS",
  APPROVERS: "U0AAA",
  API_TOKENS: "0123456789abcdef0123456789abcdef0123",
  SMTP_CONNECTION_TIMEOUT_SECONDS: "0.3",
  SMTP_GREETING_TIMEOUT_SECONDS: "0.2",
  SMTP_SOCKET_TIMEOUT_SECONDS: "0.5",
}).mail.timeouts;

const message = messageToAnn({ messageId: "<snd_t.r1@acme.test>" });

/** A raw TCP server that says only what it is told to, then never another word. */
async function startSilentServer(greeting: string | undefined) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    if (greeting) socket.write(greeting);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `smtp://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The built-in pool serves a plain SMTP_URL; an option only nodemailer knows hands the same URL to nodemailer's pool. */
const pools = [
  { pool: "the built-in pool", url: (base: string) => base },
  { pool: "nodemailer's pool", url: (base: string) => `${base}?debug=false` },
];

describe.each(pools)("SMTP timeouts from the configuration, $pool", ({ url }) => {
  let mailer: Mailer | undefined;
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await mailer?.close();
    mailer = undefined;
    for (const close of closers.splice(0)) await close();
  });

  const sendTo = async (base: string) => {
    mailer = createMailer({ smtpUrl: url(base), outboxDir: "unused", rate: 10, concurrency: 1, timeouts }, pino({ level: "silent" }));
    const started = performance.now();
    const outcome = await mailer.send(message);
    return { outcome, seconds: (performance.now() - started) / 1000 };
  };

  it("reads SMTP_*_TIMEOUT_SECONDS as milliseconds", () => {
    expect(timeouts).toEqual({ connectionMs: 300, greetingMs: 200, socketMs: 500 });
  });

  it("gives up on a server that accepts the connection and never greets, within the greeting timeout", async () => {
    const server = await startSilentServer(undefined);
    closers.push(server.close);
    const { outcome, seconds } = await sendTo(server.url);
    expect(outcome).toMatchObject({ accepted: false, temporary: true, reason: expect.stringMatching(/^ETIMEDOUT: Greeting never received/) });
    // Well short of the 30 s default, which the test's own 5 s limit would not wait for.
    expect(seconds).toBeLessThan(3);
  });

  it("gives up on a server that greets and then hangs, within the socket timeout", async () => {
    const server = await startSilentServer("220 hang.test ESMTP\r\n");
    closers.push(server.close);
    const { outcome, seconds } = await sendTo(server.url);
    expect(outcome).toMatchObject({ accepted: false, temporary: true, reason: expect.stringMatching(/^ETIMEDOUT/) });
    // A timer never fires early: at least the configured 0.5 s of silence, and far from the 60 s default.
    expect(seconds).toBeGreaterThanOrEqual(0.45);
    expect(seconds).toBeLessThan(3);
  });

  it("gives up on a server that reads the whole message and never answers, within the socket timeout", async () => {
    const sink: SmtpSink = await startSmtpSink({ received: () => new Promise<void>(() => {}) });
    closers.push(() => sink.close());
    const { outcome, seconds } = await sendTo(sink.url);
    expect(outcome).toMatchObject({ accepted: false, temporary: true, reason: expect.stringMatching(/^ETIMEDOUT/) });
    // The message did arrive: this is the case where a retry may show the recipient a second copy.
    expect(sink.received).toHaveLength(1);
    expect(seconds).toBeGreaterThanOrEqual(0.45);
    expect(seconds).toBeLessThan(3);
  });
});
