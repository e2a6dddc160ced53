import { AppError } from "../domain/errors.js";
import { canApply, reschedulable, statusLabel } from "../domain/sending-status.js";
import { assertApprover, assertMayControl } from "./support/authority.js";
import type { ControlDeps } from "./support/deps.js";
import type { ApprovalPolicy } from "./support/ports.js";
import { loadSendingView, type SendingView } from "./support/sending-view.js";

/** A decision taken in a form (reject, reschedule, cancel), or a look at the sending's analysis. */
export type Decision = "reject" | "reschedule" | "cancel" | "inspect";

/**
 * The first step of a decision: checks that this person may take it, and that the sending's status
 * still allows it, before a form opens for nothing; returns the sending as the form shows it. The
 * submission goes through the decision's own use case, which checks again (the status may change
 * while the form is open).
 */
export async function beginDecision(
  deps: ControlDeps & { policy: ApprovalPolicy },
  input: { sendingId: string; userId: string; decision: Decision },
): Promise<SendingView> {
  const { sendingId, userId, decision } = input;
  if (decision === "reject") await assertApprover(deps.approvers, userId, "reject");
  else await assertMayControl(deps, sendingId, userId);
  const view = await loadSendingView(deps.db, sendingId, deps.policy.requiredApprovals);
  const status = statusLabel[view.status].toLowerCase();
  if (decision === "reject" && view.status !== "PENDING_APPROVAL") {
    throw new AppError("ALREADY_DECIDED", "This sending is no longer waiting for approval.", { status: view.status });
  }
  if (decision === "reschedule" && !reschedulable.includes(view.status)) {
    throw new AppError("INVALID_STATE", `This sending is ${status}; its launch date can no longer change.`, { status: view.status });
  }
  if (decision === "cancel" && !canApply("cancel", view.status)) {
    throw new AppError("INVALID_STATE", `This sending is ${status}; it cannot be cancelled now.`, { status: view.status });
  }
  return view;
}
