import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, expect, it } from "vitest";
import { HANDOFFS_PER_CONNECTION } from "../../src/sender/delivery-run.js";
import { createTestDatabase, describeEachDatabase, type TestDatabase } from "../support/databases.js";
import { ManualClock, givenSending, recipientsOf, startTestEngine } from "./support/fixtures.js";
import { startSmtpSink, type SmtpSink } from "./support/smtp-sink.js";

const child = fileURLToPath(new URL("./support/deliver-child.ts", import.meta.url));
const LEASE_SECONDS = 30;

describeEachDatabase("crash safety", (provider) => {
  let db: TestDatabase;
  let sink: SmtpSink;
  beforeEach(async () => {
    db = await createTestDatabase(provider);
    sink = await startSmtpSink();
  });
  afterEach(async () => {
    await sink.close();
    await db.destroy();
  });

  it("after a SIGKILL mid-delivery, a new engine finishes: nothing recorded as sent goes twice, the in-flight one keeps its Message-ID", async () => {
    const now = new Date();
    const id = await givenSending(db, { recipients: 300, launchAt: new Date(now.getTime() - 60_000) });
    let inFlight = "";
    const started: { child?: ChildProcess } = {};
    const killed = new Promise<void>((resolve) => {
      sink.behaviour.received = async (mail, count) => {
        if (count !== 120) return;
        // Killed while the server holds this message: it arrived, but the sender never heard so.
        inFlight = mail.to;
        started.child!.kill("SIGKILL");
        await new Promise((exited) => started.child!.once("exit", exited));
        resolve();
      };
    });
    started.child = spawn(process.execPath, ["--import", "tsx", child], {
      env: { ...process.env, DATABASE_URL: db.url, SMTP_URL: sink.url, LEASE_SECONDS: String(LEASE_SECONDS) },
      stdio: ["ignore", "inherit", "inherit"],
    });
    await killed;
    sink.behaviour.received = undefined;

    const atCrash = await recipientsOf(db, id);
    const sentAtCrash = new Set(atCrash.filter((r) => r.status === "SENT").map((r) => r.email));
    const sending = await db.prisma.sending.findUniqueOrThrow({ where: { id } });
    expect(sending).toMatchObject({ status: "SENDING", leaseOwner: "child" });
    expect(sentAtCrash.size).toBeGreaterThan(0);
    expect(sentAtCrash.has(inFlight)).toBe(false);
    const receivedAtCrash = sink.received.length;

    // The dead process's lease has to run out before anyone else delivers.
    const clock = new ManualClock(new Date(Date.now() + 1_000));
    const successor = startTestEngine(db, sink.url, { clock });
    await successor.deliver();
    expect(sink.received).toHaveLength(receivedAtCrash);
    clock.advance(LEASE_SECONDS * 1000);
    await successor.deliver();
    await successor.close();

    const rows = await recipientsOf(db, id);
    expect(rows.every((r) => r.status === "SENT")).toBe(true);
    expect((await db.prisma.sending.findUniqueOrThrow({ where: { id } })).status).toBe("COMPLETED");
    const twice: string[] = [];
    for (const row of rows) {
      const mails = sink.received.filter((mail) => mail.to === row.email);
      expect(mails.length, row.email).toBeGreaterThanOrEqual(1);
      if (sentAtCrash.has(row.email)) expect(mails, row.email).toHaveLength(1);
      if (mails.length > 1) twice.push(row.email);
      expect(mails.length).toBeLessThanOrEqual(2);
      for (const mail of mails) expect(mail.messageId).toBe(`<${id}.r${row.id}@acme.test>`);
    }
    expect(twice).toContain(inFlight);
    // At most the messages in hand, the outcomes not yet written among them.
    expect(twice.length).toBeLessThanOrEqual(4 * HANDOFFS_PER_CONNECTION);
  });
});
