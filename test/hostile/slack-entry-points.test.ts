// Every Slack entry point, given what Slack would never send on its own: forged signatures, stale
// and replayed requests, sending ids and content hashes forged in button values and private_metadata,
// people who may not act, and a requester approving their own sending by every path. Nothing changes,
// and the person is told why where Slack lets an app tell them.
import fc from "fast-check";
import { afterEach, beforeEach, expect, it } from "vitest";
import { ActionId, CallbackId, BlockId, InputActionId } from "../../src/slack/ids.js";
import { describeEachDatabase } from "../support/databases.js";
import { APPROVALS_CHANNEL, givenPendingSending, NOW, startSlackHarness, type SlackHarness } from "../support/slack-harness.js";
import { blockAction, interactionBody, postSigned, sign, slashCommandBody, viewSubmission } from "../support/slack-requests.js";

describeEachDatabase("hostile requests at Slack's entry points", (provider) => {
  let h: SlackHarness;
  beforeEach(async () => {
    h = await startSlackHarness(provider);
  });
  afterEach(() => h.close());

  const statusOf = async (id: string) => (await h.db.prisma.sending.findUniqueOrThrow({ where: { id } })).status;
  const decisions = () => h.db.prisma.decision.count();
  const click = (userId: string, actionId: string, value: string, messageTs?: string) =>
    postSigned(h.baseUrl, interactionBody(blockAction({ actionId, value, userId, messageTs })));
  /** What the clicking person was told, ephemerally, after sendgate's work behind the ack. */
  const toldTo = async (user: string, count: number) => {
    for (let i = 0; i < 200 && h.slack.workspace.ephemeralsFor(user, APPROVALS_CHANNEL).length < count; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return h.slack.workspace.ephemeralsFor(user, APPROVALS_CHANNEL).map((m) => m.text);
  };

  it("forged signatures get 401 and change nothing, whatever the body", async () => {
    const s = await givenPendingSending(h);
    const card = await h.approvalMessage(s.id);
    const approve = interactionBody(blockAction({ actionId: ActionId.approve, value: JSON.stringify({ id: s.id, hash: s.contentHash }), userId: "UAPPROVER1", messageTs: card.ts }));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constant(approve), fc.string({ maxLength: 300 })),
        fc.oneof(fc.constant("v0=0000"), fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: 64, maxLength: 64 }).map((hex) => `v0=${hex}`), fc.string({ maxLength: 80 })),
        async (body, signature) => {
          const response = await postSigned(h.baseUrl, body, { "x-slack-signature": signature, "x-slack-request-timestamp": String(Math.floor(Date.now() / 1000)) });
          expect(response.status).toBe(401);
        },
      ),
      { numRuns: 30 },
    );
    // Signed with another app's secret: as forged.
    expect((await postSigned(h.baseUrl, approve, sign(approve, undefined, "another-apps-signing-secret-0000"))).status).toBe(401);
    expect(await statusOf(s.id)).toBe("PENDING_APPROVAL");
    expect(await decisions()).toBe(0);
  });

  it("a correctly signed request more than five minutes old gets 401", async () => {
    const s = await givenPendingSending(h);
    const body = interactionBody(blockAction({ actionId: ActionId.approve, value: JSON.stringify({ id: s.id, hash: s.contentHash }), userId: "UAPPROVER1" }));
    const stale = await postSigned(h.baseUrl, body, sign(body, Math.floor(Date.now() / 1000) - 6 * 60));
    expect(stale.status).toBe(401);
    expect(await decisions()).toBe(0);
  });

  it("a replayed request (same timestamp and body) is not handled a second time", async () => {
    const s = await givenPendingSending(h);
    await h.db.prisma.sending.update({ where: { id: s.id }, data: { status: "SENDING", startedAt: NOW } });
    const body = interactionBody(blockAction({ actionId: ActionId.pause, value: s.id, userId: "UAPPROVER1" }));
    const headers = sign(body);
    expect((await postSigned(h.baseUrl, body, headers)).status).toBe(200);
    for (let i = 0; i < 100 && (await statusOf(s.id)) !== "PAUSED"; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await statusOf(s.id)).toBe("PAUSED");
    const card = await h.approvalMessage(s.id);
    await h.notifier.flush();
    await h.click("UAPPROVER2", card, ActionId.resume);
    for (let i = 0; i < 100 && (await statusOf(s.id)) !== "SENDING"; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await statusOf(s.id)).toBe("SENDING");

    // Someone who captured the Pause sends it again within the five minutes: it is not a second Pause.
    const replay = await postSigned(h.baseUrl, body, headers);
    expect(replay.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await h.notifier.flush();
    expect(await statusOf(s.id)).toBe("SENDING");
    const paused = await h.db.prisma.auditEvent.count({ where: { sendingId: s.id, action: "paused" } });
    expect(paused).toBe(1);
  });

  it("sending ids and content hashes forged in button values change nothing; the clicker is told why", async () => {
    const s = await givenPendingSending(h);
    const card = await h.approvalMessage(s.id);
    await click("UAPPROVER1", ActionId.approve, JSON.stringify({ id: "snd_0000000000", hash: s.contentHash }), card.ts);
    await click("UAPPROVER1", ActionId.approve, JSON.stringify({ id: s.id, hash: "0".repeat(64) }), card.ts);
    await click("UAPPROVER1", ActionId.approve, "{not json", card.ts);
    await click("UAPPROVER1", ActionId.pause, "'; DROP TABLE \"Sending\"; --", card.ts);
    await click("UAPPROVER1", ActionId.reject, JSON.stringify({ id: s.id }), card.ts);
    await click("UAPPROVER1", ActionId.approve, JSON.stringify({ id: { $ne: null }, hash: s.contentHash }), card.ts);
    const told = await toldTo("UAPPROVER1", 6);
    // Each click is handled on its own behind its ack: the answers may come in any order.
    expect(told).toHaveLength(6);
    expect(told.filter((text) => /does not exist/.test(text))).toHaveLength(3);
    expect(told.filter((text) => /content changed/.test(text))).toHaveLength(1);
    expect(told.filter((text) => /out of date/.test(text))).toHaveLength(2);
    expect(await statusOf(s.id)).toBe("PENDING_APPROVAL");
    expect(await decisions()).toBe(0);
    expect(await h.db.prisma.sending.count()).toBe(1);
  });

  it("a submission with forged private_metadata, or from someone who may not act, changes nothing", async () => {
    const s = await givenPendingSending(h);
    const reject = (userId: string, privateMetadata: string) =>
      postSigned(
        h.baseUrl,
        interactionBody(viewSubmission({ callbackId: CallbackId.reject, privateMetadata, userId, values: { [BlockId.reason]: { [InputActionId.reason]: { type: "plain_text_input", value: "no" } } } })),
      );
    const answers = [
      await reject("USTRANGER", JSON.stringify({ id: s.id })),
      await reject("UAPPROVER1", JSON.stringify({ id: "snd_0000000000" })),
      await reject("UAPPROVER1", "not json at all"),
      await reject("UAPPROVER1", JSON.stringify({ id: { $ne: null } })),
    ];
    const expected = [/Only the configured approvers can reject/, /does not exist/, /out of date/, /out of date/];
    for (const [i, answer] of answers.entries()) {
      expect(answer.status).toBe(200);
      const ack = (await answer.json()) as { response_action: string };
      // The modal says why: turned into the answer, or the answer beside its field.
      expect(["update", "errors"]).toContain(ack.response_action);
      expect(JSON.stringify(ack)).toMatch(expected[i]!);
    }
    expect(await statusOf(s.id)).toBe("PENDING_APPROVAL");
    expect(await decisions()).toBe(0);
  });

  it("a requester who is also an approver cannot approve their own sending by any path, and nothing moves", async () => {
    const s = await givenPendingSending(h, { requestedBy: "UAPPROVER1", launchAt: new Date(NOW.getTime() - 60 * 60_000) });
    const card = await h.approvalMessage(s.id);
    const before = await h.db.prisma.sending.findUniqueOrThrow({ where: { id: s.id } });

    // The button.
    await h.click("UAPPROVER1", card, ActionId.approve);
    // The late-launch form that approving with a new date goes through, submitted as if it had been opened.
    const lateApproval = await postSigned(
      h.baseUrl,
      interactionBody(
        viewSubmission({
          callbackId: CallbackId.reschedule,
          privateMetadata: JSON.stringify({ id: s.id, approve: true }),
          userId: "UAPPROVER1",
          values: {
            [BlockId.when]: { [InputActionId.when]: { type: "radio_buttons", selected_option: { value: "later" } } },
            [BlockId.launchAt]: { [InputActionId.launchAt]: { type: "datetimepicker", selected_date_time: Math.floor(NOW.getTime() / 1000) + 3 * 3600 } },
          },
        }),
      ),
    );
    const ack = (await lateApproval.json()) as { response_action: string; view?: unknown };
    expect(ack.response_action).toBe("update");
    expect(JSON.stringify(ack.view)).toMatch(/four-eyes/);
    // The slash command has no approve: it answers with its help and approves nothing.
    const command = await postSigned(h.baseUrl, slashCommandBody(`approve ${s.id}`, "UAPPROVER1"));
    expect(command.status).toBe(200);

    expect(await toldTo("UAPPROVER1", 1)).toEqual([expect.stringMatching(/four-eyes/)]);
    const after = await h.db.prisma.sending.findUniqueOrThrow({ where: { id: s.id } });
    expect(after.status).toBe("PENDING_APPROVAL");
    // The refused approval moved nothing: not even the launch date it came with.
    expect(after.launchAt).toEqual(before.launchAt);
    expect(await decisions()).toBe(0);
    expect(await h.db.prisma.auditEvent.count({ where: { sendingId: s.id, action: { not: "created" } } })).toBe(0);
  });

  it("people who may not act are refused at every control, ephemerally", async () => {
    const s = await givenPendingSending(h);
    await h.db.prisma.sending.update({ where: { id: s.id }, data: { status: "SENDING", startedAt: NOW } });
    const card = await h.approvalMessage(s.id);
    await click("USTRANGER", ActionId.pause, s.id, card.ts);
    await click("USTRANGER", ActionId.cancel, s.id, card.ts);
    await click("USTRANGER", ActionId.preview, s.id, card.ts);
    const told = await toldTo("USTRANGER", 3);
    expect(told).toHaveLength(3);
    for (const text of told) expect(text).toMatch(/approver|requester|may/i);
    expect(await statusOf(s.id)).toBe("SENDING");
    expect(h.slack.modalOf("USTRANGER")).toBeUndefined();
  });
});
