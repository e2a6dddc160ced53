import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SlackStandin } from "../../../src/slack-standin/standin.js";
import { APPROVALS_CHANNEL, BOT_TOKEN, TEST_USERS } from "../../support/slack-api.js";

export interface StoppableStandin {
  standin: SlackStandin;
  apiUrl: string;
  /** Slack unreachable: the port stops listening and open connections are cut, so every call is refused. */
  down(): Promise<void>;
  /** Slack back, on the same port, with the same workspace. */
  up(): Promise<void>;
  close(): Promise<void>;
}

const person = (id: string) => ({ id, name: id.toLowerCase(), realName: id, email: `${id.toLowerCase()}@acme.test`, tz: "Europe/Paris" });

/** The strict Slack stand-in on a port that can go away and come back: an outage is connection refused, not an error answer. */
export async function startStoppableStandin(): Promise<StoppableStandin> {
  const standin = new SlackStandin({
    botToken: BOT_TOKEN,
    teamId: "T0TEAM",
    teamDomain: "acme",
    users: TEST_USERS.map(person),
    userGroups: { SAPPROVERS: [] },
    channels: [{ id: APPROVALS_CHANNEL, name: "approvals", members: TEST_USERS }],
  });
  let server: Server = createServer(standin.requestListener());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;
  standin.baseUrl = origin;
  let listening = true;
  const stop = async () => {
    if (!listening) return;
    listening = false;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  };
  return {
    standin,
    apiUrl: `${origin}/api/`,
    down: stop,
    async up() {
      if (listening) return;
      server = createServer(standin.requestListener());
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, "127.0.0.1", resolve);
      });
      listening = true;
    },
    close: stop,
  };
}
