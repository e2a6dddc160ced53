// The strict Slack stand-in in a process of its own, for bench/clicks.ts: sendgate calls its Web API
// over HTTP, and the bench asks it (over IPC) for the payloads Slack would send when people click,
// each with a fresh trigger id it will accept once within 3 seconds. It does not deliver them: the
// bench's load client does, so that both apps under test get the same requests from the same client.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Ack, AppTransport } from "../src/slack-standin/app-transport.js";
import { SlackStandin } from "../src/slack-standin/standin.js";

const channel = process.env.BENCH_CHANNEL ?? "C0BENCHAPPROVALS";
const users = (process.env.BENCH_USERS ?? "U0BENCH1").split(",");

const standin = new SlackStandin({
  botToken: process.env.BENCH_BOT_TOKEN ?? "xoxb-bench",
  teamId: "T0BENCH",
  teamDomain: "bench",
  users: users.map((id) => ({ id, name: id.toLowerCase(), realName: id, email: `${id.toLowerCase()}@acme.test`, tz: "Europe/Paris" })),
  channels: [{ id: channel, name: "approvals", members: users }],
  // Two hundred people opening modals in the same second is over Slack's Tier 4 minute: the bench
  // measures sendgate's own cost, so the stand-in's allowance is raised instead of queueing the calls.
  rateLimitScale: 1000,
  keepCalls: 20_000,
});

/** What the people "send": captured here, delivered by the bench. */
const captured: Array<Record<string, unknown>> = [];
const capture = (payload: Record<string, unknown>): Promise<Ack> => {
  captured.push(payload);
  return Promise.resolve({ body: undefined, elapsedMs: 0 });
};
const transport: AppTransport = { interactive: capture, slashCommand: capture, event: capture };
standin.connect(transport);

const server = createServer(standin.requestListener());
server.listen(0, "127.0.0.1", () => {
  standin.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.send?.({ type: "ready", apiUrl: `${standin.baseUrl}/api/` });
});

type Request =
  | { type: "card"; sendingId: string }
  | { type: "clicks"; count: number; actionId: string; card: { channel: string; ts: string }; offset?: number }
  | { type: "commands"; count: number; text: string }
  | { type: "clicked"; triggerIds: string[] }
  | { type: "calls" }
  | { type: "stop" };

/** The card of a sending: the message in the approvals channel whose Preview button carries its id. */
function findCard(sendingId: string) {
  const message = standin.workspace
    .history(channel)
    .find((m) => JSON.stringify(m.blocks).includes(`"value":"${sendingId}"`));
  return message ? { channel, ts: message.ts } : undefined;
}

async function handle(request: Request): Promise<unknown> {
  switch (request.type) {
    case "card":
      return { card: findCard(request.sendingId) };
    case "clicks": {
      captured.length = 0;
      const offset = request.offset ?? 0;
      for (let i = 0; i < request.count; i++) await standin.click(users[(offset + i) % users.length]!, request.card, request.actionId);
      return { payloads: captured.splice(0) };
    }
    case "commands": {
      captured.length = 0;
      for (let i = 0; i < request.count; i++) await standin.slashCommand(users[i % users.length]!, channel, "/sendings", request.text);
      return { payloads: captured.splice(0) };
    }
    case "clicked": {
      // The people click now: their trigger ids' 3 seconds start at the burst, not while the bench prepared it.
      const at = Date.now();
      for (const id of request.triggerIds) {
        const trigger = standin.workspace.triggers.get(id);
        if (trigger) trigger.issuedAt = at;
      }
      return { at };
    }
    case "calls": {
      const byMethod: Record<string, { ok: number; refused: number }> = {};
      for (const call of standin.calls) {
        const entry = (byMethod[call.method] ??= { ok: 0, refused: 0 });
        if (call.ok) entry.ok += 1;
        else entry.refused += 1;
      }
      const refusals = standin.refusals.map((r) => `${r.where}: ${r.error}`);
      standin.resetRecords();
      return { byMethod, refusals };
    }
    case "stop":
      server.closeAllConnections();
      server.close(() => process.exit(0));
      return {};
  }
}

process.on("message", (message: Request & { seq: number }) => {
  void handle(message).then(
    (answer) => process.send?.({ seq: message.seq, ...(answer as object) }),
    (error: unknown) => process.send?.({ seq: message.seq, error: String(error) }),
  );
});
