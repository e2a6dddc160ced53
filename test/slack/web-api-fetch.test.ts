import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { webApi } from "@slack/bolt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { observedFetch, outcomeOf } from "../../src/slack/web-api-fetch.js";

describe("what Slack answered", () => {
  it("reads ok from the start of the answer, and Slack's error code from the rest", () => {
    expect(outcomeOf('{"ok":true,"view":{"id":"V1"}}')).toBe("ok");
    expect(outcomeOf('  { "ok" : true }')).toBe("ok");
    expect(outcomeOf('{"ok":false,"error":"expired_trigger_id"}')).toBe("expired_trigger_id");
    expect(outcomeOf('{"error":"invalid_auth","ok":false}')).toBe("invalid_auth");
    expect(outcomeOf('{"view":{},"ok":true}')).toBe("ok");
    expect(outcomeOf('{"ok":false}')).toBe("not_ok");
    expect(outcomeOf("<html>bad gateway</html>")).toBe("not_ok");
    expect(outcomeOf('{"ok":trueish}')).toBe("not_ok");
  });

  describe("through the Slack client", () => {
    let server: Server;
    let apiUrl: string;
    beforeAll(async () => {
      server = createServer((req, res) => {
        const method = req.url?.split("/").at(-1);
        if (method === "views.open") res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true,"view":{"id":"V1"}}');
        else if (method === "chat.update") res.writeHead(200, { "content-type": "application/json" }).end('{"ok":false,"error":"message_not_found"}');
        else res.writeHead(503).end("down");
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it("counts each call once, by method and answer, and the client still reads the answer", async () => {
      const seen: string[] = [];
      const client = new webApi.WebClient("xoxb-test", {
        slackApiUrl: apiUrl,
        fetch: observedFetch((method, outcome) => seen.push(`${method} ${outcome}`)),
        retryConfig: { retries: 0 },
        logLevel: webApi.LogLevel.ERROR,
      });
      expect((await client.views.open({ trigger_id: "t", view: { type: "modal", title: { type: "plain_text", text: "x" }, blocks: [] } })).view?.id).toBe("V1");
      await expect(client.chat.update({ channel: "C1", ts: "1.2", text: "x" })).rejects.toMatchObject({ data: { error: "message_not_found" } });
      await expect(client.users.info({ user: "U1" })).rejects.toThrow();
      const unreachable = new webApi.WebClient("xoxb-test", {
        slackApiUrl: "http://127.0.0.1:1/api/",
        fetch: observedFetch((method, outcome) => seen.push(`${method} ${outcome}`)),
        retryConfig: { retries: 0 },
        logLevel: webApi.LogLevel.ERROR,
      });
      await expect(unreachable.auth.test()).rejects.toThrow();
      expect(seen).toEqual(["views.open ok", "chat.update message_not_found", "users.info http_503", "auth.test unreachable"]);
    });
  });
});
