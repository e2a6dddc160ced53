import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HANDOFFS_PER_CONNECTION } from "../../src/sender/delivery-run.js";
import { givenSending } from "../sender/support/fixtures.js";
import { describeRefusals, startStandin, type RunningStandin } from "../support/slack-api.js";
import { createFaultDatabase, type FaultDatabase } from "./support/databases.js";
import { startFaultSink, type Copy, type FaultSink } from "./support/fault-sink.js";
import { countAtSink, reportCase } from "./support/figures.js";
import { errorsIn, sendgateEnv, startedSendgate, tail, type SendgateProcess } from "./support/sendgate-process.js";
import { recordedRecipients, untilStatus } from "./support/waits.js";

const RECIPIENTS = 2_000;
const CONCURRENCY = 4;
const LEASE_SECONDS = 5;
/** The process delivering is killed when the mail server has accepted this many. */
const KILL_POINTS = [600, 1_300];

/**
 * Two sendgate processes on one PostgreSQL database, the deployment that runs replicas. The one
 * delivering is killed with SIGKILL (no drain, its lease left to expire); the other takes the
 * sending over once the lease runs out, and the killed one comes back as the standby. Twice. Nothing
 * is lost, and the mail server receives twice only messages in flight at a kill.
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
    // Approved only once all its recipients are in, as the approval gate leaves it: the processes are already ticking.
    const id = await givenSending(db, { recipients: RECIPIENTS, status: "PENDING_APPROVAL", launchAt: new Date(Date.now() - 1_000) });
    await db.prisma.sending.update({ where: { id }, data: { status: "SCHEDULED" } });
    const started = Date.now();

    const kills: { at: number; held: Copy; victim: SendgateProcess; sentBefore: Set<string>; inFlight: Set<string> }[] = [];
    for (const point of KILL_POINTS) {
      const killed = new Promise<{ at: number; held: Copy; victim: SendgateProcess }>((resolve, reject) => {
        sink.onAccepting = async (held, acceptedSoFar) => {
          if (acceptedSoFar < point) return;
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
      const rows = await recordedRecipients(db, id);
      const sentBefore = new Set(rows.filter((row) => row.status === "SENT").map((row) => row.email));
      const inFlight = new Set(sink.accepted().map((copy) => copy.to).filter((email) => !sentBefore.has(email)));
      kills.push({ at, held, victim, sentBefore, inFlight });
      // The survivor delivers again (the killed process is gone: whatever arrives now is the survivor's)…
      const before = sink.accepted().length;
      await sink.untilAccepted(before + 1, (LEASE_SECONDS + 30) * 1000);
      // …and the killed one comes back, as an orchestrator would restart it, as the standby.
      live.splice(live.indexOf(victim), 1);
      const restarted = await startedSendgate(env);
      processes.push(restarted);
      live.push(restarted);
    }
    await untilStatus(db, id, ["COMPLETED"], 180_000);
    for (const process of live) expect((await process.stop()).code, tail(process.log)).toBe(0);

    const rows = await recordedRecipients(db, id);
    const figures = countAtSink(id, rows, sink.copies);
    expect(rows.filter((row) => row.status !== "SENT")).toEqual([]);
    expect(figures.delivered).toBe(RECIPIENTS);
    expect(figures.lost).toBe(0);
    expect(figures.wrongOutcomes).toEqual([]);
    expect(figures.strangers).toBe(0);
    expect(figures.messageIdsKept).toBe(true);

    const bound = CONCURRENCY * HANDOFFS_PER_CONNECTION;
    const inFlightAnywhere = new Set(kills.flatMap((kill) => [...kill.inFlight]));
    for (const [k, kill] of kills.entries()) {
      const againAfter = sink.accepted().filter((copy) => copy.at > kill.at && kill.sentBefore.has(copy.to));
      expect(againAfter.map((copy) => copy.to), `recorded as sent before kill ${k + 1}, received again after it`).toEqual([]);
      expect(kill.inFlight.size, `in flight at kill ${k + 1}`).toBeLessThanOrEqual(bound);
    }
    expect(figures.receivedTwice.filter((email) => !inFlightAnywhere.has(email))).toEqual([]);
    for (const email of figures.receivedTwice) {
      const caught = kills.filter((kill) => kill.inFlight.has(email)).length;
      expect(sink.accepted().filter((copy) => copy.to === email).length, email).toBeLessThanOrEqual(1 + caught);
    }
    // Each takeover was a resumption by the other process, logged as such.
    for (const kill of kills) {
      const survivor = processes.find((process) => process !== kill.victim && process.log.some((line) => Number(line.time) > kill.at && String(line.msg).startsWith(`resuming delivery of ${id}`)));
      expect(survivor, `a process resumed ${id} after kill at ${kill.at}`).toBeDefined();
    }
    for (const process of live) expect(errorsIn(process.log), tail(process.log)).toEqual([]);
    expect(slack.standin.refusals, describeRefusals(slack.standin.refusals)).toEqual([]);

    const recoveryMs = kills.map(({ at, held }) => Math.min(...sink.accepted().filter((copy) => copy.at > at && copy !== held).map((copy) => copy.at)) - at);
    const twice = new Set(figures.receivedTwice);
    reportCase({
      case: "Two processes on PostgreSQL, the one delivering SIGKILLed",
      runs: kills.length,
      recipients: RECIPIENTS,
      delivered: figures.delivered,
      lost: figures.lost,
      duplicates: figures.receivedTwice.length,
      inFlight: figures.receivedTwice.filter((email) => inFlightAnywhere.has(email)).length,
      messageIdsKept: figures.messageIdsKept,
      recoveryMs,
      notes:
        `killed after ${KILL_POINTS.join(" and ")} accepted; in flight at each kill: ${kills.map((kill) => kill.inFlight.size).join(", ")} (bound ${bound}), ` +
        `re-sent: ${kills.map((kill) => [...kill.inFlight].filter((email) => twice.has(email)).length).join(", ")}; the other process took over once the ${LEASE_SECONDS} s lease (SENDER_LEASE_SECONDS) ran out`,
      durationMs: Date.now() - started,
    });
  });
});
