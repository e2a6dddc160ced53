import type { AddressInfo, Socket } from "node:net";
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from "smtp-server";
import { afterEach, describe, expect, it } from "vitest";
import pino from "pino";
import { classifySmtpError, createMailer, smtpConnectionOptions } from "../../src/mail/transport.js";
import { startSmtpSink } from "../sender/support/smtp-sink.js";
import type { SmtpConnectionOptions } from "../../src/mail/smtp/smtp-connection.js";
import { createSmtpPool, type SmtpPool, type SmtpPoolOptions } from "../../src/mail/smtp/smtp-pool.js";

interface Received {
  from: string;
  to: string[];
  data: Buffer;
  session: SMTPServerSession;
}

/** A real SMTP server in the test process that keeps what it receives, counts its sessions and can refuse or hang. */
async function startServer(options: Partial<SMTPServerOptions> = {}) {
  const received: Received[] = [];
  let sessions = 0;
  let open = 0;
  let mostOpen = 0;
  const hung: (() => void)[] = [];
  const sockets = new Map<number, Socket>();
  const server = new SMTPServer({
    authOptional: true,
    logger: false,
    disabledCommands: ["STARTTLS"],
    onConnect(_session, callback) {
      sessions++;
      open++;
      mostOpen = Math.max(mostOpen, open);
      callback();
    },
    onClose() {
      open--;
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        const data = Buffer.concat(chunks);
        received.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "", to: session.envelope.rcptTo.map((r) => r.address), data, session });
        const text = data.toString();
        if (text.includes("HANG")) return void hung.push(() => callback());
        // Cut once the content is in, before any answer: the client cannot know whether it was taken.
        if (text.includes("CUT")) return void sockets.get(session.remotePort)?.destroy();
        if (text.includes("REFUSE-421")) return callback(Object.assign(new Error("4.3.2 Going away"), { responseCode: 421 }));
        if (text.includes("REFUSE-554")) return callback(Object.assign(new Error("5.7.1 Rejected by policy"), { responseCode: 554 }));
        const delay = /DELAY-(\d+)/.exec(text);
        if (delay) return void setTimeout(() => callback(null, "Ok: queued"), Number(delay[1]));
        callback(null, "Ok: queued");
      });
    },
    onRcptTo(address, _session, callback) {
      if (address.address.startsWith("bob@")) return callback(Object.assign(new Error("5.1.1 No such user"), { responseCode: 550 }));
      callback();
    },
    ...options,
  });
  server.server.on("connection", (socket: Socket) => sockets.set(socket.remotePort ?? 0, socket));
  server.on("error", () => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    received,
    get sessions() {
      return sessions;
    },
    get mostOpen() {
      return mostOpen;
    },
    release: () => hung.splice(0).forEach((answer) => answer()),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

type Server = Awaited<ReturnType<typeof startServer>>;

function connectionOptions(port: number, overrides: Partial<SmtpConnectionOptions> = {}): SmtpConnectionOptions {
  return {
    host: "127.0.0.1",
    port,
    secure: false,
    requireTLS: false,
    ignoreTLS: false,
    tls: {},
    clientName: "sendgate.test",
    connectionTimeoutMs: 5_000,
    greetingTimeoutMs: 5_000,
    socketTimeoutMs: 5_000,
    ...overrides,
  };
}

const message = (body: string) => Buffer.from(`From: news@acme.test\r\nTo: ann@example.com\r\nSubject: test\r\n\r\n${body}\r\n`);
const envelope = { from: "news@acme.test", to: "ann@example.com" };

async function failure(work: Promise<unknown>) {
  try {
    await work;
  } catch (error) {
    return error as { code?: string; responseCode?: number; response?: string };
  }
  throw new Error("expected a failure");
}

describe("the SMTP pool", () => {
  let server: Server | undefined;
  let pool: SmtpPool | undefined;
  const start = async (serverOptions: Partial<SMTPServerOptions> = {}, poolOptions: Partial<SmtpPoolOptions> = {}) => {
    server = await startServer(serverOptions);
    pool = createSmtpPool({ ...connectionOptions(server.port), maxConnections: 2, maxMessages: 100, idleTimeoutMs: 10_000, ...poolOptions });
    return { server, pool };
  };
  afterEach(async () => {
    await pool?.close();
    await server?.close();
    pool = undefined;
    server = undefined;
  });

  for (const pipelining of [true, false]) {
    it(`hands messages over byte for byte, dots at line starts included (${pipelining ? "pipelined" : "one command at a time"})`, async () => {
      const { server, pool } = await start(pipelining ? {} : { hidePIPELINING: true } as Partial<SMTPServerOptions>);
      const data = message(".one\r\n..two\r\n.\r\nend");
      const replies = await Promise.all([pool.send(envelope, data), pool.send({ ...envelope, to: "cy@example.com" }, message("second"))]);
      expect(replies).toEqual([expect.stringMatching(/^250 /), expect.stringMatching(/^250 /)]);
      expect(server.received.map((r) => r.to)).toEqual(expect.arrayContaining([["ann@example.com"], ["cy@example.com"]]));
      expect(server.received.find((r) => r.to[0] === "ann@example.com")!.data.equals(data)).toBe(true);
      expect(server.received.every((r) => r.from === "news@acme.test")).toBe(true);
    });
  }

  it("reports a refused recipient with the server's reply and keeps using the connection", async () => {
    const { server, pool } = await start({}, { maxConnections: 1 });
    const refused = await failure(pool.send({ ...envelope, to: "bob@example.com" }, message("x")));
    expect(refused).toMatchObject({ code: "EENVELOPE", responseCode: 550, response: "550 5.1.1 No such user" });
    expect(classifySmtpError(refused)).toEqual({ temporary: false, reason: "550 5.1.1 No such user", response: "550 5.1.1 No such user" });
    expect(await pool.send(envelope, message("after"))).toMatch(/^250 /);
    const rejected = await failure(pool.send(envelope, message("REFUSE-554")));
    expect(rejected).toMatchObject({ code: "EMESSAGE", responseCode: 554 });
    expect(await pool.send(envelope, message("after again"))).toMatch(/^250 /);
    expect(server.sessions).toBe(1);
  });

  it("settles every message of a queue sent over one session, each by its own answer, whatever comes before it", async () => {
    const { server, pool } = await start({}, { maxConnections: 1 });
    const to = (name: string) => ({ ...envelope, to: `${name}@example.com` });
    const outcomes = await Promise.allSettled([
      pool.send(to("bob"), message("refused recipient")),
      pool.send(to("ann"), message("first")),
      pool.send(to("eve"), message("REFUSE-554")),
      pool.send(to("cy"), message("second")),
      pool.send(to("fay"), message("REFUSE-421")),
      pool.send(to("dan"), message("after the server left")),
      pool.send(to("gil"), message("CUT")),
      pool.send(to("hal"), message("after the cut")),
    ]);
    const settled = outcomes.map((outcome) => (outcome.status === "fulfilled" ? "sent" : (outcome.reason as { code: string; responseCode?: number }).responseCode ?? (outcome.reason as { code: string }).code));
    expect(settled).toEqual([550, "sent", 554, "sent", 421, "sent", "ECONNECTION", "sent"]);
    // The messages behind a 421 or a cut went out over a new session, once each.
    expect(server.received.map((r) => r.to[0])).toEqual(["ann@example.com", "eve@example.com", "cy@example.com", "fay@example.com", "dan@example.com", "gil@example.com", "hal@example.com"]);
    expect(server.sessions).toBe(3);
  });

  it("takes a 421 as temporary and goes on over a new connection", async () => {
    const { server, pool } = await start({}, { maxConnections: 1 });
    const closing = await failure(pool.send(envelope, message("REFUSE-421")));
    expect(closing).toMatchObject({ responseCode: 421 });
    expect(classifySmtpError(closing).temporary).toBe(true);
    expect(await pool.send(envelope, message("next"))).toMatch(/^250 /);
    expect(server.sessions).toBe(2);
  });

  it("opens at most maxConnections sessions and a fresh one after maxMessages", async () => {
    const { server, pool } = await start({}, { maxConnections: 3, maxMessages: 2 });
    await Promise.all(Array.from({ length: 12 }, (_, i) => pool.send({ ...envelope, to: `r${i}@example.com` }, message(`DELAY-20 ${i}`))));
    expect(server.received).toHaveLength(12);
    expect(server.mostOpen).toBeLessThanOrEqual(3);
    expect(server.sessions).toBe(6);
  });

  it("ends a connection whose server stops answering, and the next message goes through", async () => {
    const { server, pool } = await start({}, { maxConnections: 1, socketTimeoutMs: 300 });
    const silent = await failure(pool.send(envelope, message("HANG")));
    expect(silent).toMatchObject({ code: "ETIMEDOUT" });
    expect(classifySmtpError(silent).temporary).toBe(true);
    expect(await pool.send(envelope, message("next"))).toMatch(/^250 /);
    server.release();
  });

  it("replaces a connection the server closed while it was idle", async () => {
    const { server, pool } = await start({ socketTimeout: 200 }, { maxConnections: 1 });
    expect(await pool.send(envelope, message("first"))).toMatch(/^250 /);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await pool.send(envelope, message("second"))).toMatch(/^250 /);
    expect(server.sessions).toBe(2);
  });

  it("refuses a message over the server's SIZE without sending it, as permanent", async () => {
    const { server, pool } = await start({ size: 200 });
    const tooBig = await failure(pool.send(envelope, message("x".repeat(500))));
    expect(tooBig).toMatchObject({ code: "EMESSAGE" });
    expect(classifySmtpError(tooBig).temporary).toBe(false);
    expect(server.received).toHaveLength(0);
  });

  it("reports an unreachable server as a temporary connection failure", async () => {
    const { server, pool } = await start();
    await server.close();
    const unreachable = await failure(pool.send(envelope, message("x")));
    expect(unreachable).toMatchObject({ code: "ECONNECTION" });
    expect(classifySmtpError(unreachable).temporary).toBe(true);
  });

  for (const method of ["PLAIN", "LOGIN", "CRAM-MD5"]) {
    it(`logs in with ${method} when that is what the server offers, and a wrong password is EAUTH`, async () => {
      const used: string[] = [];
      const onAuth: SMTPServerOptions["onAuth"] = (auth, _session, callback) => {
        used.push(auth.method);
        const valid = auth.method === "CRAM-MD5" ? auth.validatePassword?.("s3cret") : auth.username === "mailer" && auth.password === "s3cret";
        callback(valid ? null : new Error("Invalid credentials"), valid ? { user: auth.username } : undefined);
      };
      server = await startServer({ authOptional: false, authMethods: [method], onAuth, allowInsecureAuth: true });
      pool = createSmtpPool({ ...connectionOptions(server.port, { auth: { user: "mailer", pass: "s3cret" } }), maxConnections: 1, maxMessages: 10, idleTimeoutMs: 10_000 });
      expect(await pool.send(envelope, message("authenticated"))).toMatch(/^250 /);
      expect(server.received[0]!.session.user).toBe("mailer");
      const wrong = createSmtpPool({ ...connectionOptions(server.port, { auth: { user: "mailer", pass: "nope" } }), maxConnections: 1, maxMessages: 10, idleTimeoutMs: 10_000 });
      expect(await failure(wrong.send(envelope, message("x")))).toMatchObject({ code: "EAUTH", responseCode: 535 });
      await wrong.close();
      expect(used).toEqual([method, method]);
    });
  }

  it("upgrades with STARTTLS when offered, checks the certificate unless told not to, and can require it", async () => {
    server = await startServer({ disabledCommands: [] });
    const untrusted = createSmtpPool({ ...connectionOptions(server.port), maxConnections: 1, maxMessages: 10, idleTimeoutMs: 10_000 });
    // The test server's certificate is self-signed: refused, as an unknown certificate would be in production.
    expect(classifySmtpError(await failure(untrusted.send(envelope, message("x")))).temporary).toBe(true);
    await untrusted.close();
    pool = createSmtpPool({ ...connectionOptions(server.port, { tls: { rejectUnauthorized: false } }), maxConnections: 1, maxMessages: 10, idleTimeoutMs: 10_000 });
    expect(await pool.send(envelope, message("over TLS"))).toMatch(/^250 /);
    expect(server.received[0]!.session.secure).toBe(true);
    await pool.close();

    const plainServer = await startServer();
    const required = createSmtpPool({ ...connectionOptions(plainServer.port, { requireTLS: true }), maxConnections: 1, maxMessages: 10, idleTimeoutMs: 10_000 });
    expect(await failure(required.send(envelope, message("x")))).toMatchObject({ code: "ETLS" });
    expect(plainServer.received).toHaveLength(0);
    await required.close();
    await plainServer.close();
  });

  it("refuses new messages once closed", async () => {
    const { pool } = await start();
    await pool.close();
    expect(await failure(pool.send(envelope, message("late")))).toMatchObject({ code: "ECONNECTION" });
  });
});

describe("SMTP_URL", () => {
  it("gives the built-in pool its host, port, TLS and credentials, and leaves other options to nodemailer", () => {
    expect(smtpConnectionOptions("smtp://mailer:p%40ss@mail.acme.test:2525")).toMatchObject({
      host: "mail.acme.test",
      port: 2525,
      secure: false,
      auth: { user: "mailer", pass: "p@ss" },
    });
    expect(smtpConnectionOptions("smtps://mail.acme.test")).toMatchObject({ port: 465, secure: true });
    expect(smtpConnectionOptions("smtp://mail.acme.test")).toMatchObject({ port: 587, secure: false, auth: undefined });
    expect(smtpConnectionOptions("smtp://mail.acme.test:25?requireTLS=true&tls.rejectUnauthorized=false&name=mx.acme.test")).toMatchObject({
      requireTLS: true,
      tls: { rejectUnauthorized: false },
      clientName: "mx.acme.test",
    });
    expect(smtpConnectionOptions("smtp://mail.acme.test?service=gmail&dkim.keySelector=x")).toEqual({ unsupported: "service, dkim.keySelector" });
  });

  it("with an option only nodemailer knows, still delivers the same composed message, through nodemailer's pool", async () => {
    const sink = await startSmtpSink({ rcpt: (address) => (address === "bob@example.com" ? { code: 550, message: "5.1.1 No such user" } : undefined) });
    const lines: string[] = [];
    const mailer = createMailer({ smtpUrl: `${sink.url}?connectionTimeout=20000`, outboxDir: "unused", rate: 10, concurrency: 1 }, pino({ level: "info" }, { write: (line: string) => lines.push(line) }));
    try {
      const message = {
        from: { name: "Acme", address: "news@acme.test" },
        to: "ann@example.com",
        subject: "Grüße, Ann",
        html: "<p>Hello Ann</p>",
        text: "Hello Ann",
        messageId: "<snd_abc.r1@acme.test>",
        headers: { "List-Unsubscribe": "<https://acme.test/u/1>" },
      };
      expect(await mailer.send(message)).toMatchObject({ accepted: true, response: expect.stringMatching(/^250 /) });
      expect(await mailer.send({ ...message, to: "bob@example.com" })).toMatchObject({ accepted: false, temporary: false, reason: "550 5.1.1 No such user" });
      expect(sink.received).toHaveLength(1);
      expect(sink.received[0]).toMatchObject({ to: "ann@example.com", messageId: "<snd_abc.r1@acme.test>", subject: "Grüße, Ann", text: "Hello Ann" });
      expect(lines.map((line) => JSON.parse(line) as { msg: string; options?: string })).toContainEqual(expect.objectContaining({ options: "connectionTimeout", msg: expect.stringMatching(/nodemailer's pool/) }));
    } finally {
      await mailer.close();
      await sink.close();
    }
  });
});
