import type { App } from "@slack/bolt";
import type { SlackDeps } from "../../deps.js";

/** Events API: Bolt acknowledges each event before its listener runs, so these may take their time. */
export function registerEvents(app: App, deps: SlackDeps) {
  // Opening the Messages tab fires the same event; only the Home tab shows sendgate's overview.
  app.event("app_home_opened", async ({ event }) => {
    if (event.tab !== "home") return;
    await deps.home.opened(event.user, { shown: event.view !== undefined });
  });
}
