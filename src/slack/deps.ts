import type { UseCaseDeps } from "../sendings/deps.js";
import type { ApprovalPolicy, ApproverDirectory } from "../sendings/ports.js";

/** What the listeners are given: the use cases' dependencies and who may decide. */
export interface SlackDeps extends UseCaseDeps {
  approvers: ApproverDirectory;
  policy: ApprovalPolicy;
}
