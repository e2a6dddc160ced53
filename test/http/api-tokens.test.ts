import type { IncomingMessage } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAccessCheck } from "../../src/http/auth.js";
import { HttpError } from "../../src/http/errors.js";
import { describeEachDatabase } from "../support/databases.js";
import { ndjson, sendingJson, startHttpHarness, type HttpHarness } from "../support/http-harness.js";

const requestWith = (authorization?: string) => ({ headers: authorization === undefined ? {} : { authorization } }) as IncomingMessage;

describe("the bearer check", () => {
  const access = createAccessCheck({
    apiTokens: [
      { name: "crm", token: "crm-token-0123456789abcdef0123456789abcdef" },
      { name: "token-2", token: "bare-token-0123456789abcdef0123456789abcdef" },
    ],
    operatorTokens: [{ name: "oncall", token: "oncall-token-0123456789abcdef0123456789abcdef" }],
  });
  const check = (req: IncomingMessage) => access(req, "intake");

  it("answers with the name of the token that matched", () => {
    expect(check(requestWith("Bearer crm-token-0123456789abcdef0123456789abcdef"))).toBe("crm");
    expect(check(requestWith("bearer   bare-token-0123456789abcdef0123456789abcdef "))).toBe("token-2");
    expect(access(requestWith("Bearer oncall-token-0123456789abcdef0123456789abcdef"), "operator")).toBe("oncall");
  });

  it.each([undefined, "", "Bearer", "Bearer crm-token-0123456789abcdef0123456789abcde", "Bearer crm-token-0123456789abcdef0123456789abcdefx", "Basic crm-token-0123456789abcdef0123456789abcdef", "crm"])(
    "refuses %j with a 401",
    (authorization) => {
      expect(() => check(requestWith(authorization))).toThrow(expect.objectContaining({ status: 401, code: "unauthorized" }) as HttpError);
    },
  );

  it("refuses a token of the other list with a 403 that names the list the route needs", () => {
    expect(() => check(requestWith("Bearer oncall-token-0123456789abcdef0123456789abcdef"))).toThrow(
      expect.objectContaining({ status: 403, code: "forbidden", message: expect.stringContaining("needs a token from API_TOKENS") }) as HttpError,
    );
    expect(() => access(requestWith("Bearer crm-token-0123456789abcdef0123456789abcdef"), "operator")).toThrow(
      expect.objectContaining({ status: 403, code: "forbidden", message: expect.stringContaining("need a token from OPERATOR_TOKENS") }) as HttpError,
    );
  });

  it("answers 503 on operator routes while OPERATOR_TOKENS is unset, whatever the token", () => {
    const noOperators = createAccessCheck({ apiTokens: [{ name: "crm", token: "crm-token-0123456789abcdef0123456789abcdef" }], operatorTokens: [] });
    for (const authorization of [undefined, "Bearer crm-token-0123456789abcdef0123456789abcdef", "Bearer anything-0123456789abcdef0123456789abcdef"]) {
      expect(() => noOperators(requestWith(authorization), "operator")).toThrow(
        expect.objectContaining({ status: 503, code: "operator_api_disabled", message: expect.stringContaining("disabled until OPERATOR_TOKENS is set") }) as HttpError,
      );
    }
    expect(noOperators(requestWith("Bearer crm-token-0123456789abcdef0123456789abcdef"), "intake")).toBe("crm");
  });
});

describeEachDatabase("intake: changes made through the API are told by the token's name", (provider) => {
  const CRM = "crm-token-0123456789abcdef0123456789abcdef";
  const OPS = "ops-token-0123456789abcdef0123456789abcdef";
  let h: HttpHarness;
  beforeAll(async () => {
    h = await startHttpHarness(provider, { env: { API_TOKENS: `crm:${CRM},ops:${OPS},bare-token-0123456789abcdef0123456789abcdef` } });
  });
  afterAll(() => h?.close());

  const auditOf = (id: string) => h.db.prisma.auditEvent.findMany({ where: { sendingId: id }, orderBy: { id: "asc" } });

  it("the audit and Slack name the token a change came with: api:<name>", async () => {
    const created = await h.request("POST", "/api/sendings", { body: sendingJson(), token: CRM });
    expect(created.status).toBe(201);
    h.notifier.events.length = 0;
    const changed = await h.request("PATCH", `/api/sendings/${created.body.id}`, { body: { subject: "Spring is here" }, token: OPS });
    expect(changed.status).toBe(200);
    const renamed = await h.request("PATCH", `/api/sendings/${created.body.id}`, { body: { name: "Spring" }, token: "bare-token-0123456789abcdef0123456789abcdef" });
    expect(renamed.status).toBe(200);

    const audit = await auditOf(created.body.id);
    expect(audit.map((a) => [a.actor, a.action, JSON.parse(a.details ?? "{}").via])).toEqual([
      ["U0REQUESTER", "created", "api:crm"],
      ["api:ops", "content changed", "api:ops"],
      ["api:token-3", "content changed", "api:token-3"],
    ]);
    expect(h.notifier.events.map(({ event }) => event.kind === "content-changed" && event.by)).toEqual(["api:ops", "api:token-3"]);
  });

  it("recipients appended with a token are that token's change too", async () => {
    const created = await h.request("POST", "/api/sendings", { body: sendingJson(), token: CRM });
    const appended = await h.request("POST", `/api/sendings/${created.body.id}/recipients`, {
      raw: ndjson([{ email: "late@example.com" }]),
      contentType: "application/x-ndjson",
      token: OPS,
    });
    expect(appended.status).toBe(200);
    const audit = await auditOf(created.body.id);
    expect(audit.at(-1)).toMatchObject({ actor: "api:ops", action: "recipients appended" });
  });
});
