import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Slack's Web API is intercepted with nock inside each test file; nothing leaves the machine.
    env: { CHECKPOINT_DISABLE: "1" },
  },
});
