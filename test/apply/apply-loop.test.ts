/**
 * The apply loop, driven by the clock (TestClock): reload pacing and coalescing, the retry of a
 * refused configuration, rollback, and the readiness and liveness that follow. The applier is the
 * real one over a temp CONFIG_DIR; HAProxy is the fake HaproxyControl.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Clock, Context, Effect, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import { afterAll } from "vitest"
import { Applier, makeApplier } from "../../src/apply/applier.ts"
import type { Desired } from "../../src/model/desired.ts"
import { makeApplyLoop } from "../../src/apply/apply-loop.ts"
import { DesiredChannel } from "../../src/apply/desired-channel.ts"
import { type HealthRules, liveness, readiness } from "../../src/status/status.ts"
import { StatusStore } from "../../src/status/status-store.ts"
import { settings } from "../render/fixtures.ts"
import { backend, desired } from "../support/desired.ts"
import { candidateInvalid, fakeControl, reloadFailed, validatorMissing } from "../support/fake-control.ts"

const dirs: Array<string> = []
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const services = (names: ReadonlyArray<string>) => desired(...names.map((n, i) => backend(n, [8080 + i])))

const RULES: HealthRules = { maxHeartbeatAgeMs: 120_000, maxStalenessMs: undefined, dryRun: false }
const SECOND = 1000

/** The loop running in the background over a fresh CONFIG_DIR; what the fake HAProxy saw. */
const start = (options: { readonly reloadMinIntervalMs: number; readonly rejectedRetryMs: number }) =>
  Effect.gen(function*() {
    const dir = mkdtempSync(join(tmpdir(), "cmh-apply-loop-"))
    dirs.push(dir)
    const configDir = join(dir, "cfg")
    const fake = fakeControl(configDir)
    const applier = makeApplier({ settings: settings({ configDir }), dryRun: false, control: fake.control })
    const context = yield* Layer.build(Layer.mergeAll(Layer.succeed(Applier, applier), DesiredChannel.layer, StatusStore.layer))
    const loop = yield* makeApplyLoop(options).pipe(Effect.provideContext(context))
    const fiber = yield* Effect.forkChild(Effect.forever(loop.iteration).pipe(Effect.provideContext(context)))
    const channel = Context.get(context, DesiredChannel)
    const status = Context.get(context, StatusStore)
    /** Lets the loop run until it waits (for the clock or the next state). */
    const settle = Effect.repeat(Effect.yieldNow, { times: 50 })
    const publish = (d: Desired, complete = true) => Effect.andThen(channel.publish({ desired: d, complete }), settle)
    const reloads = () => fake.calls.filter((c) => c === "reload" || c === "start").length
    return { fake, publish, status: status.get, settle, reloads, stop: Fiber.interrupt(fiber) }
  })

describe("apply loop", () => {
  it.effect("paces reloads and coalesces: a state that waits for RELOAD_MIN_INTERVAL is replaced by a newer one", () =>
    Effect.gen(function*() {
      const t = yield* start({ reloadMinIntervalMs: 5 * SECOND, rejectedRetryMs: 10 * SECOND })
      yield* t.publish(services(["web"]))
      assert.deepStrictEqual(t.fake.calls.filter((c) => !c.startsWith("validate")), ["start"])
      // Two new services within the interval: only the newest is applied, by one reload, at 5 s.
      yield* TestClock.adjust(1 * SECOND)
      yield* t.publish(services(["web", "a"]))
      yield* TestClock.adjust(1 * SECOND)
      yield* t.publish(services(["web", "a", "b"]))
      assert.strictEqual(t.reloads(), 1)
      yield* TestClock.adjust(2900)
      yield* t.settle
      assert.strictEqual(t.reloads(), 1)
      yield* TestClock.adjust(100)
      yield* t.settle
      assert.strictEqual(t.reloads(), 2)
      const s = yield* t.status
      assert.deepStrictEqual(s.applied?.backends.map((b) => b.service).sort(), ["a", "b", "web"])
      assert.strictEqual(s.generation, 2)
      yield* t.stop
    }))

  it.effect("instance changes go through the runtime API at once, even right after a reload", () =>
    Effect.gen(function*() {
      const t = yield* start({ reloadMinIntervalMs: 5 * SECOND, rejectedRetryMs: 10 * SECOND })
      yield* t.publish(services(["web"]))
      t.fake.runtime = true
      yield* t.publish(desired(backend("web", [8080, 8081])))
      assert.deepStrictEqual(t.fake.calls.filter((c) => !c.startsWith("validate")), ["start", "runtime"])
      assert.strictEqual((yield* t.status).applied?.backends[0]?.servers.length, 2)
      yield* t.stop
    }))

  it.effect("while a new service waits out RELOAD_MIN_INTERVAL, instance changes of the others are applied at once", () =>
    Effect.gen(function*() {
      const t = yield* start({ reloadMinIntervalMs: 5 * SECOND, rejectedRetryMs: 10 * SECOND })
      yield* t.publish(services(["web"]))
      t.fake.runtime = true
      yield* TestClock.adjust(1 * SECOND)
      // A new service (needs a reload, paced to 5 s) and a new instance of web in one state.
      yield* t.publish(desired(backend("web", [8080, 8081]), backend("shop", [9090])))
      assert.deepStrictEqual(t.fake.calls.filter((c) => !c.startsWith("validate")), ["start", "runtime"])
      const meanwhile = yield* t.status
      assert.deepStrictEqual(meanwhile.applied?.backends.map((b) => [b.service, b.servers.length]), [["web", 2]])
      yield* TestClock.adjust(4 * SECOND)
      yield* t.settle
      // The applier asks the runtime API first (refused: a new service), then reloads.
      assert.deepStrictEqual(t.fake.calls.filter((c) => !c.startsWith("validate")), ["start", "runtime", "runtime", "reload"])
      const after = yield* t.status
      assert.deepStrictEqual(after.applied?.backends.map((b) => [b.service, b.servers.length]).sort(), [["shop", 1], ["web", 2]])
      yield* t.stop
    }))

  it.effect("a refused configuration is retried after REJECTED_RETRY_INTERVAL, not before, and not when republished", () =>
    Effect.gen(function*() {
      const t = yield* start({ reloadMinIntervalMs: 0, rejectedRetryMs: 10 * SECOND })
      yield* t.publish(services(["web"]))
      t.fake.fail.validate.push(candidateInvalid())
      yield* t.publish(services(["web", "shop"]))
      const refused = yield* t.status
      assert.strictEqual(refused.pending?.stage, "validate")
      assert.deepStrictEqual(refused.applied?.backends.map((b) => b.service).sort(), ["web"])
      const validations = () => t.fake.calls.filter((c) => c.startsWith("validate")).length
      assert.strictEqual(validations(), 2)
      // The same state published again does not cut the wait short.
      yield* TestClock.adjust(5 * SECOND)
      yield* t.publish(services(["web", "shop"]))
      yield* TestClock.adjust(4 * SECOND)
      yield* t.settle
      assert.strictEqual(validations(), 2)
      yield* TestClock.adjust(1 * SECOND)
      yield* t.settle
      assert.strictEqual(validations(), 3)
      const s = yield* t.status
      assert.strictEqual(s.pending, undefined)
      assert.deepStrictEqual(s.applied?.backends.map((b) => b.service).sort(), ["shop", "web"])
      yield* t.stop
    }))

  it.effect("a newer state does not wait for the retry of a refused one", () =>
    Effect.gen(function*() {
      const t = yield* start({ reloadMinIntervalMs: 0, rejectedRetryMs: 60 * SECOND })
      yield* t.publish(services(["web"]))
      t.fake.fail.validate.push(validatorMissing())
      yield* t.publish(services(["web", "shop"]))
      assert.strictEqual((yield* t.status).pending?.error.includes("Could not run"), true)
      yield* t.publish(services(["web", "shop", "cart"]))
      const s = yield* t.status
      assert.strictEqual(s.pending, undefined)
      assert.deepStrictEqual(s.applied?.backends.map((b) => b.service).sort(), ["cart", "shop", "web"])
      yield* t.stop
    }))

  it.effect("a failed reload is rolled back; when the confirming reload fails too, the change stays pending and is retried", () =>
    Effect.gen(function*() {
      const t = yield* start({ reloadMinIntervalMs: 0, rejectedRetryMs: 10 * SECOND })
      yield* t.publish(services(["web"]))
      t.fake.fail.reload.push(reloadFailed(), reloadFailed("[ALERT] injected: confirm failed too"))
      yield* t.publish(services(["web", "shop"]))
      const failed = yield* t.status
      assert.strictEqual(failed.pending?.stage, "reload")
      assert.deepStrictEqual(failed.applied?.backends.map((b) => b.service).sort(), ["web"])
      assert.deepStrictEqual(t.fake.calls.filter((c) => c === "reload").length, 2)
      yield* TestClock.adjust(10 * SECOND)
      yield* t.settle
      const s = yield* t.status
      assert.strictEqual(s.pending, undefined)
      assert.deepStrictEqual(s.applied?.backends.map((b) => b.service).sort(), ["shop", "web"])
      yield* t.stop
    }))

  it.effect("readiness: not before a complete state is applied; liveness: fails only when the loop stalls", () =>
    Effect.gen(function*() {
      const t = yield* start({ reloadMinIntervalMs: 0, rejectedRetryMs: 10 * SECOND })
      // Applied, but one namespace still unread: serving, not ready.
      yield* t.publish(services(["web"]), false)
      const partial = yield* t.status
      assert.strictEqual(partial.haproxy.running, false) // nobody mirrors HAProxy here
      assert.strictEqual(readiness({ ...partial, haproxy: { running: true, pid: 1, workers: 1 } }, yield* Clock.currentTimeMillis, RULES).ok, false)
      yield* t.publish(services(["web"]), true)
      const complete = { ...(yield* t.status), haproxy: { running: true, pid: 1, workers: 1 } }
      assert.deepStrictEqual(readiness(complete, yield* Clock.currentTimeMillis, RULES), { ok: true, reason: "ok" })
      // An hour later (no Cloud Map read meanwhile): still ready; liveness needs the heartbeat.
      yield* TestClock.adjust(3_600 * SECOND)
      const later = yield* Clock.currentTimeMillis
      assert.strictEqual(readiness(complete, later, RULES).ok, true)
      assert.strictEqual(liveness(complete, later, RULES).ok, false)
      assert.strictEqual(liveness({ ...complete, heartbeatAt: later }, later, RULES).ok, true)
      yield* t.stop
    }))
})
