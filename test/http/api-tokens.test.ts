import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { createBearerCheck } from "../../src/http/auth.js";
import { HttpError } from "../../src/http/errors.js";

const requestWith = (authorization?: string) => ({ headers: authorization === undefined ? {} : { authorization } }) as IncomingMessage;

describe("the bearer check", () => {
  const check = createBearerCheck([
    { name: "crm", token: "crm-token-0123456789abcdef" },
    { name: "token-2", token: "bare-token-0123456789abcdef" },
  ]);

  it("answers with the name of the token that matched", () => {
    expect(check(requestWith("Bearer crm-token-0123456789abcdef"))).toBe("crm");
    expect(check(requestWith("bearer   bare-token-0123456789abcdef "))).toBe("token-2");
  });

  it.each([undefined, "", "Bearer", "Bearer crm-token-0123456789abcde", "Bearer crm-token-0123456789abcdefx", "Basic crm-token-0123456789abcdef", "crm"])(
    "refuses %j with a 401",
    (authorization) => {
      expect(() => check(requestWith(authorization))).toThrow(expect.objectContaining({ status: 401, code: "unauthorized" }) as HttpError);
    },
  );
});
