import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests start real HAProxy processes and servers and mostly wait on them (polling rounds,
    // reloads): four files at a time keep 2 cores busy without starving any (measured on 2 vCPUs:
    // the 2.6 suite of 1,565 tests in 220 s with 4 workers, 235–247 s with 3; 0 failures either way).
    maxWorkers: 4,
    fileParallelism: true
  }
})
