import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
  /** What the receiver answered. */
  status: number;
}

/** A real HTTP receiver of webhook events; `answer` decides each response's status (200 unless told). */
export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  /** The events it took (2xx), parsed, in the order they arrived. */
  accepted(): { type: string; data: Record<string, unknown> }[];
  answer: (request: { body: string; index: number }) => number;
  close(): Promise<void>;
}

export async function startWebhookReceiver(path = "/hooks/sendgate"): Promise<WebhookReceiver> {
  const receiver: WebhookReceiver = {
    url: "",
    received: [],
    accepted: () =>
      receiver.received.filter((r) => r.status >= 200 && r.status < 300).map((r) => JSON.parse(r.body) as { type: string; data: Record<string, unknown> }),
    answer: () => 200,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const status = request.url === path ? receiver.answer({ body, index: receiver.received.length }) : 404;
      receiver.received.push({ headers: request.headers, body, status });
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
  return receiver;
}
