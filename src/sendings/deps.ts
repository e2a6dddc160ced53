import type { Logger } from "pino";
import type { Database } from "../db/database.js";
import type { Clock, SendingNotifier } from "./ports.js";

/** What every use case is given by the composition root. */
export interface UseCaseDeps {
  db: Database;
  notifier: SendingNotifier;
  clock: Clock;
  log: Logger;
}
