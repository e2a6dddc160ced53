import { simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";

export interface ReceivedMail {
  to: string;
  messageId: string;
  subject: string;
  html: string;
  text: string;
  /** Header name (lower case) → raw value, as it came over the wire. */
  headers: Map<string, string>;
  /** The message exactly as received (DATA), for signature checks. */
  raw: Buffer;
}

export interface SinkBehaviour {
  /** Per RCPT TO: undefined accepts; otherwise the reply given (4xx temporary, 5xx permanent). */
  rcpt?(address: string, attempt: number): { code: number; message: string } | undefined;
  /** Runs once a message is received in full, before the server answers it. */
  received?(mail: ReceivedMail, count: number): void | Promise<void>;
}

export interface SmtpSink {
  url: string;
  port: number;
  received: ReceivedMail[];
  /** RCPT TO attempts per address, refused ones included. */
  attempts: Map<string, number>;
  behaviour: SinkBehaviour;
  countFor(address: string): number;
  close(): Promise<void>;
}

/** A real SMTP server in the test process: what the engine hands over is parsed and kept. */
export async function startSmtpSink(behaviour: SinkBehaviour = {}): Promise<SmtpSink> {
  const received: ReceivedMail[] = [];
  const attempts = new Map<string, number>();
  const sink = { behaviour } as SmtpSink;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onRcptTo(address, _session, callback) {
      const email = address.address.toLowerCase();
      const attempt = (attempts.get(email) ?? 0) + 1;
      attempts.set(email, attempt);
      const refusal = sink.behaviour.rcpt?.(email, attempt);
      if (!refusal) return callback();
      callback(Object.assign(new Error(refusal.message), { responseCode: refusal.code }));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      new Promise<Buffer>((resolve, reject) => {
        stream.once("end", () => resolve(Buffer.concat(chunks)));
        stream.once("error", reject);
      })
        .then(async (raw) => ({ raw, parsed: await simpleParser(raw) }))
        .then(async ({ raw, parsed }) => {
          const headers = new Map(parsed.headerLines.map((h) => [h.key, h.line.slice(h.line.indexOf(":") + 1).trim()]));
          const mail: ReceivedMail = {
            to: (session.envelope.rcptTo[0]?.address ?? "").toLowerCase(),
            messageId: parsed.messageId ?? "",
            subject: parsed.subject ?? "",
            html: typeof parsed.html === "string" ? parsed.html : "",
            text: parsed.text ?? "",
            headers,
            raw,
          };
          received.push(mail);
          await sink.behaviour.received?.(mail, received.length);
          callback(null, `2.0.0 Ok: queued as Q${received.length}`);
        })
        .catch((error: Error) => callback(error));
    },
  });
  // A client killed mid-session (the crash test) resets its connection; that is no failure of the sink.
  server.on("error", () => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as { port: number }).port;
  return Object.assign(sink, {
    url: `smtp://127.0.0.1:${port}`,
    port,
    received,
    attempts,
    countFor: (address: string) => received.filter((mail) => mail.to === address).length,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
