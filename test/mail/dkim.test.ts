import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dkimVerify } from "mailauth/lib/dkim/verify.js";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";
import { createMailer } from "../../src/mail/transport.js";
import { startSmtpSink, type SmtpSink } from "../sender/support/smtp-sink.js";
import { messageToAnn } from "./support/messages.js";

const log = pino({ level: "silent" });
const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const PRIVATE_PEM = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
/** The TXT record an operator publishes at mail2026._domainkey.acme.test. */
const PUBLIC_RECORD = `v=DKIM1; k=rsa; p=${publicKey.export({ type: "spki", format: "der" }).toString("base64")}`;

const slack = { SLACK_BOT_TOKEN: "xoxb-1-2-3", SLACK_SIGNING_SECRET: "secret", SLACK_APPROVALS_CHANNEL: "C0APPROVALS", APPROVERS: "U0AAA" };
const message = messageToAnn();

/** A resolver that answers the test's own DNS: only the published key exists. */
const resolver = async (name: string, type: string) => {
  if (type === "TXT" && name === "mail2026._domainkey.acme.test") return [[PUBLIC_RECORD]];
  throw Object.assign(new Error(`no ${type} record for ${name}`), { code: "ENOTFOUND" });
};

describe("DKIM", () => {
  let sink: SmtpSink;
  let dir: string | undefined;
  afterEach(async () => {
    await sink?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("signs every message; what the mail server receives verifies against the published key", async () => {
    sink = await startSmtpSink();
    const config = loadConfig({ ...slack, SMTP_URL: sink.url, DKIM_DOMAIN: "acme.test", DKIM_SELECTOR: "mail2026", DKIM_PRIVATE_KEY: PRIVATE_PEM.replace(/\n/g, "\\n") });
    const mailer = createMailer(config.mail, log);
    expect(await mailer.send(message)).toMatchObject({ accepted: true });
    await mailer.close();
    const { results } = await dkimVerify(sink.received[0]!.raw, { resolver });
    expect(results).toEqual([expect.objectContaining({ signingDomain: "acme.test", selector: "mail2026", status: expect.objectContaining({ result: "pass" }) })]);

    // The check can fail: another key published under the selector does not verify the same message.
    const other = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ type: "spki", format: "der" }).toString("base64");
    const wrong = await dkimVerify(sink.received[0]!.raw, { resolver: async () => [[`v=DKIM1; k=rsa; p=${other}`]] });
    expect(wrong.results[0]?.status.result).toBe("fail");
  });

  it("reads the key from a file, and refuses a malformed key or half a configuration at start, in plain words", () => {
    dir = mkdtempSync(join(tmpdir(), "sendgate-dkim-"));
    const file = join(dir, "dkim.pem");
    writeFileSync(file, PRIVATE_PEM);
    expect(loadConfig({ ...slack, DKIM_DOMAIN: "acme.test", DKIM_SELECTOR: "mail2026", DKIM_PRIVATE_KEY_FILE: file }).mail.dkim).toEqual({
      domainName: "acme.test",
      keySelector: "mail2026",
      privateKey: PRIVATE_PEM,
    });
    const refused = (env: Record<string, string>) => {
      try {
        loadConfig({ ...slack, ...env });
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as ConfigError).problems;
      }
      throw new Error("expected a refusal");
    };
    expect(refused({ DKIM_DOMAIN: "acme.test", DKIM_SELECTOR: "mail2026", DKIM_PRIVATE_KEY: "not a key" })).toEqual([
      "DKIM_PRIVATE_KEY is not a PEM private key (-----BEGIN PRIVATE KEY----- …)",
    ]);
    expect(refused({ DKIM_DOMAIN: "acme.test" })).toEqual([
      expect.stringMatching(/^DKIM_SELECTOR is required/),
      expect.stringMatching(/^DKIM_PRIVATE_KEY \(or DKIM_PRIVATE_KEY_FILE\) is required/),
    ]);
    expect(refused({ DKIM_DOMAIN: "acme.test", DKIM_SELECTOR: "s", DKIM_PRIVATE_KEY_FILE: join(dir, "missing.pem") })).toEqual([
      expect.stringMatching(/^DKIM_PRIVATE_KEY_FILE cannot be read \(ENOENT\)/),
    ]);
  });
});
