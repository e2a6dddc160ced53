import type { Socket } from "node:net";
import { SMTPServer } from "smtp-server";

/** What the sink does with one message, decided when its DATA begins. */
export type SinkAction =
  /** Takes it (250), after `delayMs` when set: a slow server. */
  | { kind: "accept"; delayMs?: number }
  /** Reads it in full, then refuses it with this reply (421 also closes the connection, as the RFC says). */
  | { kind: "refuse"; code: number; message: string }
  /** Cuts the connection once part of the message has arrived. */
  | { kind: "drop" }
  /** Reads it in full and never answers: the client's socket timeout ends it. */
  | { kind: "hang" };

export interface SinkContext {
  /** The envelope's recipient, lower case. */
  to: string;
  /** How many times DATA began for this recipient, this one included. */
  attempt: number;
  /** Messages whose DATA began so far, this one included. */
  count: number;
}

/** One transmission of a message, whatever became of it. */
export interface Copy {
  to: string;
  /** As the header reads, with angle brackets; empty when the message was cut before its headers. */
  messageId: string;
  /** `accepted`: answered 250. `refused`: answered 4xx/5xx. `dropped`: cut mid-DATA. `unanswered`: hung up on while the sink kept silent. */
  outcome: "accepted" | "refused" | "dropped" | "unanswered";
  /** Date.now() when the outcome was given (accepted: when 250 was sent). */
  at: number;
}

export interface FaultSink {
  url: string;
  port: number;
  /** Every transmission, in the order their outcomes were given. */
  copies: Copy[];
  /** The ones answered 250: what a receiving system delivers. */
  accepted(): Copy[];
  /** Decides each message's fate; accepts everything by default. Swap it at any time. */
  behaviour: (context: SinkContext) => SinkAction;
  /** Runs before a message is answered 250; the answer waits for it (a test may kill the sender meanwhile). */
  onAccepting?: (copy: Copy, acceptedSoFar: number) => void | Promise<void>;
  /** Resolves once `count` messages have been accepted in all. */
  untilAccepted(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const acceptAll = (): SinkAction => ({ kind: "accept" });

/** The Message-ID header of a raw message's head (folded lines included). */
export function scanMessageId(raw: string): string {
  const headEnd = raw.indexOf("\r\n\r\n");
  const head = (headEnd === -1 ? raw : raw.slice(0, headEnd)).replace(/\r\n[ \t]+/g, " ");
  const line = head.split("\r\n").find((header) => /^message-id:/i.test(header));
  return line ? line.slice(line.indexOf(":") + 1).trim() : "";
}

/**
 * A real SMTP server in the test process whose behaviour a test switches per message: accept, refuse
 * (421, 451, 550…), drop the connection mid-DATA, hang without answering, or answer slowly. It keeps
 * every transmission with its Message-ID, so a case counts delivered, lost and received-twice here,
 * at the far side of the wire, not from what sendgate believes.
 */
export async function startFaultSink(behaviour: (context: SinkContext) => SinkAction = acceptAll): Promise<FaultSink> {
  const copies: Copy[] = [];
  const attempts = new Map<string, number>();
  const sockets = new Map<number, Socket>();
  const hung: (() => void)[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  let begun = 0;
  let acceptedCount = 0;

  const sink = { behaviour } as FaultSink;
  const give = (copy: Copy) => {
    copies.push(copy);
    if (copy.outcome !== "accepted") return;
    acceptedCount++;
    for (const waiter of waiters.filter((w) => w.count <= acceptedCount)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  };

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    // Longer than any client timeout: a hanging server is ended by the client, as in life.
    socketTimeout: 10 * 60_000,
    // The sender under test may be killed holding idle connections: closing never waits long for them.
    closeTimeout: 500,
    onData(stream, session, callback) {
      const to = (session.envelope.rcptTo[0]?.address ?? "").toLowerCase();
      const attempt = (attempts.get(to) ?? 0) + 1;
      attempts.set(to, attempt);
      const action = sink.behaviour({ to, attempt, count: ++begun });
      const chunks: Buffer[] = [];
      let cut = false;
      stream.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        if (action.kind === "drop" && !cut) {
          cut = true;
          give({ to, messageId: scanMessageId(Buffer.concat(chunks).toString("latin1")), outcome: "dropped", at: Date.now() });
          sockets.get(session.remotePort)?.destroy();
        }
      });
      stream.once("error", () => {});
      stream.once("end", () => {
        if (cut) return;
        const messageId = scanMessageId(Buffer.concat(chunks).toString("latin1"));
        void answer({ to, messageId }, action, callback);
      });
    },
  });

  async function answer(message: { to: string; messageId: string }, action: SinkAction, callback: (error?: Error | null, reply?: string) => void) {
    if (action.kind === "hang") {
      // Never answered; the copy counts as unanswered once the client gives up on the connection.
      hung.push(() => callback(Object.assign(new Error("closing"), { responseCode: 421 })));
      give({ ...message, outcome: "unanswered", at: Date.now() });
      return;
    }
    if (action.kind === "refuse") {
      give({ ...message, outcome: "refused", at: Date.now() });
      callback(Object.assign(new Error(action.message), { responseCode: action.code }));
      return;
    }
    if (action.kind === "accept" && action.delayMs) await new Promise((resolve) => setTimeout(resolve, action.delayMs));
    const copy: Copy = { ...message, outcome: "accepted", at: 0 };
    try {
      await sink.onAccepting?.(copy, acceptedCount + 1);
    } catch (error) {
      callback(error as Error);
      return;
    }
    copy.at = Date.now();
    give(copy);
    callback(null, `2.0.0 Ok: queued as Q${acceptedCount}`);
  }

  server.server.on("connection", (socket: Socket) => {
    const port = socket.remotePort ?? 0;
    sockets.set(port, socket);
    socket.once("close", () => sockets.delete(port));
  });
  // A sender killed mid-session or a connection the sink cuts: no failure of the sink.
  server.on("error", () => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as { port: number }).port;
  return Object.assign(sink, {
    url: `smtp://127.0.0.1:${port}`,
    port,
    copies,
    accepted: () => copies.filter((copy) => copy.outcome === "accepted"),
    untilAccepted(count: number, timeoutMs = 120_000) {
      if (acceptedCount >= count) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the sink accepted ${acceptedCount} messages, not ${count}, within ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ count, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
    async close() {
      for (const release of hung.splice(0)) release();
      for (const socket of sockets.values()) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}
