import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests start real HAProxy processes and servers and mostly wait on them (polling rounds,
    // reloads): three files at a time keep 2 cores busy without starving any (measured: 2.6
    // suite 72 s with 2 workers, 52 s with 3; stable on 2.6 and 3.x).
    maxWorkers: 3,
    fileParallelism: true
  }
})
