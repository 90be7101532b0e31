import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    globalSetup: ["./tests/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start real processes on loopback; two cores, so keep parallelism modest.
    maxWorkers: 2,
    pool: "forks",
    reporters: ["default", "./tests/summary-reporter.ts"],
  },
});
