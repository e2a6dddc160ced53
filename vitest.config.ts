import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The fault suite runs on its own, one case at a time: npm run test:faults (vitest.faults.config.ts).
    exclude: [...configDefaults.exclude, "test/faults/**"],
    globalSetup: ["test/support/global-setup.ts"],
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Slack is the strict stand-in (src/slack-standin) on a local port; nock only adds network faults. Nothing leaves the machine.
    env: { CHECKPOINT_DISABLE: "1" },
  },
});
