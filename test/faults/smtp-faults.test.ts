import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { resumeSending } from "../../src/sendings/resume-sending.js";
import { systemClock } from "../../src/sendings/support/ports.js";
import { approversOf, givenSending, silentLog } from "../sender/support/fixtures.js";
import { createFaultDatabase, type FaultDatabase } from "./support/databases.js";
import { startConfiguredEngine, type RunningEngine } from "./support/engine.js";
import { startFaultSink, type Copy, type FaultSink, type SinkAction, type SinkContext } from "./support/fault-sink.js";
import { countAtSink, reportCase, type SinkFigures } from "./support/figures.js";
import { indexOf, recordedRecipients, untilStatus } from "./support/waits.js";

/** The settings every SMTP case runs with; delays scaled down (SEND_RETRY_SECONDS=1: retries after 1 s, then 4 s). */
const SETTINGS = { SEND_RATE: "200", SEND_CONCURRENCY: "4", SEND_MAX_ATTEMPTS: "3", SEND_RETRY_SECONDS: "1" };
const RETRY_MS = 1_000;
const accept: SinkAction = { kind: "accept" };

/**
 * The mail server misbehaves the ways mail servers do: connections cut mid-DATA, 421 and 451 replies
 * for a while, a server that takes a message and never answers, a slow one, one that refuses
 * everything. Each case counts at the server what arrived, and checks that sendgate retried as
 * configured, recorded what the server said, and paused on its error budget when it should, and
 * only then.
 */
describe("SMTP faults", () => {
  let db: FaultDatabase;
  let sink: FaultSink;
  let engine: RunningEngine | undefined;
  beforeEach(async () => {
    db = await createFaultDatabase("sqlite");
    sink = await startFaultSink();
  });
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
    await sink.close();
    await db.destroy();
  });

  async function deliver(recipients: number, behaviour: (context: SinkContext) => SinkAction, env: Record<string, string> = {}) {
    sink.behaviour = behaviour;
    const id = await givenSending(db, { recipients, launchAt: new Date(Date.now() - 1_000) });
    const started = Date.now();
    engine = startConfiguredEngine(db, sink.url, { ...SETTINGS, ...env });
    const status = await untilStatus(db, id, ["COMPLETED", "PAUSED", "CANCELLED"], 180_000);
    await engine.engine.idle();
    const rows = await recordedRecipients(db, id);
    return { id, status, rows, durationMs: Date.now() - started, figures: countAtSink(id, rows, sink.copies) };
  }

  const copiesOf = (email: string) => sink.copies.filter((copy) => copy.to === email);

  /** What the sink saw of each recipient matches what sendgate recorded: one handoff per transmission, the last one decisive. */
  function expectRecordsMatchTheWire(rows: Awaited<ReturnType<typeof recordedRecipients>>) {
    for (const row of rows) {
      const copies = copiesOf(row.email);
      expect(row.attempts, row.email).toBe(copies.length);
      expect(row.status, row.email).toBe(copies.at(-1)?.outcome === "accepted" ? "SENT" : "FAILED");
    }
  }

  function expectNothingLost(figures: SinkFigures) {
    expect(figures.lost).toBe(0);
    expect(figures.receivedTwice).toEqual([]);
    expect(figures.messageIdsKept).toBe(true);
    expect(figures.wrongOutcomes).toEqual([]);
    expect(figures.strangers).toBe(0);
  }

  /** From a recipient's first refused transmission to its accepted one, for each recipient that needed a retry. */
  function retryWaits(emails: Iterable<string>): number[] {
    return [...emails].map((email) => {
      const copies = copiesOf(email);
      return (copies.find((copy) => copy.outcome === "accepted")?.at ?? Number.NaN) - (copies[0] as Copy).at;
    });
  }

  it("connections cut in the middle of DATA: each cut message is retried after SEND_RETRY_SECONDS and delivered once", async () => {
    // Every 25th transmission is cut after its first bytes, on its first attempt only.
    const { id, status, rows, durationMs, figures } = await deliver(300, ({ count, attempt }) =>
      count % 25 === 0 && attempt === 1 ? { kind: "drop" } : accept,
    );
    const cut = new Set(sink.copies.filter((copy) => copy.outcome === "dropped").map((copy) => copy.to));
    expect(cut.size).toBeGreaterThanOrEqual(10);
    expect(status).toBe("COMPLETED");
    expect(engine!.notifier.kinds(id)).not.toContain("auto-paused");
    expect(figures.delivered).toBe(300);
    expectNothingLost(figures);
    expectRecordsMatchTheWire(rows);
    for (const email of cut) expect(copiesOf(email).map((copy) => copy.outcome), email).toEqual(["dropped", "accepted"]);
    const waits = retryWaits(cut);
    for (const wait of waits) expect(wait).toBeGreaterThanOrEqual(RETRY_MS);
    reportCase({
      case: "SMTP: connection cut mid-DATA",
      runs: cut.size,
      recipients: figures.recipients,
      delivered: figures.delivered,
      lost: figures.lost,
      duplicates: figures.receivedTwice.length,
      messageIdsKept: figures.messageIdsKept,
      recoveryMs: waits,
      notes: `${cut.size} connections cut mid-message; each message retried once after SEND_RETRY_SECONDS=1 and accepted; never paused`,
      durationMs,
    });
  });

  it("a server answering 421 to ten messages in a row, then recovering: all retried and delivered, under the error budget", async () => {
    const refused = new Set<string>();
    let lastRefusal = 0;
    const { id, status, rows, durationMs, figures } = await deliver(300, ({ to, count }) => {
      if (count <= 50 || count > 60) return accept;
      refused.add(to);
      lastRefusal = Date.now();
      return { kind: "refuse", code: 421, message: "4.3.2 Service shutting down, try again later" };
    });
    expect(refused.size).toBe(10);
    expect(status).toBe("COMPLETED");
    expect(engine!.notifier.kinds(id)).not.toContain("auto-paused");
    expect(figures.delivered).toBe(300);
    expectNothingLost(figures);
    expectRecordsMatchTheWire(rows);
    for (const email of refused) expect(copiesOf(email).map((copy) => copy.outcome), email).toEqual(["refused", "accepted"]);
    const waits = retryWaits(refused);
    for (const wait of waits) expect(wait).toBeGreaterThanOrEqual(RETRY_MS);
    const recovered = Math.max(...[...refused].map((email) => copiesOf(email).at(-1)!.at)) - lastRefusal;
    reportCase({
      case: "SMTP: 421 for a while, then recovers",
      runs: 1,
      recipients: figures.recipients,
      delivered: figures.delivered,
      lost: figures.lost,
      duplicates: figures.receivedTwice.length,
      messageIdsKept: figures.messageIdsKept,
      recoveryMs: [recovered],
      notes: "10 messages in a row answered 421 (the connection closed each time); all 10 retried after 1 s and accepted; below ERROR_BUDGET_CONSECUTIVE=20, never paused",
      durationMs,
    });
  });

  it("451 twice then accepted is delivered on the last attempt; 451 every time fails after exactly SEND_MAX_ATTEMPTS, 1 s then 4 s apart", async () => {
    // Recipients 7, 27, 47…: refused twice, accepted the third time. Recipients 13, 63, 113…: refused every time.
    const twice = (i: number) => i % 20 === 7;
    const always = (i: number) => i % 50 === 13;
    const temporary: SinkAction = { kind: "refuse", code: 451, message: "4.7.1 Greylisted, try again later" };
    const { id, status, rows, durationMs, figures } = await deliver(300, ({ to, attempt }) => {
      const i = indexOf(to);
      return always(i) || (twice(i) && attempt <= 2) ? temporary : accept;
    });
    expect(status).toBe("COMPLETED");
    expect(engine!.notifier.kinds(id)).not.toContain("auto-paused");
    expectNothingLost(figures);
    expectRecordsMatchTheWire(rows);
    const failed = rows.filter((row) => always(indexOf(row.email)));
    const late = rows.filter((row) => twice(indexOf(row.email)));
    expect(figures.failed).toBe(failed.length);
    expect(figures.delivered).toBe(300 - failed.length);
    for (const row of failed) {
      expect(row).toMatchObject({ status: "FAILED", attempts: 3 });
      expect(row.lastError).toContain("451");
    }
    const gaps: number[] = [];
    for (const row of [...failed, ...late]) {
      const copies = copiesOf(row.email);
      expect(copies.map((copy) => copy.outcome)).toEqual(always(indexOf(row.email)) ? ["refused", "refused", "refused"] : ["refused", "refused", "accepted"]);
      // The retry delays as configured: SEND_RETRY_SECONDS, then four times that.
      expect(copies[1]!.at - copies[0]!.at).toBeGreaterThanOrEqual(RETRY_MS);
      expect(copies[2]!.at - copies[1]!.at).toBeGreaterThanOrEqual(4 * RETRY_MS);
      gaps.push(copies[2]!.at - copies[0]!.at);
    }
    reportCase({
      case: "SMTP: 451 (greylisting), then accepts",
      runs: late.length + failed.length,
      recipients: figures.recipients,
      delivered: figures.delivered,
      lost: figures.lost,
      duplicates: figures.receivedTwice.length,
      messageIdsKept: figures.messageIdsKept,
      recoveryMs: retryWaits(late.map((row) => row.email)),
      notes: `${late.length} recipients refused twice then accepted on attempt 3; ${failed.length} refused every time recorded FAILED after exactly 3 attempts (SEND_MAX_ATTEMPTS), 1 s then 4 s apart; never paused`,
      durationMs,
    });
  });

  /** The socket timeout for the hanging server, shorter than the default 60 s so the case takes seconds. */
  const SOCKET_TIMEOUT_SECONDS = 10;

  it("a server that takes a message and never answers: the connection times out, the message is retried with its Message-ID, the rest goes on meanwhile", async () => {
    let hungAt = 0;
    const { id, status, rows, durationMs, figures } = await deliver(40, ({ count }) => {
      if (count !== 5) return accept;
      hungAt = Date.now();
      return { kind: "hang" };
    }, { SMTP_SOCKET_TIMEOUT_SECONDS: String(SOCKET_TIMEOUT_SECONDS) });
    const hung = sink.copies.find((copy) => copy.outcome === "unanswered")!;
    expect(hung).toBeDefined();
    expect(status).toBe("COMPLETED");
    expect(engine!.notifier.kinds(id)).not.toContain("auto-paused");
    expect(figures.delivered).toBe(40);
    expectNothingLost(figures);
    expectRecordsMatchTheWire(rows);
    const copies = copiesOf(hung.to);
    expect(copies.map((copy) => copy.outcome)).toEqual(["unanswered", "accepted"]);
    expect(copies[1]!.messageId).toBe(hung.messageId);
    // Everyone else was delivered while that one connection waited.
    const others = sink.accepted().filter((copy) => copy.to !== hung.to);
    expect(others).toHaveLength(39);
    expect(Math.max(...others.map((copy) => copy.at))).toBeLessThan(copies[1]!.at);
    const recovered = copies[1]!.at - hungAt;
    reportCase({
      case: "SMTP: server hangs after DATA",
      runs: 1,
      recipients: figures.recipients,
      delivered: figures.delivered,
      lost: figures.lost,
      duplicates: figures.receivedTwice.length,
      messageIdsKept: figures.messageIdsKept,
      recoveryMs: [recovered],
      notes:
        `the server read one message in full and never answered: the client's socket timeout (SMTP_SOCKET_TIMEOUT_SECONDS, ${SOCKET_TIMEOUT_SECONDS} s here, 60 by default) ended it, ` +
        "the message was retried with the same Message-ID and accepted; a receiving system that had kept the unanswered copy would show it twice; the other 39 went out meanwhile",
      durationMs,
    });
  });

  it("a slow server (2 s a message): every message delivered once, nothing retried, nothing timed out", async () => {
    const { id, status, rows, durationMs, figures } = await deliver(12, () => ({ kind: "accept", delayMs: 2_000 }), { SEND_CONCURRENCY: "4" });
    expect(status).toBe("COMPLETED");
    expect(engine!.notifier.kinds(id)).not.toContain("auto-paused");
    expect(figures.delivered).toBe(12);
    expectNothingLost(figures);
    expectRecordsMatchTheWire(rows);
    expect(sink.copies.every((copy) => copy.outcome === "accepted")).toBe(true);
    expect(engine!.log.filter((line) => line.msg === "another engine took this sending over; stopping")).toEqual([]);
    const accepted = sink.accepted().map((copy) => copy.at);
    const spanSeconds = (Math.max(...accepted) - Math.min(...accepted)) / 1000;
    reportCase({
      case: "SMTP: slow server (2 s a message)",
      runs: 1,
      recipients: figures.recipients,
      delivered: figures.delivered,
      lost: figures.lost,
      duplicates: figures.receivedTwice.length,
      messageIdsKept: figures.messageIdsKept,
      recoveryMs: [],
      notes: `12 messages, 4 connections, 2 s each: the last accepted ${spanSeconds.toFixed(1)} s after the first (three rounds of four); no retry, no timeout, the lease kept`,
      durationMs,
    });
  });

  it("the error budget: nine refusals in a row do not pause; ten do, after at most the messages in hand; resumed once the server recovers, the rest is delivered", async () => {
    // One connection, so that the order of outcomes is the order of the server's answers.
    const env = { SEND_CONCURRENCY: "1", ERROR_BUDGET_CONSECUTIVE: "10" };
    const refusal: SinkAction = { kind: "refuse", code: 550, message: "5.7.1 Message rejected by policy" };
    let mode: "nine" | "all" | "fixed" = "nine";
    let refusedAfterBreak = 0;
    const behaviour = ({ count }: SinkContext): SinkAction => {
      if (mode === "nine") return count > 20 && count <= 29 ? refusal : accept;
      if (mode === "fixed") return accept;
      // From the 101st transmission on, the server refuses everything.
      if (count <= 100) return accept;
      refusedAfterBreak++;
      return refusal;
    };
    sink.behaviour = behaviour;
    const id = await givenSending(db, { recipients: 300, launchAt: new Date(Date.now() - 1_000) });
    const started = Date.now();
    engine = startConfiguredEngine(db, sink.url, { ...SETTINGS, ...env });
    // Nine in a row at transmissions 21–29: under the budget, delivery goes on.
    await sink.untilAccepted(60);
    expect(await untilStatus(db, id, ["SENDING"])).toBe("SENDING");
    expect(engine.notifier.kinds(id)).not.toContain("auto-paused");
    mode = "all";
    expect(await untilStatus(db, id, ["PAUSED", "COMPLETED"])).toBe("PAUSED");
    await engine.engine.idle();
    const sending = await db.prisma.sending.findUniqueOrThrow({ where: { id } });
    expect(sending.statusNote).toMatch(/^10 messages in a row failed\. The last one: 550/);
    // Ten refusals spend the budget; the messages already in hand (HANDOFFS_PER_CONNECTION per connection) still go.
    expect(refusedAfterBreak).toBeGreaterThanOrEqual(10);
    expect(refusedAfterBreak).toBeLessThanOrEqual(10 + 4 - 1);
    const atPause = await recordedRecipients(db, id);
    expect(atPause.filter((row) => row.status === "FAILED")).toHaveLength(9 + refusedAfterBreak);
    expect(atPause.filter((row) => row.status === "QUEUED" || row.status === "PREPARED").length).toBeGreaterThan(150);

    // The server is fixed; an approver resumes; the rest goes out and nothing is lost.
    mode = "fixed";
    const resumedAt = Date.now();
    await resumeSending(
      { db, notifier: engine.notifier, clock: systemClock, log: silentLog, approvers: approversOf("UAPPROVER1") },
      { sendingId: id, actor: "UAPPROVER1" },
    );
    expect(await untilStatus(db, id, ["COMPLETED", "PAUSED"])).toBe("COMPLETED");
    const firstAfterResume = Math.min(...sink.accepted().filter((copy) => copy.at >= resumedAt).map((copy) => copy.at));
    await engine.engine.idle();
    const rows = await recordedRecipients(db, id);
    const figures = countAtSink(id, rows, sink.copies);
    expectNothingLost(figures);
    expectRecordsMatchTheWire(rows);
    expect(figures.failed).toBe(9 + refusedAfterBreak);
    expect(figures.delivered).toBe(300 - figures.failed);
    reportCase({
      case: "SMTP: error budget (550 for everything)",
      runs: 2,
      recipients: figures.recipients,
      delivered: figures.delivered,
      lost: figures.lost,
      duplicates: figures.receivedTwice.length,
      messageIdsKept: figures.messageIdsKept,
      recoveryMs: [firstAfterResume - resumedAt],
      notes:
        `ERROR_BUDGET_CONSECUTIVE=10: 9 refusals in a row did not pause; when the server refused everything the sending paused itself after ` +
        `${refusedAfterBreak} refusals (10 + at most 3 in hand on 1 connection), the rest stayed queued; ${figures.failed} recorded FAILED with the server's 550; resumed, the rest was delivered`,
      durationMs: Date.now() - started,
    });
  });
});
