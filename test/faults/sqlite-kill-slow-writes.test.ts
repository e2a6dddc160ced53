import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sqliteFile } from "../../src/db/provider.js";
import { openSqliteConnection, retryWhileBusy } from "../../src/db/sqlite-connection.js";
import { HANDOFFS_PER_CONNECTION } from "../../src/sender/delivery-run.js";
import { givenSending } from "../sender/support/fixtures.js";
import { describeRefusals, startStandin, type RunningStandin } from "../support/slack-api.js";
import { createFaultDatabase, type FaultDatabase } from "./support/databases.js";
import { startFaultSink, type FaultSink } from "./support/fault-sink.js";
import { countAtSink, reportCase, type SinkFigures } from "./support/figures.js";
import { sendgateEnv, startSendgateProcess, startedSendgate, tail, type SendgateProcess } from "./support/sendgate-process.js";
import { recordedRecipients, until, untilStatus } from "./support/waits.js";

const RECIPIENTS = 1_000;
const CONCURRENCY = 4;
/** Long enough that the lease outlasts the held lock: the run keeps delivering while its outcome writes wait. */
const LEASE_SECONDS = 10;
const LOCK_AT = 200;

/**
 * The process is killed while its outcome writes wait for the database (another connection holds
 * SQLite's write lock: a long transaction, a backup, a stalled disk), the mail server meanwhile taking
 * every message handed to it. Nothing is lost, every re-send keeps its Message-ID, and the messages
 * re-sent after the kill are at most the messages in hand: a handoff keeps its slot until its outcome
 * is written, so delivery waits with the writes.
 */
describe("SQLite: SIGKILL while outcome writes wait for the database", () => {
  let db: FaultDatabase;
  let sink: FaultSink;
  let slack: RunningStandin;
  const processes: SendgateProcess[] = [];
  let result: { inFlight: Set<string>; figures: SinkFigures } | undefined;
  beforeAll(async () => {
    db = await createFaultDatabase("sqlite");
    sink = await startFaultSink();
    slack = await startStandin();
  });
  afterAll(async () => {
    for (const process of processes) await process.kill();
    await sink?.close();
    await slack?.close();
    await db?.destroy();
  });

  it("killed while its outcome writes wait: restarted, nothing is lost and every re-send keeps its Message-ID", async () => {
    const id = await givenSending(db, { recipients: RECIPIENTS, launchAt: new Date(Date.now() - 1_000) });
    const env = sendgateEnv(
      { databaseUrl: db.url, smtpUrl: sink.url, slackApiUrl: slack.apiUrl },
      { SEND_RATE: "250", SEND_CONCURRENCY: String(CONCURRENCY), SENDER_LEASE_SECONDS: String(LEASE_SECONDS) },
    );
    const started = Date.now();
    const first = startSendgateProcess(env);
    processes.push(first);
    const lock = openSqliteConnection(sqliteFile(db.url));
    try {
      const locked = new Promise<void>((resolve) => {
        sink.onAccepting = async (_copy, acceptedSoFar) => {
          if (acceptedSoFar < LOCK_AT) return;
          sink.onAccepting = undefined;
          // Another connection takes the write lock and keeps it: reads go on (WAL), writes wait.
          await retryWhileBusy(() => lock.exec("BEGIN IMMEDIATE"));
          resolve();
        };
      });
      await locked;
      // The run delivers until its messages in hand and unwritten outcomes take every slot, then waits.
      let count = sink.accepted().length;
      let still = Date.now();
      await until("delivery stalls behind the unwritten outcomes", () => {
        if (sink.accepted().length !== count) [count, still] = [sink.accepted().length, Date.now()];
        return Date.now() - still > 1_000;
      }, 30_000, 50);
      await first.kill();
    } finally {
      // Nothing to roll back when the lock was never taken (the case failed before).
      if ((lock as unknown as { inTransaction: boolean }).inTransaction) lock.exec("ROLLBACK");
      lock.close();
    }
    const killedAt = Date.now();
    const atKill = await recordedRecipients(db, id);
    const sentBefore = new Set(atKill.filter((row) => row.status === "SENT").map((row) => row.email));
    const inFlight = new Set(sink.accepted().map((copy) => copy.to).filter((email) => !sentBefore.has(email)));

    const second = await startedSendgate(env);
    processes.push(second);
    await untilStatus(db, id, ["COMPLETED"], 120_000);
    expect((await second.stop()).code, tail(second.log)).toBe(0);

    const rows = await recordedRecipients(db, id);
    const figures = countAtSink(id, rows, sink.copies);
    expect(rows.filter((row) => row.status !== "SENT")).toEqual([]);
    expect(figures.delivered).toBe(RECIPIENTS);
    expect(figures.lost).toBe(0);
    expect(figures.wrongOutcomes).toEqual([]);
    expect(figures.messageIdsKept).toBe(true);
    expect(sink.accepted().filter((copy) => copy.at > killedAt && sentBefore.has(copy.to)).map((copy) => copy.to)).toEqual([]);
    expect(figures.receivedTwice.filter((email) => !inFlight.has(email))).toEqual([]);
    expect(figures.extraCopies).toBe(figures.receivedTwice.length);
    expect(slack.standin.refusals, describeRefusals(slack.standin.refusals)).toEqual([]);
    result = { inFlight, figures };

    const firstAfter = Math.min(...sink.accepted().filter((copy) => copy.at > killedAt).map((copy) => copy.at));
    const bound = CONCURRENCY * HANDOFFS_PER_CONNECTION;
    reportCase({
      case: "SQLite: SIGKILL while outcome writes wait",
      runs: 1,
      recipients: RECIPIENTS,
      delivered: figures.delivered,
      lost: figures.lost,
      duplicates: figures.receivedTwice.length,
      inFlight: figures.receivedTwice.filter((email) => inFlight.has(email)).length,
      messageIdsKept: figures.messageIdsKept,
      recoveryMs: [firstAfter - killedAt],
      notes:
        `another connection held SQLite's write lock from the ${LOCK_AT}th message; the run stopped handing messages over once its outcomes ` +
        `waiting to be written and its messages in hand took the ${bound} slots (SEND_CONCURRENCY × HANDOFFS_PER_CONNECTION), then was killed: ` +
        `${inFlight.size} messages accepted and not recorded, all re-sent (with their Message-ID)`,
      durationMs: Date.now() - started,
    });
  });

  // The bound holds however long the writes wait: a handoff takes one of SEND_CONCURRENCY ×
  // HANDOFFS_PER_CONNECTION slots and keeps it until its outcome is committed (OutcomeRecorder).
  it("re-sends at most the messages in hand (SEND_CONCURRENCY × HANDOFFS_PER_CONNECTION) when killed while outcome writes wait", () => {
    expect(result, "the case above ran").toBeDefined();
    expect(result!.inFlight.size).toBeGreaterThan(0);
    expect(result!.figures.receivedTwice.length).toBeLessThanOrEqual(CONCURRENCY * HANDOFFS_PER_CONNECTION);
    expect(result!.inFlight.size).toBeLessThanOrEqual(CONCURRENCY * HANDOFFS_PER_CONNECTION);
  });
});
