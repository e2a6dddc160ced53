import { createHmac } from "node:crypto";
import net from "node:net";
import tls from "node:tls";

/** Where and how to connect: what an `smtp://` or `smtps://` URL says, with the pool's timeouts. */
export interface SmtpConnectionOptions {
  host: string;
  port: number;
  /** TLS from the first byte (smtps, port 465); otherwise STARTTLS when the server offers it. */
  secure: boolean;
  /** Refuse to go on without STARTTLS. */
  requireTLS: boolean;
  /** Never use STARTTLS, even when offered. */
  ignoreTLS: boolean;
  tls: tls.ConnectionOptions;
  auth?: { user: string; pass: string };
  /** The name this client gives in EHLO. */
  clientName: string;
  connectionTimeoutMs: number;
  greetingTimeoutMs: number;
  /** Silence from the server for this long ends the connection. */
  socketTimeoutMs: number;
}

export interface Envelope {
  from: string;
  to: string;
}

/**
 * A failure with nodemailer's error codes (ECONNECTION, ETIMEDOUT, ETLS, EAUTH, EPROTOCOL, EENVELOPE,
 * EMESSAGE…) and, for a refusal, the server's reply, so that one classification serves both.
 */
export class SmtpError extends Error {
  readonly code: string;
  readonly response?: string;
  readonly responseCode?: number;
  readonly command?: string;
  constructor(message: string, code: string, reply?: Reply, command?: string) {
    super(reply ? `${message}: ${reply.text}` : message);
    this.name = "SmtpError";
    this.code = code;
    if (reply) {
      this.response = reply.text;
      this.responseCode = reply.code;
    }
    this.command = command;
  }
}

interface Reply {
  code: number;
  /** The reply as the server wrote it, lines joined with "\n". */
  text: string;
}

type Waiter = (reply: Reply | SmtpError) => void;

/** One message for the session to hand over, and where its outcome goes. */
export interface SmtpJob {
  envelope: Envelope;
  /** The message, CRLF line breaks. */
  data: Buffer;
  resolve(response: string): void;
  reject(error: Error): void;
  /** Set once a session gave it back unsent. */
  givenBack?: boolean;
}

interface EnvelopeReplies {
  mail: Reply;
  rcpt?: Reply;
  data?: Reply;
}

/** Why the server would not take the message, from its answers to MAIL FROM, RCPT TO and DATA. */
function envelopeRefusal({ mail, rcpt, data }: EnvelopeReplies): SmtpError | undefined {
  if (!isPositive(mail)) return new SmtpError("Mail command failed", "EENVELOPE", mail, "MAIL FROM");
  if (rcpt && !isPositive(rcpt)) return new SmtpError("Can't send mail - all recipients were rejected", "EENVELOPE", rcpt, "RCPT TO");
  if (data && data.code !== 354 && !isPositive(data)) return new SmtpError("Data command failed", "EENVELOPE", data, "DATA");
  if (!rcpt || !data) return new SmtpError("The server did not answer the envelope", "EPROTOCOL", mail, "MAIL FROM");
  return undefined;
}

const MAX_REPLY_BYTES = 64 * 1024;
const QUIT_WAIT_MS = 5_000;
const DOT = 0x2e;
const END_OF_DATA = Buffer.from(".\r\n", "latin1");
const CRLF_END_OF_DATA = Buffer.from("\r\n.\r\n", "latin1");
const LINE_DOT = Buffer.from("\n.", "latin1");

/** A dot that starts a line is doubled (RFC 5321 §4.5.2); quoted-printable parts have none, so this is mostly one search. */
function dotStuffed(data: Buffer): Buffer {
  if (data[0] !== DOT && data.indexOf(LINE_DOT) === -1) return data;
  const pieces: Buffer[] = [];
  let start = 0;
  if (data[0] === DOT) pieces.push(Buffer.from("."));
  for (let at = data.indexOf(LINE_DOT); at !== -1; at = data.indexOf(LINE_DOT, at + 1)) {
    pieces.push(data.subarray(start, at + 2), Buffer.from("."));
    start = at + 2;
  }
  pieces.push(data.subarray(start));
  return Buffer.concat(pieces);
}

/**
 * One SMTP session, kept open for many messages: greeting, EHLO, STARTTLS, AUTH, then per message
 * MAIL FROM, RCPT TO and DATA written together when the server pipelines (RFC 2920), and the message
 * in one write. Written for the delivery engine's one recipient a message; nodemailer's connection
 * does much more per message (streams, transforms, logging) and cost several times the CPU.
 */
export class SmtpConnection {
  #socket: net.Socket | undefined;
  #buffer = "";
  #lines: string[] = [];
  #waiting: Waiter[] = [];
  #extensions = new Set<string>();
  #authMethods: string[] = [];
  #maxSize = 0;
  #failure: SmtpError | undefined;
  /** The server said 421 or the session broke: finish what is in hand, take nothing more. */
  #spent = false;
  #onClose: (() => void) | undefined;

  constructor(private readonly options: SmtpConnectionOptions) {}

  /** False once the session broke, the server is closing it, or it was closed. */
  get usable(): boolean {
    return !this.#spent && this.#failure === undefined && this.#socket !== undefined && !this.#socket.destroyed;
  }

  /** Called once when the connection ends, whoever ended it. */
  onClose(listener: () => void) {
    this.#onClose = listener;
  }

  async connect(): Promise<void> {
    const { host, port, secure, connectionTimeoutMs, greetingTimeoutMs } = this.options;
    const socket = secure ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ...this.options.tls }) : net.connect({ host, port });
    this.#attach(socket);
    await this.#within(connectionTimeoutMs, "Connection timeout", new Promise<void>((resolve) => socket.once(secure ? "secureConnect" : "connect", () => resolve())));
    socket.setNoDelay(true);
    socket.setTimeout(this.options.socketTimeoutMs);
    const greeting = await this.#within(greetingTimeoutMs, "Greeting never received", this.#reply());
    if (greeting instanceof SmtpError) throw greeting;
    if (greeting.code !== 220) throw this.#fail(new SmtpError("Invalid greeting", "EPROTOCOL", greeting, "CONN"));
    await this.#hello();
    if (!secure && !this.options.ignoreTLS && (this.#extensions.has("STARTTLS") || this.options.requireTLS)) {
      if (!this.#extensions.has("STARTTLS")) throw this.#fail(new SmtpError("The server does not offer STARTTLS, which SMTP_URL requires", "ETLS", undefined, "EHLO"));
      await this.#startTls();
      await this.#hello();
    }
    if (this.options.auth) await this.#authenticate(this.options.auth);
  }

  /**
   * Hands messages over one after another: `first`, then whatever `pull` gives while the session is
   * sound, `limit` at most. Each outcome goes to its job; nothing is thrown. When the server pipelines,
   * the next message's MAIL FROM, RCPT TO and DATA go out in the same write as this message's data
   * (RFC 2920 lets a group start with message content), which saves a write and a round trip each; a
   * message whose envelope went out but whose content did not, when the session breaks, is handed to
   * `requeue`, since nothing of it was delivered. Resolves with the number of messages attempted.
   */
  async deliver(first: SmtpJob, pull: () => SmtpJob | undefined, requeue: (job: SmtpJob) => void, limit: number): Promise<number> {
    const pipelining = this.#extensions.has("PIPELINING");
    /** Nothing of it went out, so another session may take it, once; a second time it fails with the session. */
    const giveBack = (job: SmtpJob, error: SmtpError) => {
      if (job.givenBack) return job.reject(error);
      job.givenBack = true;
      requeue(job);
    };
    let attempted = 0;
    let job: SmtpJob | undefined = first;
    /** The envelope of `job`, when it went out behind the previous message's content. */
    let envelope: Promise<EnvelopeReplies | SmtpError> | undefined;
    while (job) {
      attempted++;
      if (!this.usable) {
        giveBack(job, this.#failure ?? new SmtpError("The connection is closed", "ECONNECTION", undefined, "CONN"));
        return attempted - 1;
      }
      const problem = this.#problemWith(job);
      if (problem) {
        job.reject(problem);
        job = attempted < limit ? pull() : undefined;
        continue;
      }
      const behind = envelope !== undefined;
      const replies = await (envelope ?? this.#sendEnvelope(job, pipelining));
      envelope = undefined;
      if (replies instanceof SmtpError) {
        // The session broke before any of the message's content went out.
        if (behind) giveBack(job, replies);
        else job.reject(replies);
        return attempted - (behind ? 1 : 0);
      }
      const refusal = envelopeRefusal(replies);
      if (refusal) {
        job.reject(refusal);
        await this.#endRefusedTransaction(replies.data);
        job = attempted < limit ? pull() : undefined;
        continue;
      }
      const next = attempted < limit && pipelining ? this.#pullSound(pull) : undefined;
      const final = this.#reply();
      const socket = this.#socket as net.Socket;
      socket.cork();
      socket.write(dotStuffed(job.data));
      socket.write(job.data[job.data.length - 1] === 0x0a ? END_OF_DATA : CRLF_END_OF_DATA);
      if (next) envelope = this.#sendEnvelope(next, true);
      socket.uncork();
      const answer = await final;
      if (answer instanceof SmtpError) job.reject(answer);
      else if (isPositive(answer)) job.resolve(answer.text);
      else job.reject(new SmtpError("Message failed", "EMESSAGE", answer, "DATA"));
      job = next ?? (attempted < limit && !pipelining ? pull() : undefined);
    }
    return attempted;
  }

  /** The next job this session can take; those it cannot are refused on the way. */
  #pullSound(pull: () => SmtpJob | undefined): SmtpJob | undefined {
    for (let job = pull(); job; job = pull()) {
      const problem = this.#problemWith(job);
      if (!problem) return job;
      job.reject(problem);
    }
    return undefined;
  }

  /** A job this session cannot take at all: refused without a word to the server. */
  #problemWith(job: SmtpJob): SmtpError | undefined {
    const { from, to } = job.envelope;
    if (/[\r\n<>]/.test(from) || /[\r\n<>]/.test(to) || !to) return new SmtpError(`Invalid envelope ${JSON.stringify(job.envelope)}`, "EENVELOPE", undefined, "API");
    if (this.#maxSize > 0 && job.data.length > this.#maxSize) return new SmtpError(`Message size larger than allowed ${this.#maxSize}`, "EMESSAGE", undefined, "MAIL FROM");
    return undefined;
  }

  /** MAIL FROM, RCPT TO and DATA: written together when pipelining (the socket may be corked around them), else one by one. */
  async #sendEnvelope(job: SmtpJob, pipelining: boolean): Promise<EnvelopeReplies | SmtpError> {
    const { from, to } = job.envelope;
    const international = /[^\p{ASCII}]/u.test(from + to) && this.#extensions.has("SMTPUTF8");
    const mailFrom = `MAIL FROM:<${from}>${international ? " SMTPUTF8" : ""}`;
    const rcptTo = `RCPT TO:<${to}>`;
    if (pipelining) {
      const replies = [this.#reply(), this.#reply(), this.#reply()] as const;
      this.#write(`${mailFrom}\r\n${rcptTo}\r\nDATA\r\n`);
      const [mail, rcpt, data] = await Promise.all(replies);
      if (mail instanceof SmtpError) return mail;
      if (rcpt instanceof SmtpError) return rcpt;
      if (data instanceof SmtpError) return data;
      return { mail, rcpt, data };
    }
    const mail = await this.#command(mailFrom);
    if (mail instanceof SmtpError) return mail;
    if (!isPositive(mail)) return { mail };
    const rcpt = await this.#command(rcptTo);
    if (rcpt instanceof SmtpError || !isPositive(rcpt)) return rcpt instanceof SmtpError ? rcpt : { mail, rcpt };
    const data = await this.#command("DATA");
    return data instanceof SmtpError ? data : { mail, rcpt, data };
  }

  /** QUIT, then the socket closes; never throws. */
  quit() {
    const socket = this.#socket;
    if (!socket || socket.destroyed) return;
    this.#spent = true;
    if (this.#failure !== undefined) {
      socket.destroy();
      return;
    }
    socket.end("QUIT\r\n");
    // A server that never closes its side is not waited for.
    setTimeout(() => socket.destroy(), QUIT_WAIT_MS).unref();
  }

  destroy() {
    this.#spent = true;
    this.#socket?.destroy();
  }

  /**
   * After a refused envelope the session goes on: a server that took DATA anyway gets an empty
   * message ended at once, then RSET clears the transaction. A 421 means the server is closing.
   */
  async #endRefusedTransaction(dataReply: Reply | undefined) {
    if (dataReply?.code === 354) await this.#command(".");
    if (!this.usable) return;
    const reset = await this.#command("RSET");
    if (reset instanceof SmtpError || !isPositive(reset)) this.#spent = true;
  }

  async #hello() {
    let hello = await this.#setupCommand(`EHLO ${this.options.clientName}`);
    this.#extensions = new Set();
    this.#authMethods = [];
    this.#maxSize = 0;
    if (!isPositive(hello)) {
      hello = await this.#setupCommand(`HELO ${this.options.clientName}`);
      if (!isPositive(hello)) throw this.#fail(new SmtpError("EHLO and HELO refused", "EPROTOCOL", hello, "HELO"));
      return;
    }
    for (const line of hello.text.split("\n").slice(1)) {
      const words = line.slice(4).trim().toUpperCase().split(/[\s=]+/);
      const [keyword, ...rest] = words;
      if (!keyword) continue;
      this.#extensions.add(keyword);
      if (keyword === "AUTH") this.#authMethods.push(...rest);
      if (keyword === "SIZE") this.#maxSize = Number(rest[0]) || 0;
    }
  }

  async #startTls() {
    const reply = await this.#setupCommand("STARTTLS");
    if (reply.code !== 220) throw this.#fail(new SmtpError("Error upgrading the connection with STARTTLS", "ETLS", reply, "STARTTLS"));
    const plain = this.#socket as net.Socket;
    plain.removeAllListeners("data");
    plain.removeAllListeners("close");
    plain.removeAllListeners("error");
    plain.removeAllListeners("timeout");
    plain.setTimeout(0);
    const { host } = this.options;
    const secured = tls.connect({ socket: plain, servername: net.isIP(host) ? undefined : host, ...this.options.tls });
    // Whatever came in the clear after the server's go-ahead is not trusted (RFC 3207 §4.2).
    this.#buffer = "";
    this.#lines = [];
    this.#attach(secured);
    await this.#within(this.options.connectionTimeoutMs, "TLS negotiation timeout", new Promise<void>((resolve) => secured.once("secureConnect", () => resolve())));
    secured.setNoDelay(true);
    secured.setTimeout(this.options.socketTimeoutMs);
  }

  async #authenticate(auth: { user: string; pass: string }) {
    const offered = this.#authMethods;
    const method = ["PLAIN", "LOGIN", "CRAM-MD5"].find((m) => offered.includes(m)) ?? "PLAIN";
    const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");
    let reply: Reply;
    if (method === "PLAIN") {
      reply = await this.#setupCommand(`AUTH PLAIN ${b64(`\u0000${auth.user}\u0000${auth.pass}`)}`);
    } else if (method === "LOGIN") {
      reply = await this.#setupCommand("AUTH LOGIN");
      if (reply.code === 334) reply = await this.#setupCommand(b64(auth.user));
      if (reply.code === 334) reply = await this.#setupCommand(b64(auth.pass));
    } else {
      reply = await this.#setupCommand("AUTH CRAM-MD5");
      if (reply.code === 334) {
        const challenge = Buffer.from(reply.text.slice(4).trim(), "base64").toString("latin1");
        reply = await this.#setupCommand(b64(`${auth.user} ${createHmac("md5", auth.pass).update(challenge, "latin1").digest("hex")}`));
      }
    }
    if (reply.code !== 235) throw this.#fail(new SmtpError("Invalid login", "EAUTH", reply, `AUTH ${method}`));
  }

  #attach(socket: net.Socket) {
    this.#socket = socket;
    socket.on("data", (chunk: Buffer) => this.#read(chunk));
    socket.on("error", (error: NodeJS.ErrnoException) => {
      const code = error.code === "ENOTFOUND" || error.code === "EAI_AGAIN" ? "EDNS" : socket instanceof tls.TLSSocket && !socket.authorized && /certificate|ssl|tls/i.test(error.message) ? "ETLS" : "ECONNECTION";
      this.#fail(Object.assign(new SmtpError(error.message, code, undefined, "CONN"), { originalCode: error.code }));
    });
    socket.on("timeout", () => {
      this.#fail(new SmtpError("Timeout", "ETIMEDOUT", undefined, "CONN"));
      socket.destroy();
    });
    socket.on("close", () => {
      this.#fail(new SmtpError("Connection closed unexpectedly", "ECONNECTION", undefined, "CONN"));
      this.#spent = true;
      const listener = this.#onClose;
      this.#onClose = undefined;
      listener?.();
    });
  }

  #read(chunk: Buffer) {
    this.#buffer += chunk.toString("latin1");
    for (let end = this.#buffer.indexOf("\n"); end !== -1; end = this.#buffer.indexOf("\n")) {
      let line = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 1);
      if (line.endsWith("\r")) line = line.slice(0, -1);
      if (/[^\p{ASCII}]/u.test(line)) line = Buffer.from(line, "latin1").toString("utf8");
      if (line.length > 3 && line[3] === "-") {
        this.#lines.push(line);
        continue;
      }
      const lines = this.#lines;
      this.#lines = [];
      lines.push(line);
      const reply = { code: Number(line.slice(0, 3)) || 0, text: lines.join("\n") };
      // 421 may come at any time, answering a command or not: the server is going away.
      if (reply.code === 421) this.#spent = true;
      const waiter = this.#waiting.shift();
      if (waiter) waiter(reply);
      else this.#spent = true;
    }
    if (this.#buffer.length > MAX_REPLY_BYTES) {
      this.#fail(new SmtpError("Server response exceeds maximum allowed size", "EPROTOCOL", undefined, "CONN"));
      this.#socket?.destroy();
    }
  }

  /** The next reply, or the failure that ended the session: never rejects, so a reply nobody awaits any more is no unhandled rejection. */
  #reply(): Promise<Reply | SmtpError> {
    if (this.#failure) return Promise.resolve(this.#failure);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #write(text: string) {
    (this.#socket as net.Socket).write(text);
  }

  async #command(line: string): Promise<Reply | SmtpError> {
    const reply = this.#reply();
    this.#write(`${line}\r\n`);
    return reply;
  }

  /** A command during set-up, where a broken session ends the attempt. */
  async #setupCommand(line: string): Promise<Reply> {
    const reply = await this.#command(line);
    if (reply instanceof SmtpError) throw reply;
    return reply;
  }

  /** The first failure wins: every reply still awaited gets it, and the connection takes nothing more. */
  #fail(error: SmtpError): SmtpError {
    if (this.#failure) return this.#failure;
    this.#failure = error;
    this.#spent = true;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const waiter of waiting) waiter(error);
    return error;
  }

  async #within<T>(ms: number, message: string, work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const failure = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(this.#fail(new SmtpError(message, "ETIMEDOUT", undefined, "CONN")));
        this.#socket?.destroy();
      }, ms);
    });
    // A connection that fails first rejects through the replies it waits for, or through its close.
    const closed = new Promise<never>((_, reject) => {
      const check = () => (this.#failure ? reject(this.#failure) : undefined);
      this.#socket?.once("close", check);
      this.#socket?.once("error", () => setImmediate(check));
    });
    try {
      return await Promise.race([work, failure, closed]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function isPositive(reply: Reply): boolean {
  return reply.code >= 200 && reply.code < 300;
}
