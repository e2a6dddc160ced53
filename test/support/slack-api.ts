import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SlackStandin, type Refusal, type StandinOptions } from "../../src/slack-standin/standin.js";
import type { ApiCall } from "../../src/slack-standin/web-api.js";
import type { WorkspaceUser } from "../../src/slack-standin/workspace.js";

export const APPROVALS_CHANNEL = "C0APPROVALS";
export const BOT_TOKEN = "xoxb-test-token";

const person = (id: string): WorkspaceUser => ({ id, name: id.toLowerCase(), realName: id, email: `${id.toLowerCase()}@acme.test`, tz: "Europe/Paris" });

/** The people of the test workspace: approvers, a requester, a user-group member and a stranger, all in the approvals channel. */
export const TEST_USERS = ["UAPPROVER1", "UAPPROVER2", "UREQUESTER", "UGROUPMEMBER", "USTRANGER"];

export interface RunningStandin {
  standin: SlackStandin;
  /** The Web API base to give sendgate as SLACK_API_URL. */
  apiUrl: string;
  origin: string;
  close(): Promise<void>;
}

/** The strict Slack stand-in on a port of its own, seeded with the test workspace. */
export async function startStandin(options: Partial<StandinOptions> = {}): Promise<RunningStandin> {
  const standin = new SlackStandin({
    botToken: BOT_TOKEN,
    teamId: "T0TEAM",
    teamDomain: "acme",
    users: TEST_USERS.map(person),
    userGroups: { SAPPROVERS: [] },
    channels: [{ id: APPROVALS_CHANNEL, name: "approvals", members: TEST_USERS }],
    ...options,
  });
  const server: Server = createServer(standin.requestListener());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  standin.baseUrl = origin;
  return {
    standin,
    apiUrl: `${origin}/api/`,
    origin,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Blocks arrive JSON-encoded in form posts. */
export function blocksOf(call: ApiCall): Array<Record<string, unknown>> {
  const blocks = call.args.blocks;
  return typeof blocks === "string" ? JSON.parse(blocks) : ((blocks as Array<Record<string, unknown>>) ?? []);
}

export function viewOf(call: ApiCall): Record<string, unknown> {
  const view = call.args.view;
  return typeof view === "string" ? JSON.parse(view) : (view as Record<string, unknown>);
}

/** What Slack refused, readably: a test fails on any of it. */
export function describeRefusals(refusals: Refusal[]): string {
  return refusals.map((r) => `${r.where}: ${r.error}${r.messages.length ? `\n    ${r.messages.join("\n    ")}` : ""}`).join("\n");
}
