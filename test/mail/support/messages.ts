import type { OutgoingMessage } from "../../../src/mail/transport.js";

/** A small message to Ann, as the transport tests hand it over; overrides change what a test is about. */
export const messageToAnn = (overrides: Partial<OutgoingMessage> = {}): OutgoingMessage => ({
  from: { name: "Acme", address: "news@acme.test" },
  to: "ann@example.com",
  subject: "Hello Ann",
  html: "<p>Hello Ann</p>",
  text: "Hello Ann",
  messageId: "<snd_abc.r1@acme.test>",
  ...overrides,
});
