import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simpleParser } from "mailparser";
import { dkimVerify } from "mailauth/lib/dkim/verify.js";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { createOutboxMailer } from "../../src/mail/transport.js";

const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const record = `v=DKIM1; k=rsa; p=${publicKey.export({ type: "spki", format: "der" }).toString("base64")}`;
const resolver = async (name: string, type: string) => {
  if (type === "TXT" && name === "mail2026._domainkey.acme.test") return [[record]];
  throw Object.assign(new Error(`no ${type} record for ${name}`), { code: "ENOTFOUND" });
};

describe("the outbox with DKIM configured", () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("writes the complete message, signed as it would go out", async () => {
    dir = mkdtempSync(join(tmpdir(), "sendgate-outbox-dkim-"));
    const dkim = { domainName: "acme.test", keySelector: "mail2026", privateKey: privateKey.export({ type: "pkcs8", format: "pem" }).toString() };
    const mailer = createOutboxMailer(dir, pino({ level: "silent" }), dkim);
    const sent = await mailer.send({
      from: { name: "Acme", address: "news@acme.test" },
      to: "ann@example.com",
      replyTo: "help@acme.test",
      subject: "Grüße, Ann",
      html: "<p>Hello Ann</p>",
      text: "Hello Ann",
      messageId: "<snd_abc.r1@acme.test>",
      headers: { "List-Unsubscribe": "<https://acme.test/u/1>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click" },
    });
    expect(sent).toMatchObject({ accepted: true });
    expect(readdirSync(dir)).toEqual(["snd_abc.r1@acme.test.eml"]);
    const raw = readFileSync(join(dir, "snd_abc.r1@acme.test.eml"));
    const { results } = await dkimVerify(raw, { resolver });
    expect(results).toEqual([expect.objectContaining({ signingDomain: "acme.test", status: expect.objectContaining({ result: "pass" }) })]);
    const parsed = await simpleParser(raw);
    expect(parsed).toMatchObject({ subject: "Grüße, Ann", messageId: "<snd_abc.r1@acme.test>", html: "<p>Hello Ann</p>", text: "Hello Ann" });
    expect(parsed.headerLines.find((header) => header.key === "list-unsubscribe-post")?.line).toBe("List-Unsubscribe-Post: List-Unsubscribe=One-Click");
  });
});
