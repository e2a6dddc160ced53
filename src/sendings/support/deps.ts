import type { Logger } from "pino";
import type { Database } from "../../db/database.js";
import type { RecipientBulk } from "../../db/recipient-bulk.js";
import type { ApproverDirectory, Clock, SendingNotifier } from "./ports.js";
import type { RecipientVarsLimits } from "./sending-input.js";

/** What every use case is given by the composition root. */
export interface UseCaseDeps {
  db: Database;
  notifier: SendingNotifier;
  clock: Clock;
  log: Logger;
}

/** Intake also appends recipient lists, through the bulk path the composition root created. */
export interface IntakeDeps extends UseCaseDeps {
  recipients: RecipientBulk;
  /** How large a recipient's variables may be (RECIPIENT_VARS_MAX_DEPTH, _BYTES); the defaults when not given. */
  recipientVarsLimits?: RecipientVarsLimits;
}

/** Steering a sending (pause, resume, cancel, reschedule, preview) needs to know who may. */
export interface ControlDeps extends UseCaseDeps {
  approvers: ApproverDirectory;
}
