import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // End-to-end files start real servers and many git processes; two cores are plenty busy.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
