// One sendgate delivery process, for the crash test: delivers what is due until it is killed.
import pino from "pino";
import { openDatabase } from "../../../src/db/database.js";
import { createMailer } from "../../../src/mail/transport.js";
import { createSenderEngine } from "../../../src/sender/engine.js";
import { createTestSenderStore } from "../../support/db-paths.js";
import { silentNotifier, systemClock } from "../../../src/sendings/support/ports.js";
import { testSettings } from "./fixtures.js";

const log = pino({ level: "silent" });
const db = await openDatabase(process.env.DATABASE_URL as string);
const settings = testSettings({ leaseSeconds: Number(process.env.LEASE_SECONDS ?? 60), prepareWindow: 40 });
const mailer = createMailer({ smtpUrl: process.env.SMTP_URL, outboxDir: "unused", rate: settings.rate, concurrency: settings.concurrency }, log);
const engine = createSenderEngine({ store: createTestSenderStore(db), mailer, notifier: silentNotifier, clock: systemClock, log, settings, owner: "child" });
await engine.tick();
await engine.idle();
process.exit(0);
