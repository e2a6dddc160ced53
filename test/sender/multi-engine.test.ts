import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "../../src/db/database.js";
import { createTestDatabase, testedProviders, type TestDatabase } from "../support/databases.js";
import { ManualClock, givenSending, recipientsOf, startTestEngine, type TestEngine } from "./support/fixtures.js";
import { startSmtpSink, type SmtpSink } from "./support/smtp-sink.js";

// Several processes sharing one database is the PostgreSQL deployment; SQLite is one process's own file.
const onPostgres = testedProviders().includes("postgresql") ? describe : describe.skip;

onPostgres("several engines on one PostgreSQL database (skipped only without TEST_POSTGRES_URL)", () => {
  const provider = "postgresql" as const;
  let db: TestDatabase;
  let sink: SmtpSink;
  const clients: Database[] = [];
  beforeEach(async () => {
    db = await createTestDatabase(provider);
    sink = await startSmtpSink();
  });
  afterEach(async () => {
    await sink.close();
    for (const client of clients.splice(0)) await client.close();
    await db.destroy();
  });

  it(
    "three engines ticking against one PostgreSQL deliver 2,000 recipients each exactly once, handing over when one stops",
    async () => {
      const id = await givenSending(db, { recipients: 2_000 });
      const clock = new ManualClock();
      const engines: (TestEngine & { handed: number })[] = [];
      for (const name of ["a", "b", "c"]) {
        // Each engine with a database client of its own, as three processes would have.
        const client = await openDatabase(db.url);
        clients.push(client);
        const engine = Object.assign(startTestEngine(client, sink.url, { clock, owner: `engine-${name}`, settings: { prepareWindow: 100 } }), { handed: 0 });
        engines.push(engine);
      }
      const stopping: Promise<void>[] = [];
      sink.behaviour.received = (_mail, count) => {
        // Twice, whichever engine is delivering shuts down; another one must take over.
        if (count === 500 || count === 1_200) {
          const current = engines.find((e) => e.engine.delivering().includes(id));
          if (current) {
            current.handed = count;
            stopping.push(current.close());
          }
        }
      };

      const deadline = Date.now() + 90_000;
      for (;;) {
        await Promise.all(engines.map((e) => e.engine.tick()));
        const { status } = await db.prisma.sending.findUniqueOrThrow({ where: { id } });
        if (status === "COMPLETED" || Date.now() > deadline) break;
        await sleep(20);
      }
      await Promise.all(stopping);
      for (const e of engines) await e.engine.idle();

      const rows = await recipientsOf(db, id);
      expect(rows.filter((r) => r.status === "SENT")).toHaveLength(2_000);
      const perRecipient = new Map<string, number>();
      for (const mail of sink.received) perRecipient.set(mail.to, (perRecipient.get(mail.to) ?? 0) + 1);
      expect(perRecipient.size).toBe(2_000);
      expect([...perRecipient.values()].every((n) => n === 1)).toBe(true);
      expect(sink.received).toHaveLength(2_000);
      expect(engines.filter((e) => e.handed > 0)).toHaveLength(2);
      expect((await db.prisma.sending.findUniqueOrThrow({ where: { id } })).status).toBe("COMPLETED");
      for (const e of engines) await e.close();
    },
    120_000,
  );
});
