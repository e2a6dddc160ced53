import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HANDOFFS_PER_CONNECTION } from "../../src/sender/delivery-run.js";
import { givenSending } from "../sender/support/fixtures.js";
import { describeRefusals, startStandin, type RunningStandin } from "../support/slack-api.js";
import { createFaultDatabase, type FaultDatabase } from "./support/databases.js";
import { startFaultSink, type FaultSink } from "./support/fault-sink.js";
import { countAtSink, formatRecovery, reportCase } from "./support/figures.js";
import { distinctPoints, runSeed, seededRandom } from "./support/random.js";
import { errorsIn, sendgateEnv, startSendgateProcess, tail, type SendgateProcess } from "./support/sendgate-process.js";
import { recordedRecipients, untilStatus } from "./support/waits.js";

const RECIPIENTS = 2_000;
const KILLS = 10;
const CONCURRENCY = 4;
/** Short, so that each restarted process takes the dead one's sending over within seconds. */
const LEASE_SECONDS = 2;

/**
 * sendgate on SQLite, as `npm start` runs it, killed with SIGKILL at ten random points of one delivery
 * and started again each time: no drain, no lease released, outcomes in the recorder's hands lost. At
 * the end every recipient has exactly one recorded outcome, and the mail server received twice only
 * messages that were in flight at a kill (accepted, but not yet recorded as sent), each with its
 * original Message-ID.
 */
describe("SQLite: SIGKILL at random points of a delivery", () => {
  let db: FaultDatabase;
  let sink: FaultSink;
  let slack: RunningStandin;
  const processes: SendgateProcess[] = [];
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

  it("killed ten times and restarted: every recipient recorded once, re-sent at most the messages in hand at each kill, with the same Message-ID", async () => {
    const seed = runSeed();
    const killPoints = distinctPoints(seededRandom(seed), KILLS, 20, RECIPIENTS - 20);
    const id = await givenSending(db, { recipients: RECIPIENTS, launchAt: new Date(Date.now() - 1_000) });
    const env = sendgateEnv(
      { databaseUrl: db.url, smtpUrl: sink.url, slackApiUrl: slack.apiUrl },
      { SEND_RATE: "250", SEND_CONCURRENCY: String(CONCURRENCY), SENDER_LEASE_SECONDS: String(LEASE_SECONDS) },
    );
    const started = Date.now();
    const kills: { at: number; point: number; sentBefore: Set<string>; inFlight: Set<string>; restartedAt: number }[] = [];

    for (let round = 0; round <= KILLS; round++) {
      const restartedAt = Date.now();
      if (round > 0) kills.at(-1)!.restartedAt = restartedAt;
      const current = startSendgateProcess(env);
      processes.push(current);
      if (round === KILLS) break;
      const point = killPoints[round]!;
      // Killed while the server holds a message: it is accepted, and the process never hears so.
      let killing = false;
      const killed = new Promise<number>((resolve) => {
        sink.onAccepting = async (_copy, acceptedSoFar) => {
          if (acceptedSoFar < point || !current.isRunning()) return;
          sink.onAccepting = undefined;
          killing = true;
          await current.kill();
          resolve(Date.now());
        };
      });
      const at = await Promise.race([
        killed,
        current.exited.then(({ code, signal }) => {
          if (killing) return killed;
          throw new Error(`sendgate exited by itself (code ${code}, signal ${signal}) before kill ${round + 1}:\n${tail(current.log)}`);
        }),
      ]);
      const rows = await recordedRecipients(db, id);
      const sentBefore = new Set(rows.filter((row) => row.status === "SENT").map((row) => row.email));
      const inFlight = new Set(sink.accepted().map((copy) => copy.to).filter((email) => !sentBefore.has(email)));
      kills.push({ at, point, sentBefore, inFlight, restartedAt: 0 });
    }

    const last = processes.at(-1)!;
    await untilStatus(db, id, ["COMPLETED"], 180_000);
    const stopped = await last.stop();
    expect(stopped.code, tail(last.log)).toBe(0);

    const rows = await recordedRecipients(db, id);
    const figures = countAtSink(id, rows, sink.copies);
    // Exactly one recorded outcome each: every recipient SENT, none left queued, prepared or failed.
    expect(rows.filter((row) => row.status !== "SENT")).toEqual([]);
    expect(figures.delivered).toBe(RECIPIENTS);
    expect(figures.lost).toBe(0);
    expect(figures.wrongOutcomes).toEqual([]);
    expect(figures.strangers).toBe(0);
    expect(figures.messageIdsKept).toBe(true);

    const bound = CONCURRENCY * HANDOFFS_PER_CONNECTION;
    const twice = new Set(figures.receivedTwice);
    const resentPerKill = kills.map((kill) => [...kill.inFlight].filter((email) => twice.has(email)).length);
    const inFlightAnywhere = new Set(kills.flatMap((kill) => [...kill.inFlight]));
    for (const [k, kill] of kills.entries()) {
      // What was recorded as sent before a kill never goes out again.
      const againAfter = sink.accepted().filter((copy) => copy.at > kill.at && kill.sentBefore.has(copy.to));
      expect(againAfter.map((copy) => copy.to), `recorded as sent before kill ${k + 1}, received again after it`).toEqual([]);
      expect(kill.inFlight.size, `in flight at kill ${k + 1} (after ${kill.point} accepted)`).toBeLessThanOrEqual(bound);
    }
    // Received twice only among the messages in flight at a kill: one more copy for each kill that caught it in flight.
    expect(figures.receivedTwice.filter((email) => !inFlightAnywhere.has(email))).toEqual([]);
    for (const email of figures.receivedTwice) {
      const caught = kills.filter((kill) => kill.inFlight.has(email)).length;
      expect(sink.accepted().filter((copy) => copy.to === email).length, email).toBeLessThanOrEqual(1 + caught);
    }

    // From each kill to the first message the next process handed over; of which, starting the process.
    const recoveryMs = kills.map((kill) => Math.min(...sink.accepted().filter((copy) => copy.at > kill.restartedAt).map((copy) => copy.at)) - kill.at);
    const startMs = kills.map((kill, k) => Number(processes[k + 1]!.log.find((line) => line.msg === "sendgate started")?.time) - kill.restartedAt);
    const resumeMs = kills.map((kill, k) => Number(processes[k + 1]!.log.find((line) => String(line.msg).startsWith("resuming delivery"))?.time) - kill.at);
    for (const process of processes) expect(errorsIn(process.log), tail(process.log)).toEqual([]);
    expect(slack.standin.refusals, describeRefusals(slack.standin.refusals)).toEqual([]);
    reportCase({
      case: "SQLite: SIGKILL at 10 random points",
      runs: KILLS,
      recipients: RECIPIENTS,
      delivered: figures.delivered,
      lost: figures.lost,
      duplicates: figures.receivedTwice.length,
      inFlight: figures.receivedTwice.filter((email) => inFlightAnywhere.has(email)).length,
      messageIdsKept: figures.messageIdsKept,
      recoveryMs,
      notes:
        `seed ${seed} (FAULTS_SEED=${seed} repeats it), killed after ${killPoints.join(", ")} accepted; in flight at each kill: ${kills.map((kill) => kill.inFlight.size).join(", ")} ` +
        `(bound: SEND_CONCURRENCY ${CONCURRENCY} × HANDOFFS_PER_CONNECTION ${HANDOFFS_PER_CONNECTION} = ${bound}); re-sent per kill: ${resentPerKill.join(", ")}; ` +
        `recovery includes a process start (${formatRecovery(startMs)}) and the ${LEASE_SECONDS} s lease (SENDER_LEASE_SECONDS); resuming delivery logged ${formatRecovery(resumeMs)} after the kill`,
      durationMs: Date.now() - started,
    });
  });
});
