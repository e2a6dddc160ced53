import { defineConfig } from "vitest/config";

/**
 * The fault suite (`npm run test:faults`): crashes, database restarts, SMTP and Slack faults against
 * real processes, one case at a time (each case owns the machine's few cores and the suite's own
 * PostgreSQL cluster). `npm test` leaves it out; the table of its figures is printed at the end.
 */
export default defineConfig({
  test: {
    include: ["test/faults/**/*.test.ts"],
    globalSetup: ["test/faults/support/global-setup.ts"],
    pool: "forks",
    fileParallelism: false,
    sequence: { concurrent: false, shuffle: false },
    testTimeout: 240_000,
    hookTimeout: 120_000,
    env: { CHECKPOINT_DISABLE: "1" },
  },
});
