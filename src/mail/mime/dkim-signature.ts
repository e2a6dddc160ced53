import { createHash, createPrivateKey, sign, type KeyObject } from "node:crypto";
import { domainToASCII } from "node:url";
import { foldLines } from "nodemailer/lib/mime-funcs";
import type { ComposedMessage } from "./compose-message.js";

export interface DkimSettings {
  domainName: string;
  keySelector: string;
  /** PEM. */
  privateKey: string;
}

/**
 * The header fields signed when present: those of RFC 6376 §5.4.1 and List-Unsubscribe-Post, which
 * RFC 8058 wants covered beside List-Unsubscribe for one-click unsubscribe. The list nodemailer signs.
 */
const SIGNED_FIELDS = (
  "From:Sender:Reply-To:Subject:Date:Message-ID:To:Cc:MIME-Version:Content-Type:Content-Transfer-Encoding:Content-ID:" +
  "Content-Description:Resent-Date:Resent-From:Resent-Sender:Resent-To:Resent-Cc:Resent-Message-ID:In-Reply-To:References:" +
  "List-Id:List-Help:List-Unsubscribe:List-Unsubscribe-Post:List-Subscribe:List-Post:List-Owner:List-Archive:OTP-Token"
)
  .toLowerCase()
  .split(":");

/** Relaxed header canonicalization (RFC 6376 §3.4.2) of one field's value: unfolded, whitespace runs to one space, trimmed. */
function relaxedValue(line: string): string {
  return line
    .slice(line.indexOf(":") + 1)
    .replace(/\r\n/g, "")
    .replace(/[ \t]+/g, " ")
    .replace(/^ | $/g, "");
}

/**
 * Relaxed body canonicalization (RFC 6376 §3.4.4): whitespace at line ends dropped, runs of it made
 * one space, empty lines at the end dropped. A composed body has CRLF line breaks and no whitespace
 * before them (quoted-printable encodes it), so most bodies are hashed as they are.
 */
function relaxedBody(body: Buffer): Buffer {
  let canonical = body;
  if (body.includes("\t") || body.includes("  ") || body.includes(" \r\n")) {
    canonical = Buffer.from(body.toString("latin1").replace(/[ \t]+\r\n/g, "\r\n").replace(/[ \t]+/g, " "), "latin1");
  }
  let end = canonical.length;
  while (end >= 4 && canonical[end - 1] === 0x0a && canonical[end - 2] === 0x0d && canonical[end - 3] === 0x0a && canonical[end - 4] === 0x0d) end -= 2;
  if (end === 2 && canonical[0] === 0x0d && canonical[1] === 0x0a) end = 0;
  return end === canonical.length ? canonical : canonical.subarray(0, end);
}

/**
 * Signs composed messages with DKIM (rsa-sha256, relaxed/relaxed), as nodemailer's signer does for
 * the same settings; the key is parsed once, not for every message. Returns the DKIM-Signature
 * header line to put first.
 */
export function createDkimSigner(settings: DkimSettings): (message: ComposedMessage) => string {
  const key: KeyObject = createPrivateKey(settings.privateKey);
  // eslint-disable-next-line no-control-regex -- the tag values may carry no control character
  const clean = (value: string) => value.replace(/[\x00-\x1f\x7f;=]/g, "");
  const domain = domainToASCII(clean(settings.domainName)) || clean(settings.domainName);
  const selector = clean(settings.keySelector);
  return (message) => {
    const bodyHash = createHash("sha256").update(relaxedBody(message.body)).digest("base64");
    // The last occurrence of each field counts (§5.4.2), in the order of the list.
    const lastOf = new Map<string, string>();
    for (const line of message.headers) {
      const name = line.slice(0, line.indexOf(":")).trim().toLowerCase();
      lastOf.set(name, line);
    }
    const names: string[] = [];
    let canonical = "";
    for (const name of SIGNED_FIELDS) {
      const line = lastOf.get(name);
      if (line === undefined) continue;
      names.push(name);
      canonical += `${name}:${relaxedValue(line)}\r\n`;
    }
    const tags = ["v=1", "a=rsa-sha256", "c=relaxed/relaxed", `d=${domain}`, "q=dns/txt", `s=${selector}`, `bh=${bodyHash}`, `h=${names.join(":")}`];
    const header = `${foldLines(`DKIM-Signature: ${tags.join("; ")}`, 76)};\r\n b=`;
    canonical += `dkim-signature:${relaxedValue(header)}`;
    const signature = sign("sha256", Buffer.from(canonical, "utf8"), key).toString("base64");
    return header + signature.replace(/(^.{73}|.{75}(?!\r?\n|\r))/g, "$&\r\n ").trim();
  };
}
