import { describe, expect, it } from "vitest";
import { HANDOFFS_PER_CONNECTION } from "../../src/sender/delivery-run.js";
import { givenSending } from "../sender/support/fixtures.js";
import { describeRefusals } from "../support/slack-api.js";
import { suiteCluster } from "./support/databases.js";
import type { Copy } from "./support/fault-sink.js";
import { countAtSink, reportCase } from "./support/figures.js";
import { sendgateEnv, startedSendgate, tail } from "./support/sendgate-process.js";
import { useCaseSurroundings } from "./support/surroundings.js";
import { recordedRecipients, untilStatus } from "./support/waits.js";

const RECIPIENTS = 2_000;
const CONCURRENCY = 4;
/** Restarted when the mail server has accepted this many. */
const RESTART_POINTS = [600, 1_300];

/**
 * PostgreSQL restarted (`pg_ctlcluster restart -m fast`: every connection cut) twice during a
 * delivery, on the suite's own cluster, while sendgate runs as `npm start` runs it with the production
 * defaults for leases. Delivery resumes by itself, in the same process; nothing is lost; the mail
 * server receives twice only messages that were in flight across a restart, with their Message-ID.
 */
describe("PostgreSQL restarted during a delivery", () => {
  // A case that failed mid-restart may leave the cluster stopped: started again so that it can be dropped.
  const around = useCaseSurroundings("postgresql", { beforeDestroy: () => suiteCluster().start().catch(() => undefined) });

  it("delivery resumes by itself after each restart; nothing lost; only messages in flight received twice, with their Message-ID", async () => {
    const { db, sink, slack } = around;
    const cluster = suiteCluster();
    const id = await givenSending(db, { recipients: RECIPIENTS, launchAt: new Date(Date.now() - 1_000) });
    const started = Date.now();
    const sendgate = await startedSendgate(
      sendgateEnv({ databaseUrl: db.url, smtpUrl: sink.url, slackApiUrl: slack.apiUrl }, { SEND_RATE: "250", SEND_CONCURRENCY: String(CONCURRENCY) }),
    );
    around.processes.push(sendgate);
    const restarts: { at: number; back: number; held: Copy; sentBefore: Set<string> }[] = [];
    for (const point of RESTART_POINTS) {
      // The restart happens while the mail server holds one message: it stays in flight across it.
      const done = new Promise<void>((resolve, reject) => {
        sink.onAccepting = async (held, acceptedSoFar) => {
          if (acceptedSoFar < point) return;
          sink.onAccepting = undefined;
          try {
            const rows = await recordedRecipients(db, id);
            const sentBefore = new Set(rows.filter((row) => row.status === "SENT").map((row) => row.email));
            const at = Date.now();
            await cluster.restart();
            restarts.push({ at, back: Date.now(), held, sentBefore });
            resolve();
          } catch (error) {
            reject(error as Error);
          }
        };
      });
      await done;
      expect(sendgate.isRunning(), tail(sendgate.log)).toBe(true);
    }
    await untilStatus(db, id, ["COMPLETED"], 240_000);
    // The same process did it all: it never exited, and it stops cleanly.
    expect(sendgate.isRunning(), tail(sendgate.log)).toBe(true);
    expect((await sendgate.stop()).code, tail(sendgate.log)).toBe(0);

    const rows = await recordedRecipients(db, id);
    const figures = countAtSink(id, rows, sink.copies);
    expect(rows.filter((row) => row.status !== "SENT")).toEqual([]);
    expect(figures.delivered).toBe(RECIPIENTS);
    expect(figures.lost).toBe(0);
    expect(figures.wrongOutcomes).toEqual([]);
    expect(figures.strangers).toBe(0);
    expect(figures.messageIdsKept).toBe(true);

    // Possibly in flight at a restart: accepted by the mail server before the database was back, and not recorded as sent before the restart began.
    const inFlight = restarts.map(({ back, held, sentBefore }) => {
      const accepted = sink.accepted().filter((copy) => copy.at <= back || copy === held);
      return new Set(accepted.map((copy) => copy.to).filter((email) => !sentBefore.has(email)));
    });
    const inFlightAnywhere = new Set(inFlight.flatMap((set) => [...set]));
    for (const [r, restart] of restarts.entries()) {
      const againAfter = sink.accepted().filter((copy) => copy.at > restart.at && restart.sentBefore.has(copy.to));
      expect(againAfter.map((copy) => copy.to), `recorded as sent before restart ${r + 1}, received again after it`).toEqual([]);
    }
    expect(figures.receivedTwice.filter((email) => !inFlightAnywhere.has(email))).toEqual([]);
    for (const email of figures.receivedTwice) {
      const caught = inFlight.filter((set) => set.has(email)).length;
      expect(sink.accepted().filter((copy) => copy.to === email).length, email).toBeLessThanOrEqual(1 + caught);
    }
    const twice = new Set(figures.receivedTwice);
    const resent = inFlight.map((set) => [...set].filter((email) => twice.has(email)).length);
    for (const count of resent) expect(count).toBeLessThanOrEqual(CONCURRENCY * HANDOFFS_PER_CONNECTION);

    // From the restart command to the first message handed over after the database was back.
    const recoveryMs = restarts.map(({ at, back, held }) => Math.min(...sink.accepted().filter((copy) => copy.at > back && copy !== held).map((copy) => copy.at)) - at);
    const errors = sendgate.log.filter((line) => line.level >= 50);
    expect(slack.standin.refusals, describeRefusals(slack.standin.refusals)).toEqual([]);
    reportCase({
      case: "PostgreSQL restarted mid-delivery",
      runs: restarts.length,
      recipients: RECIPIENTS,
      delivered: figures.delivered,
      lost: figures.lost,
      duplicates: figures.receivedTwice.length,
      inFlight: figures.receivedTwice.filter((email) => inFlightAnywhere.has(email)).length,
      messageIdsKept: figures.messageIdsKept,
      recoveryMs,
      notes:
        `pg_ctlcluster restart -m fast after ${RESTART_POINTS.join(" and ")} accepted (${restarts.map((r) => `${((r.back - r.at) / 1000).toFixed(1)} s`).join(", ")} down); ` +
        `the same process resumed each time (default SENDER_LEASE_SECONDS=60); messages re-sent after each restart: ${resent.join(", ")}; ` +
        `${errors.length} error lines logged meanwhile (${[...new Set(errors.map((line) => line.msg))].join("; ")})`,
      durationMs: Date.now() - started,
    });
  });
});
