import { generateKeyPairSync } from "node:crypto";
import fc from "fast-check";
import { simpleParser, type AddressObject, type ParsedMail } from "mailparser";
import { dkimVerify } from "mailauth/lib/dkim/verify.js";
import nodemailer from "nodemailer";
import { describe, expect, it } from "vitest";
import { composeMessage, messageBytes } from "../../src/mail/mime/compose-message.js";
import { createDkimSigner } from "../../src/mail/mime/dkim-signature.js";
import { encodeBody, encodeQuotedPrintable } from "../../src/mail/mime/body-encoding.js";
import type { OutgoingMessage } from "../../src/mail/transport.js";

/**
 * How nodemailer composed sendgate's messages before, as they arrived over SMTP: the reference the
 * composed message must read like. Its SMTP connection turns a bare CR or LF into CRLF on the way.
 */
const reference = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: "windows" });
async function composedByNodemailer(message: OutgoingMessage): Promise<Buffer> {
  const info = await reference.sendMail({
    from: message.from.name ? { name: message.from.name, address: message.from.address } : message.from.address,
    to: message.to,
    replyTo: message.replyTo ?? undefined,
    subject: message.subject,
    html: message.html,
    text: message.text,
    messageId: message.messageId,
    headers: message.headers,
  });
  return Buffer.from((info.message as Buffer).toString("latin1").replace(/\r(?!\n)|(?<!\r)\n/g, "\r\n"), "latin1");
}

const addresses = (value: AddressObject | AddressObject[] | undefined) => [value ?? []].flat().flatMap((a) => a.value.map(({ name, address }) => ({ name, address })));

/** What a mail client shows of a message. */
function asRead(parsed: ParsedMail) {
  return {
    subject: parsed.subject,
    from: addresses(parsed.from),
    to: addresses(parsed.to),
    replyTo: addresses(parsed.replyTo),
    html: parsed.html,
    text: parsed.text,
    messageId: parsed.messageId,
    list: parsed.headers.get("list"),
    listUnsubscribe: headerValue(parsed, "list-unsubscribe"),
    listUnsubscribePost: headerValue(parsed, "list-unsubscribe-post"),
  };
}

/** A header's value as written, unfolded (mailparser gathers List-* headers into one object). */
function headerValue(parsed: ParsedMail, key: string): string | undefined {
  const line = parsed.headerLines.find((header) => header.key === key)?.line;
  return line?.slice(line.indexOf(":") + 1).replace(/\r\n/g, "").trim();
}

/** Well-formed on the wire: CRLF only, no line over 998 characters, body lines within 78. */
function expectWellFormed(raw: Buffer) {
  const text = raw.toString("latin1");
  expect(text.replace(/\r\n/g, "")).not.toMatch(/[\r\n]/);
  const [head, ...rest] = text.split("\r\n\r\n");
  for (const line of head!.split("\r\n")) expect(line.length).toBeLessThanOrEqual(998);
  for (const line of rest.join("\r\n\r\n").split("\r\n")) {
    expect(line.length).toBeLessThanOrEqual(78);
  }
}

async function expectReadsLikeNodemailers(message: OutgoingMessage) {
  const composed = composeMessage(message);
  const raw = messageBytes(composed);
  expectWellFormed(raw);
  const [ours, theirs] = await Promise.all([simpleParser(raw), composedByNodemailer(message).then((buffer) => simpleParser(buffer))]);
  expect(asRead(ours)).toEqual(asRead(theirs));
  return { composed, ours };
}

const base: OutgoingMessage = {
  from: { name: "Acme", address: "news@acme.test" },
  to: "ann@example.com",
  replyTo: "help@acme.test",
  subject: "Ann, the spring collection is here",
  html: "<html><body><h1>Spring</h1><p>Hi Ann,</p><p>Read <a href=\"https://acme.test/s?u=1\">this</a>.</p></body></html>",
  text: "Hi Ann,\n\nRead this [https://acme.test/s?u=1].",
  messageId: "<snd_abc.r1@acme.test>",
  headers: { "List-Unsubscribe": "<https://acme.test/u/1>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click" },
};

describe("composing a message", () => {
  it("gives what nodemailer gives, as a mail client reads it, for hostile input", async () => {
    const cases: Partial<OutgoingMessage>[] = [
      {},
      { subject: "Grüße, Zoë 🎉 — the spring collection is here, with a subject long enough to be folded" },
      { subject: "A plain ASCII subject that runs on well past the seventy-six characters a header line should hold" },
      { subject: "Hello\r\nBcc: evil@attacker.test", html: "<p>x</p>\r\nBcc: evil@attacker.test" },
      { subject: "  spaced\tout  " },
      { subject: "=?UTF-8?Q?looks_encoded?= and = signs" },
      { subject: "" },
      { from: { name: 'Acme, Inc. "the best"', address: "news@acme.test" } },
      { from: { name: "Société Générale 🏦", address: "news@acme.test" }, replyTo: '"Help, Desk" <help@acme.test>' },
      { from: { name: null, address: "news@acme.test" }, replyTo: null },
      { to: "Ann.Lee+spring@Example.COM" },
      { to: "anna@bücher.example" },
      { to: "zoë@example.com" },
      { text: ".hidden\n..double\n.\nend", html: ".start\r\n<p>.x</p>\n." },
      { text: "x".repeat(5_000), html: `<p>${"word ".repeat(2_000)}</p>${"y".repeat(3_000)}` },
      { text: "a\r\nb\nc\rd\n\n\ntrailing   \nspaces\t\n\tand tabs \t", html: "<p>a  b</p>  \n  <p>c</p>\t" },
      { text: "naïve café ∑ 中文 😀 \u00a0nbsp \u200bzwsp", html: "<p>naïve café ∑ 中文 😀</p>" },
      { text: "", html: "<p>Only HTML</p>" },
      { text: "Only text", html: "" },
      { text: "= =3D =_sendgate_ --=_sendgate_x\n--=_sendgate_x--", html: "=_ =\r\n=" },
      { headers: { "List-Unsubscribe": `<https://acme.test/unsubscribe/${"a".repeat(120)}?e=ann%40example.com>` } },
      { headers: { "List-Unsubscribe": "<mailto:leave@acme.test?subject=unsubscribe>" } },
      { headers: {} },
      { from: { name: "Bücher", address: "news@bücher.example" }, messageId: "<snd_abc.r1@bücher.example>" },
    ];
    for (const overrides of cases) await expectReadsLikeNodemailers({ ...base, ...overrides });
  });

  it("gives what nodemailer gives for any subject, names and text", async () => {
    const text = fc.string({ unit: "grapheme", maxLength: 300 });
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          subject: fc.string({ unit: "grapheme", maxLength: 120 }).map((s) => s.replace(/\s+/g, " ").trim()),
          name: fc.string({ unit: "grapheme-ascii", maxLength: 40 }),
          text: fc.oneof(text, fc.array(fc.constantFrom("a", " ", "\t", ".", "\r\n", "\n", "\r", "=", "é", "—"), { maxLength: 200 }).map((parts) => parts.join(""))),
          html: text,
        }),
        async ({ subject, name, text, html }) => {
          await expectReadsLikeNodemailers({ ...base, subject, from: { name, address: "news@acme.test" }, text, html: html || "<p></p>" });
        },
      ),
      { numRuns: 200 },
    );
  });

  it("carries the headers that make it a sending's message", async () => {
    const { ours } = await expectReadsLikeNodemailers(base);
    expect(asRead(ours)).toMatchObject({
      subject: base.subject,
      messageId: "<snd_abc.r1@acme.test>",
      listUnsubscribe: "<https://acme.test/u/1>",
      listUnsubscribePost: "List-Unsubscribe=One-Click",
      list: { unsubscribe: { url: "https://acme.test/u/1" } },
      replyTo: [{ name: "", address: "help@acme.test" }],
    });
  });

  it("carries the envelope nodemailer would derive", () => {
    expect(composeMessage(base).envelope).toEqual({ from: "news@acme.test", to: "ann@example.com" });
    expect(composeMessage({ ...base, to: "anna@bücher.example" }).envelope).toEqual({ from: "news@acme.test", to: "anna@xn--bcher-kva.example" });
    expect(composeMessage({ ...base, from: { name: "B", address: "news@bücher.example" } }).envelope.from).toBe("news@xn--bcher-kva.example");
  });

  it("keeps a line break in a subject from starting a header of its own", async () => {
    const { ours } = await expectReadsLikeNodemailers({ ...base, subject: "Hello\r\nBcc: evil@attacker.test" });
    expect(ours.bcc).toBeUndefined();
    expect(ours.headers.has("bcc")).toBe(false);
  });
});

describe("quoted-printable", () => {
  it("escapes what must be escaped and keeps lines within 76 characters", () => {
    const encoded = (text: string) => encodeQuotedPrintable(text).toString("latin1");
    expect(encoded("a=b café")).toBe("a=3Db caf=C3=A9");
    expect(encoded("end \nnext\t")).toBe("end=20\r\nnext=09");
    expect(encoded(".first\n.second")).toBe("=2Efirst\r\n=2Esecond");
    expect(encoded("x".repeat(80))).toBe(`${"x".repeat(75)}=\r\n${"x".repeat(5)}`);
    // A soft break never splits an escape.
    expect(encoded(`${"x".repeat(74)}é`)).toBe(`${"x".repeat(74)}=\r\n=C3=A9`);
    for (const line of encoded("é".repeat(500)).split("\r\n")) expect(line.length).toBeLessThanOrEqual(76);
  });

  it("carries any text's UTF-8 bytes, line breaks as CRLF", () => {
    const decode = (encoded: Buffer) => {
      const text = encoded.toString("latin1").replace(/=\r\n/g, "");
      const bytes: number[] = [];
      for (let i = 0; i < text.length; i++) {
        if (text[i] === "=") {
          bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
          i += 2;
        } else bytes.push(text.charCodeAt(i));
      }
      return Buffer.from(bytes);
    };
    fc.assert(
      fc.property(fc.string({ unit: fc.oneof(fc.constantFrom("\r", "\n", " ", "\t", ".", "=", "\ud83d", "\ude00", "\u0001", "\u007f", "é", "中", "x".repeat(80), " ".repeat(3)), fc.string({ unit: "binary", minLength: 1, maxLength: 1 })), maxLength: 300 }), (text) => {
        const encoded = encodeQuotedPrintable(text);
        expect(decode(encoded).equals(Buffer.from(text.replace(/\r\n|\r|\n/g, "\r\n"), "utf8"))).toBe(true);
        for (const line of encoded.toString("latin1").split("\r\n")) {
          expect(line.length).toBeLessThanOrEqual(76);
          expect(line).not.toMatch(/^\.|[ \t]$/);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("is left for 7bit when the text is short-lined printable ASCII, as nodemailer leaves it", () => {
    expect(encodeBody("Hi Ann,\n\n.see you\r\n")).toEqual({ encoding: "7bit", bytes: Buffer.from("Hi Ann,\r\n\r\n.see you\r\n") });
    expect(encodeBody("x".repeat(77)).encoding).toBe("quoted-printable");
    expect(encodeBody("café").encoding).toBe("quoted-printable");
    expect(encodeBody("a\u0001bc").encoding).toBe("quoted-printable");
    expect(encodeBody("中文中文中文 ab\r").encoding).toBe("base64");
    expect(encodeBody("--=_b--", "=_b").encoding).toBe("quoted-printable");
  });
});

describe("DKIM signatures on composed messages", () => {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const record = `v=DKIM1; k=rsa; p=${publicKey.export({ type: "spki", format: "der" }).toString("base64")}`;
  const resolver = async (name: string, type: string) => {
    if (type === "TXT" && name === "s1._domainkey.acme.test") return [[record]];
    throw Object.assign(new Error(`no ${type} record for ${name}`), { code: "ENOTFOUND" });
  };
  const sign = createDkimSigner({ domainName: "acme.test", keySelector: "s1", privateKey: privateKey.export({ type: "pkcs8", format: "pem" }).toString() });

  it("verify, whatever the subject and the body hold, and break when the message is changed", async () => {
    for (const overrides of [{}, { subject: "Grüße 🎉 with a subject that is long enough to be folded over lines" }, { text: "a  b\t\tc \n\n\n", html: "<p>x   y</p>\n\n" }]) {
      const composed = composeMessage({ ...base, ...overrides });
      const raw = messageBytes(composed, sign(composed));
      const { results } = await dkimVerify(raw, { resolver });
      expect(results).toEqual([expect.objectContaining({ signingDomain: "acme.test", selector: "s1", status: expect.objectContaining({ result: "pass" }) })]);
      expect(raw.toString().match(/ h=([^;]+);/s)?.[1]?.replace(/\s/g, "").split(":")).toContain("list-unsubscribe-post");

      // A changed header fails the signature; a changed body fails its hash (which mailauth reports as neutral).
      const header = Buffer.from(raw.toString("latin1").replace("Subject:", "Subject: Re:"), "latin1");
      expect((await dkimVerify(header, { resolver })).results[0]!.status.result).toBe("fail");
      const body = Buffer.concat([raw, Buffer.from("added\r\n")]);
      expect((await dkimVerify(body, { resolver })).results[0]!.status).toMatchObject({ result: "neutral", comment: "body hash did not verify" });
    }
  });
});
