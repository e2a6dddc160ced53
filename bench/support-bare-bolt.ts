// The baseline of bench/clicks.ts: a bare Bolt app in a process of its own, on the same HTTP
// receiver and the same kind of server as sendgate, whose listeners only acknowledge. What sendgate
// adds to an acknowledgement is measured against it.
import { App, HTTPReceiver, LogLevel } from "@slack/bolt";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

const receiver = new HTTPReceiver({ signingSecret: process.env.SLACK_SIGNING_SECRET ?? "", endpoints: "/slack/events", logLevel: LogLevel.ERROR });
const app = new App({
  token: process.env.SLACK_BOT_TOKEN,
  receiver,
  botId: "B0BARE",
  botUserId: "U0BARE",
  tokenVerificationEnabled: false,
  logLevel: LogLevel.ERROR,
  clientOptions: { slackApiUrl: process.env.SLACK_API_URL },
});
app.action(/.*/, async ({ ack }) => ack());
app.view(/.*/, async ({ ack }) => ack());
app.command(/.*/, async ({ ack }) => ack());

const server = createServer(receiver.requestListener);
server.listen(0, "127.0.0.1", () => process.send?.({ type: "ready", port: (server.address() as AddressInfo).port }));
process.on("message", (message: { type: string }) => {
  if (message.type === "stop") {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  }
});
