import pino from "pino";
import type { Database } from "../../../src/db/database.js";
import type { SendingStatus } from "../../../src/domain/sending-status.js";
import { createMailer, type Mailer } from "../../../src/mail/transport.js";
import { createSenderEngine, type SenderEngine } from "../../../src/sender/engine.js";
import { createTestSenderStore } from "../../support/db-paths.js";
import type { SenderSettings } from "../../../src/sender/settings.js";
import type { ApproverDirectory, Clock, DeliveryProgress, SendingEvent, SendingNotifier } from "../../../src/sendings/support/ports.js";

export const NOW = new Date("2026-12-01T09:00:00Z");
export const silentLog = pino({ level: "silent" });

export class ManualClock implements Clock {
  constructor(private current = NOW) {}
  now() {
    return new Date(this.current);
  }
  advance(ms: number) {
    this.current = new Date(this.current.getTime() + ms);
  }
}

export class RecordingNotifier implements SendingNotifier {
  readonly events: { sendingId: string; event: SendingEvent }[] = [];
  readonly progress: { sendingId: string; progress: DeliveryProgress }[] = [];
  async sendingChanged(sendingId: string, event: SendingEvent) {
    this.events.push({ sendingId, event });
  }
  deliveryProgress(sendingId: string, progress: DeliveryProgress) {
    this.progress.push({ sendingId, progress });
  }
  kinds(sendingId?: string) {
    return this.events.filter((e) => !sendingId || e.sendingId === sendingId).map((e) => e.event.kind);
  }
  last<K extends SendingEvent["kind"]>(kind: K): Extract<SendingEvent, { kind: K }> | undefined {
    return this.events.map((e) => e.event).filter((e): e is Extract<SendingEvent, { kind: K }> => e.kind === kind).at(-1);
  }
}

export function testSettings(overrides: Partial<SenderSettings> = {}): SenderSettings {
  return {
    rate: 100_000,
    concurrency: 4,
    leaseSeconds: 60,
    prepareWindow: 20,
    maxAttempts: 3,
    retrySeconds: 60,
    lateLaunchLimitMinutes: 30,
    errorBudget: { consecutive: 1_000, ratio: 1, window: 1_000 },
    maxSendings: 4,
    progressIntervalMs: 50,
    ...overrides,
  };
}

export interface SendingFixture {
  id?: string;
  status?: SendingStatus;
  launchAt?: Date;
  recipients?: number;
  subject?: string;
  html?: string;
  text?: string | null;
  fromEmail?: string;
  /** Extra variables for recipient i. */
  vars?: (i: number) => Record<string, unknown>;
}

let counter = 0;

export const emailOf = (i: number) => `r${i}@example.test`;

/** A sending as the approval gate leaves it: SCHEDULED, due now, with `recipients` personalized recipients. */
export async function givenSending(db: Database, fixture: SendingFixture = {}): Promise<string> {
  const id = fixture.id ?? `snd_t${String(++counter).padStart(3, "0")}${Math.random().toString(36).slice(2, 8)}`;
  await db.prisma.sending.create({
    data: {
      id,
      name: "Spring newsletter",
      subject: fixture.subject ?? "Hello {{firstName}}",
      fromName: "Acme",
      fromEmail: fixture.fromEmail ?? "news@acme.test",
      replyTo: "help@acme.test",
      html: fixture.html ?? "<p>Hi {{firstName}}, your code is <b>{{code}}</b>.</p>",
      text: fixture.text === undefined ? null : fixture.text,
      launchAt: fixture.launchAt ?? new Date(NOW.getTime() - 60_000),
      requestedBy: "UREQUESTER",
      status: fixture.status ?? "SCHEDULED",
      contentHash: "hash",
      recipientsDigest: "digest",
      recipientCount: fixture.recipients ?? 0,
    },
  });
  const total = fixture.recipients ?? 0;
  for (let start = 0; start < total; start += 1_000) {
    const rows = [];
    for (let i = start; i < Math.min(total, start + 1_000); i++) {
      rows.push({ sendingId: id, email: emailOf(i), vars: JSON.stringify({ firstName: `Reader${i}`, code: `C${i}`, ...fixture.vars?.(i) }) });
    }
    await db.prisma.recipient.createMany({ data: rows });
  }
  return id;
}

export interface TestEngine {
  engine: SenderEngine;
  notifier: RecordingNotifier;
  /** Ticks until nothing is delivering any more. */
  deliver(): Promise<void>;
  close(): Promise<void>;
}

export function startTestEngine(
  db: Database,
  smtpUrl: string,
  options: {
    clock: Clock;
    settings?: Partial<SenderSettings>;
    notifier?: SendingNotifier;
    owner?: string;
    log?: pino.Logger;
    /** Stands between the engine and the SMTP pool (a process that dies mid-send, say). */
    wrapMailer?: (mailer: Mailer) => Mailer;
  },
): TestEngine & { recording: RecordingNotifier } {
  const store = createTestSenderStore(db);
  const settings = testSettings(options.settings);
  const pool = createMailer({ smtpUrl, outboxDir: "unused", rate: settings.rate, concurrency: settings.concurrency }, silentLog);
  const mailer = options.wrapMailer ? options.wrapMailer(pool) : pool;
  const recording = new RecordingNotifier();
  const engine = createSenderEngine({
    store,
    mailer,
    notifier: options.notifier ?? recording,
    clock: options.clock,
    log: options.log ?? silentLog,
    settings,
    owner: options.owner,
  });
  return {
    engine,
    notifier: recording,
    recording,
    async deliver() {
      await engine.tick();
      await engine.idle();
    },
    close: once(async () => {
      await engine.stop();
      await pool.close();
      await store.close();
    }),
  };
}

export async function recipientsOf(db: Database, sendingId: string) {
  return db.prisma.recipient.findMany({ where: { sendingId }, orderBy: { id: "asc" } });
}

export async function statusCounts(db: Database, sendingId: string) {
  const rows = await recipientsOf(db, sendingId);
  const counts: Record<string, number> = {};
  for (const row of rows) counts[row.status] = (counts[row.status] ?? 0) + 1;
  return counts;
}

function once(work: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  return () => (done ??= work());
}

/** The approver list as configured: these user IDs approve, nobody else does. */
export const approversOf = (...userIds: string[]): ApproverDirectory => ({ isApprover: async (userId) => userIds.includes(userId) });

/** How many messages are rendered and waiting for delivery now: the N the Cancel modal asks about. */
export const countPrepared = (db: Database, sendingId: string) => db.prisma.recipient.count({ where: { sendingId, status: "PREPARED" } });
