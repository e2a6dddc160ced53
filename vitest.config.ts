import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Slack is the strict stand-in (src/slack-standin) on a local port; nock only adds network faults. Nothing leaves the machine.
    env: { CHECKPOINT_DISABLE: "1" },
  },
});
