import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { chmodSync } from "node:fs"
import { join } from "node:path"
import { validateConfig } from "../../src/haproxy/validate.ts"
import { haproxyBin, renderConfig, tempDir, writeFile } from "../support/haproxy-fixtures.ts"

const good = renderConfig({
  frontends: [{ name: "fe", port: 1, backend: "be" }],
  backends: [{ name: "be", servers: [{ name: "s1", addr: "127.0.0.1", port: 9 }] }]
})

describe("validateConfig (real haproxy -c)", () => {
  it.live("accepts a valid config", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const cfg = join(dir, "good.cfg")
      yield* writeFile(cfg, good)
      const ok = yield* validateConfig(haproxyBin, cfg)
      assert.isAtLeast(ok.durationMs, 0)
      assert.deepStrictEqual(ok.warnings, [])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("rejects a broken config with the ALERT text", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const cfg = join(dir, "bad.cfg")
      yield* writeFile(cfg, good.replace("    balance roundrobin", "    balance roundrobin\n    bogus_keyword 1"))
      const error = yield* Effect.flip(validateConfig(haproxyBin, cfg))
      assert.strictEqual(error._tag, "CandidateInvalid")
      if (error._tag !== "CandidateInvalid") return
      assert.strictEqual(error.exitCode, 1)
      assert.include(error.output, "[ALERT]")
      assert.include(error.output, "unknown keyword 'bogus_keyword'")
      assert.notInclude(error.output, "[NOTICE]")
      assert.include(error.message, "bogus_keyword")
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("a missing file is CandidateInvalid too (exit code decides)", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const error = yield* Effect.flip(validateConfig(haproxyBin, join(dir, "nope.cfg")))
      assert.strictEqual(error._tag, "CandidateInvalid")
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("a missing binary is ValidatorFailed", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const error = yield* Effect.flip(validateConfig(join(dir, "no-haproxy"), join(dir, "x.cfg")))
      assert.strictEqual(error._tag, "ValidatorFailed")
    }).pipe(Effect.provide(NodeServices.layer)))

  it.live("is bounded by its timeout", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      // A stand-in "haproxy" that never finishes.
      const fake = join(dir, "slow-haproxy")
      yield* writeFile(fake, "#!/bin/sh\nexec sleep 30\n")
      yield* Effect.sync(() => chmodSync(fake, 0o755))
      const started = Date.now()
      const error = yield* Effect.flip(validateConfig(fake, join(dir, "x.cfg"), { timeout: "300 millis" }))
      assert.strictEqual(error._tag, "ValidateTimeout")
      assert.isBelow(Date.now() - started, 5_000)
    }).pipe(Effect.provide(NodeServices.layer)))
})
