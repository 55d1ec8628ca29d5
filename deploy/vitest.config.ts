import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Synthesizing a stack takes a few seconds on a shared machine.
    testTimeout: 120_000
  }
})
