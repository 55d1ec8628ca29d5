import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests start real HAProxy processes and servers and mostly wait on them (polling rounds,
    // reloads): three files at a time keep 2 cores busy without starving any (measured: 2.6
    // suite 72 s with 2 workers, 52 s with 3). Four saved ~20 s a suite (220 s against 235–247 s at
    // 1,565 tests) but made the load-sensitive timing tests fail in CI (2 of 4,734 in one run).
    maxWorkers: 3,
    fileParallelism: true
  }
})
