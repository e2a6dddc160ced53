import type { AddressInfo } from "node:net";
import { simpleParser, type ParsedMail } from "mailparser";
import { pino } from "pino";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import { isAppError } from "../../src/domain/errors.js";
import { compileSending } from "../../src/mail/templates.js";
import { createMailer, type Mailer } from "../../src/mail/transport.js";
import { silentNotifier } from "../../src/sendings/support/ports.js";
import { sendTestMessage } from "../../src/sendings/send-test-message.js";
import { createTestDatabase, describeEachDatabase, type TestDatabase } from "../support/databases.js";
import { NOW, insertRecipients, insertSending } from "./fixtures.js";

const APPROVER = "U0APPROVER";
const APPROVER_EMAIL = "approver@acme.test";
const UNSUBSCRIBE_URL = "https://acme.test/u?e={email}";

interface Received {
  envelope: { from: string; to: string[] };
  mail: ParsedMail;
}

/** A real SMTP server in the test, keeping each message with its envelope; `refuse` answers RCPT TO with 550. */
async function startSmtpServer() {
  const received: Received[] = [];
  const state = { refuse: false };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onRcptTo(_address, _session, callback) {
      if (!state.refuse) return callback();
      callback(Object.assign(new Error("5.1.1 mailbox unavailable"), { responseCode: 550 }));
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((mail) => {
          received.push({
            envelope: {
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
              to: session.envelope.rcptTo.map((r) => r.address),
            },
            mail,
          });
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { received, state, url: `smtp://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describeEachDatabase("sendTestMessage", (provider) => {
  let db: TestDatabase;
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let mailer: Mailer;
  let sendingId: string;
  let ann: number;
  let zed: number;
  const log = pino({ level: "silent" });
  const deps = () => ({
    db,
    mailer,
    log,
    notifier: silentNotifier,
    clock: { now: () => NOW },
    approvers: { isApprover: async (userId: string) => userId === APPROVER },
    unsubscribeUrl: UNSUBSCRIBE_URL,
  });
  const input = (overrides: Partial<Parameters<typeof sendTestMessage>[1]> = {}) => ({
    sendingId,
    recipientId: ann,
    approverEmail: APPROVER_EMAIL,
    actor: APPROVER,
    ...overrides,
  });

  beforeAll(async () => {
    db = await createTestDatabase(provider);
    smtp = await startSmtpServer();
    mailer = createMailer({ smtpUrl: smtp.url, outboxDir: "./data/outbox", rate: 10, concurrency: 1 }, log);
    sendingId = await insertSending(db, {
      subject: "Spring news for {{firstName}}",
      html: '<p>Hi {{firstName}}, your code is {{code}}</p><a href="{{unsubscribeUrl}}">Unsubscribe</a>',
      text: "Hi {{firstName}}, your code is {{code}}",
    });
    ann = (await insertRecipients(db, sendingId, [
      { email: "ann@example.com", vars: { firstName: "Ann", code: "A-1", unsubscribeUrl: "https://acme.test/u/ann" } },
    ]))[0]!;
    const other = await insertSending(db);
    zed = (await insertRecipients(db, other, [{ email: "zed@example.com", vars: { firstName: "Zed" } }]))[0]!;
  });
  afterAll(async () => {
    await mailer?.close();
    await smtp?.close();
    await db?.destroy();
  });
  beforeEach(() => {
    smtp.received.length = 0;
    smtp.state.refuse = false;
  });

  it("delivers that recipient's message, marked [TEST], to the approver alone", async () => {
    const result = await sendTestMessage(deps(), input());

    expect(result).toMatchObject({ sent: true, to: APPROVER_EMAIL, recipientEmail: "ann@example.com", subject: "[TEST] Spring news for Ann" });
    expect(smtp.received).toHaveLength(1);
    const [{ envelope, mail }] = smtp.received as [Received];
    expect(envelope.to).toEqual([APPROVER_EMAIL]);
    expect(envelope.from).toBe("news@acme.test");
    expect(mail.subject).toBe("[TEST] Spring news for Ann");
    expect(mail.to && !Array.isArray(mail.to) ? mail.to.value.map((a) => a.address) : []).toEqual([APPROVER_EMAIL]);
    expect(mail.cc).toBeUndefined();
    expect(mail.bcc).toBeUndefined();

    const sending = await db.prisma.sending.findUniqueOrThrow({ where: { id: sendingId } });
    const rendered = compileSending(sending).render({ email: "ann@example.com", firstName: "Ann", code: "A-1", unsubscribeUrl: "https://acme.test/u/ann" });
    expect(mail.html).toBe(rendered.html);
    expect(mail.text?.trim()).toBe(rendered.text);
    expect(mail.from?.value[0]).toMatchObject({ name: "Acme", address: "news@acme.test" });
    expect(mail.messageId).toBe(result.sent ? result.messageId : "");
    expect(mail.messageId).toMatch(new RegExp(`^<${sendingId}\\.r${ann}\\.test-[0-9a-f]{12}@acme\\.test>$`));
    // Its own Message-ID, and no one-click unsubscribe that would unsubscribe Ann from the approver's inbox.
    expect(mail.headers.has("list-unsubscribe")).toBe(false);
  });

  it("writes the test to the audit trail, with the recipient and where it went", async () => {
    await sendTestMessage(deps(), input());
    const event = await db.prisma.auditEvent.findFirstOrThrow({ where: { sendingId, action: "test-sent" }, orderBy: { id: "desc" } });
    expect(event.actor).toBe(APPROVER);
    expect(JSON.parse(event.details ?? "{}")).toMatchObject({ recipientId: ann, recipientEmail: "ann@example.com", to: APPROVER_EMAIL });
  });

  it("says when the server refused it, and records that", async () => {
    smtp.state.refuse = true;
    const result = await sendTestMessage(deps(), input());
    expect(result).toMatchObject({ sent: false, to: APPROVER_EMAIL, temporary: false, reason: expect.stringMatching(/550/) });
    expect(smtp.received).toHaveLength(0);
    const event = await db.prisma.auditEvent.findFirstOrThrow({ where: { sendingId, action: "test-failed" } });
    expect(event.reason).toMatch(/550/);
  });

  it.each([
    ["someone who may not steer the sending", () => input({ actor: "U0STRANGER" }), "NOT_ALLOWED"],
    ["a recipient of another sending", () => input({ recipientId: zed }), "NOT_FOUND"],
    ["an approver without a usable address", () => input({ approverEmail: "not an address" }), "VALIDATION"],
  ])("refuses %s and sends nothing", async (_, request, code) => {
    const audits = await db.prisma.auditEvent.count();
    await expect(sendTestMessage(deps(), request())).rejects.toSatisfy((error) => isAppError(error) && error.code === code);
    expect(smtp.received).toHaveLength(0);
    expect(await db.prisma.auditEvent.count()).toBe(audits);
  });
});
