import { describe, expect, it } from "vitest";
import { allStatuses, canApply, transitions, type SendingStatus, type Transition } from "../../src/domain/sending-status.js";

/** The lifecycle from DESIGN.md, written out independently of the table it checks. */
const expected: Record<Transition, { from: SendingStatus[]; to: SendingStatus }> = {
  approve: { from: ["PENDING_APPROVAL"], to: "SCHEDULED" },
  reject: { from: ["PENDING_APPROVAL"], to: "REJECTED" },
  start: { from: ["SCHEDULED"], to: "SENDING" },
  complete: { from: ["SENDING"], to: "COMPLETED" },
  pause: { from: ["SENDING"], to: "PAUSED" },
  autoPause: { from: ["SENDING", "SCHEDULED"], to: "PAUSED" },
  resume: { from: ["PAUSED"], to: "SENDING" },
  cancel: { from: ["PENDING_APPROVAL", "SCHEDULED", "SENDING", "PAUSED"], to: "CANCELLED" },
  withdrawApproval: { from: ["SCHEDULED"], to: "PENDING_APPROVAL" },
};

describe("sending lifecycle", () => {
  it("knows exactly the transitions of the design", () => {
    expect(Object.keys(transitions).sort()).toEqual(Object.keys(expected).sort());
  });

  const cases = (Object.keys(expected) as Transition[]).flatMap((transition) =>
    allStatuses.map((status) => ({ transition, status, allowed: expected[transition].from.includes(status) })),
  );

  it.each(cases)("$transition from $status: allowed=$allowed", ({ transition, status, allowed }) => {
    expect(canApply(transition, status)).toBe(allowed);
    if (allowed) expect(transitions[transition].to).toBe(expected[transition].to);
  });

  it("lets nothing leave a final status", () => {
    for (const status of ["COMPLETED", "REJECTED", "CANCELLED"] as const) {
      for (const transition of Object.keys(transitions) as Transition[]) expect(canApply(transition, status)).toBe(false);
    }
  });
});
