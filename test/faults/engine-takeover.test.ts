import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HANDOFFS_PER_CONNECTION } from "../../src/sender/delivery-run.js";
import { givenSending } from "../sender/support/fixtures.js";
import { describeRefusals, startStandin, type RunningStandin } from "../support/slack-api.js";
import { createFaultDatabase, type FaultDatabase } from "./support/databases.js";
import { startFaultSink, type Copy, type FaultSink } from "./support/fault-sink.js";
import { countAtSink, reportCase, type SinkFigures } from "./support/figures.js";
import { errorsIn, sendgateEnv, startedSendgate, tail, type SendgateProcess } from "./support/sendgate-process.js";
import { recordedRecipients, untilStatus } from "./support/waits.js";

/** Two runs, each a sending of its own delivered while two processes are up. */
const RUNS = 2;
const RECIPIENTS = 1_000;
const CONCURRENCY = 4;
const LEASE_SECONDS = 5;
/** The process delivering is killed when the mail server has accepted this many of the sending. */
const KILL_POINT = 300;

/**
 * Two sendgate processes on one PostgreSQL database, the deployment that runs replicas. The one
 * delivering is killed with SIGKILL (no drain, its lease left to expire); the other takes the sending
 * over once the lease runs out, and the killed one comes back, as an orchestrator restarts it. Twice, a
 * sending each time. Nothing is lost, and the mail server receives twice only messages in flight at a kill.
 */
describe("two sendgate processes on one PostgreSQL, the one delivering killed", () => {
  let db: FaultDatabase;
  let sink: FaultSink;
  let slack: RunningStandin;
  const processes: SendgateProcess[] = [];
  beforeAll(async () => {
    db = await createFaultDatabase("postgresql");
    sink = await startFaultSink();
    slack = await startStandin();
  });
  afterAll(async () => {
    for (const process of processes) await process.kill();
    await sink?.close();
    await slack?.close();
    await db?.destroy();
  });

  it("the other process takes the sending over after the lease; nothing lost; received twice only what was in flight", async () => {
    const env = sendgateEnv(
      { databaseUrl: db.url, smtpUrl: sink.url, slackApiUrl: slack.apiUrl },
      { SEND_RATE: "250", SEND_CONCURRENCY: String(CONCURRENCY), SENDER_LEASE_SECONDS: String(LEASE_SECONDS) },
    );
    const live = await Promise.all([startedSendgate(env), startedSendgate(env)]);
    processes.push(...live);
    const started = Date.now();
    const acceptedOf = (id: string) => sink.accepted().filter((copy) => copy.messageId.startsWith(`<${id}.`));
    const bound = CONCURRENCY * HANDOFFS_PER_CONNECTION;

    const runs: { id: string; at: number; held: Copy; sentBefore: Set<string>; inFlight: Set<string>; figures: SinkFigures; recoveryMs: number }[] = [];
    for (let run = 0; run < RUNS; run++) {
      // Approved only once all its recipients are in, as the approval gate leaves it: the processes are already ticking.
      const id = await givenSending(db, { recipients: RECIPIENTS, status: "PENDING_APPROVAL", launchAt: new Date(Date.now() - 1_000) });
      await db.prisma.sending.update({ where: { id }, data: { status: "SCHEDULED" } });
      const killed = new Promise<{ at: number; held: Copy; victim: SendgateProcess }>((resolve, reject) => {
        sink.onAccepting = async (held) => {
          if (!held.messageId.startsWith(`<${id}.`) || acceptedOf(id).length + 1 < KILL_POINT) return;
          sink.onAccepting = undefined;
          try {
            // The lease names the process that delivers: host:pid:random.
            const { leaseOwner } = await db.prisma.sending.findUniqueOrThrow({ where: { id } });
            const victim = live.find((process) => leaseOwner?.split(":")[1] === String(process.pid));
            if (!victim) throw new Error(`no live process holds the lease (${leaseOwner}); pids ${live.map((p) => p.pid).join(", ")}`);
            await victim.kill();
            resolve({ at: Date.now(), held, victim });
          } catch (error) {
            reject(error as Error);
          }
        };
      });
      const { at, held, victim } = await killed;
      const atKill = await recordedRecipients(db, id);
      const sentBefore = new Set(atKill.filter((row) => row.status === "SENT").map((row) => row.email));
      // The held message is accepted only now, and either process may have sent it: the survivor records it
      // as sent soon after, perhaps before the read above. It counts as in flight, as a message answered at the kill.
      const inFlight = new Set([...acceptedOf(id), held].map((copy) => copy.to).filter((email) => !sentBefore.has(email) || email === held.to));
      // The survivor delivers (the killed process is gone and its replacement not started: whatever arrives now is the survivor's)…
      const before = sink.accepted().length;
      await sink.untilAccepted(before + 1, (LEASE_SECONDS + 30) * 1000);
      const firstAfter = sink.accepted().find((copy) => copy.at > at && copy !== held)!;
      // …and the killed one comes back, as an orchestrator would restart it.
      live.splice(live.indexOf(victim), 1);
      const restarted = await startedSendgate(env);
      processes.push(restarted);
      live.push(restarted);
      await untilStatus(db, id, ["COMPLETED"], 180_000);

      const rows = await recordedRecipients(db, id);
      const copies = sink.copies.filter((copy) => copy.messageId.startsWith(`<${id}.`));
      const figures = countAtSink(id, rows, copies);
      expect(rows.filter((row) => row.status !== "SENT")).toEqual([]);
      expect(figures.delivered).toBe(RECIPIENTS);
      expect(figures.lost).toBe(0);
      expect(figures.wrongOutcomes).toEqual([]);
      expect(figures.messageIdsKept).toBe(true);
      // A recipient recorded as sent at the kill whose message reached the sink before it and again after it. (The
      // survivor keeps delivering while the kill happens: its messages answered after the kill are first copies.)
      const receivedBefore = new Set(acceptedOf(id).filter((copy) => copy.at <= at && copy !== held).map((copy) => copy.to));
      const againAfter = acceptedOf(id).filter((copy) => copy.at > at && sentBefore.has(copy.to) && receivedBefore.has(copy.to));
      expect(againAfter.map((copy) => copy.to), `recorded as sent before kill ${run + 1}, received again after it`).toEqual([]);
      expect(inFlight.size, `in flight at kill ${run + 1}`).toBeLessThanOrEqual(bound);
      // Received twice only among the messages in flight at the kill, and only twice.
      expect(figures.receivedTwice.filter((email) => !inFlight.has(email))).toEqual([]);
      expect(figures.extraCopies).toBe(figures.receivedTwice.length);
      runs.push({ id, at, held, sentBefore, inFlight, figures, recoveryMs: firstAfter.at - at });
    }
    for (const process of live) expect((await process.stop()).code, tail(process.log)).toBe(0);
    for (const process of live) expect(errorsIn(process.log), tail(process.log)).toEqual([]);
    expect(slack.standin.refusals, describeRefusals(slack.standin.refusals)).toEqual([]);

    const sum = (pick: (figures: SinkFigures) => number) => runs.reduce((total, run) => total + pick(run.figures), 0);
    const messageIdsKept = runs.every((run) => run.figures.messageIdsKept);
    reportCase({
      case: "Two processes on PostgreSQL, the one delivering SIGKILLed",
      runs: RUNS,
      recipients: sum((figures) => figures.recipients),
      delivered: sum((figures) => figures.delivered),
      lost: sum((figures) => figures.lost),
      duplicates: sum((figures) => figures.receivedTwice.length),
      inFlight: sum((figures) => figures.receivedTwice.length),
      messageIdsKept,
      recoveryMs: runs.map((run) => run.recoveryMs),
      notes:
        `${RUNS} sendings of ${RECIPIENTS}, the process delivering each killed after ${KILL_POINT} accepted; in flight at each kill: ${runs.map((run) => run.inFlight.size).join(", ")} (bound ${bound}), ` +
        `re-sent: ${runs.map((run) => run.figures.receivedTwice.length).join(", ")}; the other process took over once the ${LEASE_SECONDS} s lease (SENDER_LEASE_SECONDS) ran out`,
      durationMs: Date.now() - started,
    });
  });
});
