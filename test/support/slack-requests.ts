import { signSlackRequest } from "../../src/slack-standin/app-transport.js";
import { APPROVALS_CHANNEL } from "./slack-api.js";

/**
 * Hand-made requests for what the stand-in's people never send: forged signatures, stale timestamps,
 * submissions from someone who never had the modal. Everything a real person does goes through the stand-in.
 */

export const SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
const RESPONSE_URL_ORIGIN = "https://hooks.slack.test";

/** Signs a request body the way Slack does (v0 HMAC-SHA256 over "v0:timestamp:body"). */
export function sign(body: string, timestamp = Math.floor(Date.now() / 1000), secret = SIGNING_SECRET) {
  return signSlackRequest(body, secret, timestamp);
}

export async function postSigned(baseUrl: string, body: string, headers: Record<string, string> = sign(body)) {
  return fetch(`${baseUrl}/slack/events`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body,
  });
}

export const interactionBody = (payload: object) => `payload=${encodeURIComponent(JSON.stringify(payload))}`;

const user = (id: string) => ({ id, username: id.toLowerCase(), name: id.toLowerCase(), team_id: "T0TEAM" });

let triggerCounter = 0;

export function blockAction(overrides: {
  actionId: string;
  value: string;
  userId: string;
  channel?: string;
  messageTs?: string;
  view?: { id: string; hash: string; callback_id?: string };
}) {
  triggerCounter += 1;
  const inMessage = !overrides.view;
  return {
    type: "block_actions",
    team: { id: "T0TEAM", domain: "acme" },
    user: user(overrides.userId),
    api_app_id: "A0APP",
    token: "legacy-token",
    trigger_id: `trigger-${triggerCounter}`,
    response_url: `${RESPONSE_URL_ORIGIN}/actions/T0TEAM/${triggerCounter}`,
    ...(inMessage
      ? {
          container: { type: "message", message_ts: overrides.messageTs ?? "1700000000.000001", channel_id: overrides.channel ?? APPROVALS_CHANNEL },
          channel: { id: overrides.channel ?? APPROVALS_CHANNEL, name: "approvals" },
          message: { ts: overrides.messageTs ?? "1700000000.000001", text: "" },
        }
      : { container: { type: "view", view_id: overrides.view?.id }, view: { ...overrides.view, type: "modal" } }),
    actions: [
      {
        type: "button",
        action_id: overrides.actionId,
        block_id: "b",
        value: overrides.value,
        action_ts: `${Date.now() / 1000}`,
        text: { type: "plain_text", text: "x" },
      },
    ],
  };
}

export function viewSubmission(overrides: {
  callbackId: string;
  privateMetadata: string;
  userId: string;
  values: Record<string, Record<string, Record<string, unknown>>>;
}) {
  return {
    type: "view_submission",
    team: { id: "T0TEAM", domain: "acme" },
    user: user(overrides.userId),
    api_app_id: "A0APP",
    token: "legacy-token",
    trigger_id: "trigger-view",
    view: {
      id: "V0VIEW",
      type: "modal",
      callback_id: overrides.callbackId,
      private_metadata: overrides.privateMetadata,
      hash: "h1",
      state: { values: overrides.values },
      team_id: "T0TEAM",
      app_id: "A0APP",
      bot_id: "BBOT",
    },
  };
}

export function slashCommandBody(text: string, userId = "UAPPROVER1") {
  return new URLSearchParams({
    token: "legacy-token",
    team_id: "T0TEAM",
    team_domain: "acme",
    channel_id: APPROVALS_CHANNEL,
    channel_name: "approvals",
    user_id: userId,
    user_name: userId.toLowerCase(),
    command: "/sendings",
    text,
    api_app_id: "A0APP",
    response_url: `${RESPONSE_URL_ORIGIN}/commands/T0TEAM/1`,
    trigger_id: "trigger-cmd",
  }).toString();
}
