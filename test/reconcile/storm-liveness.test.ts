/**
 * Liveness and `degraded` through a throttling storm (TestClock): the polling loop's round never
 * finishes while every Cloud Map call is throttled and retried, yet each call that ends is
 * progress, so /healthz holds; `degraded` says throttling within a round; a loop that makes no
 * calls and finishes no round (wedged) still fails liveness.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Context, Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { CloudMapActivity, makeCallWindow } from "../../src/cloudmap/activity.ts"
import { cadenceOf } from "../../src/reconcile/cadence.ts"
import { Hangups } from "../../src/reconcile/hangups.ts"
import { PollingLive } from "../../src/reconcile/polling.ts"
import { Reconciler } from "../../src/reconcile/reconciler-service.ts"
import { degradedReasons, type HealthRules, isThrottling, liveness, type Status } from "../../src/status/status.ts"
import { StatusStore } from "../../src/status/status-store.ts"

const SECOND = 1000
const RULES: HealthRules = { maxHeartbeatAgeMs: 120 * SECOND, maxStalenessMs: undefined, dryRun: true }

/**
 * The polling loop over a fake reconciler whose rounds run `round` (Cloud Map calls recorded in
 * the activity window as the client would), with the real Status, SIGHUP and activity services.
 */
const pollingWith = (round: (activity: ReturnType<typeof makeCallWindow>) => Effect.Effect<void>) =>
  Effect.gen(function*() {
    const activity = makeCallWindow()
    const reconciler = Layer.succeed(Reconciler, Reconciler.of({ round: round(activity), rereadAll: Effect.void, cadence: Effect.succeed(cadenceOf(0, { revisionPollSeconds: 2, revisionCheckBudget: 1500, refreshSeconds: 30, serviceListSeconds: 10 }, undefined)) }))
    const services = Layer.mergeAll(reconciler, StatusStore.layer, Hangups.layer, Layer.succeed(CloudMapActivity, activity))
    const context = yield* Layer.build(Layer.provideMerge(PollingLive, services))
    return { status: Context.get(context, StatusStore) }
  })

/** A call every `everyMs`, answered "throttled", forever (the round never completes). */
const stormRound = (activity: ReturnType<typeof makeCallWindow>, everyMs: number) =>
  Effect.forever(Effect.andThen(Effect.sleep(everyMs), Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => activity.record("throttled", 1, now)))))

describe("liveness and degraded through a throttling storm", () => {
  it.effect("a round held for 600 s by throttled calls keeps /healthz green and is degraded within a round", () =>
    Effect.scoped(Effect.gen(function*() {
      const t = yield* pollingWith((activity) => stormRound(activity, 1500))
      for (let s = 0; s < 600; s += 5) {
        yield* TestClock.adjust(5 * SECOND)
        const now = yield* Clock.currentTimeMillis
        const status: Status = { ...(yield* t.status.get), initialSyncAt: 0 }
        assert.isTrue(liveness(status, now, RULES).ok, `alive at ${s + 5} s: ${liveness(status, now, RULES).reason}`)
        // Degraded from the first seconds on, with a reason that says throttling.
        const reasons = degradedReasons(status, now)
        assert.match(reasons.join("\n"), /Cloud Map is throttling the agent: \d+ of \d+ calls in the last 5s were throttled/, `at ${s + 5} s`)
      }
    })))

  it.effect("a round held for 300 s by malformed answers (errors, retried) keeps /healthz green too", () =>
    Effect.scoped(Effect.gen(function*() {
      const t = yield* pollingWith((activity) =>
        Effect.forever(Effect.andThen(Effect.sleep(2000), Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => activity.record("error", 1, now)))))
      )
      for (let s = 0; s < 300; s += 10) {
        yield* TestClock.adjust(10 * SECOND)
        const now = yield* Clock.currentTimeMillis
        assert.isTrue(liveness(yield* t.status.get, now, RULES).ok, `alive at ${s + 10} s`)
      }
    })))

  it.effect("a wedged loop (no call ends, no round finishes) still fails liveness", () =>
    Effect.scoped(Effect.gen(function*() {
      const t = yield* pollingWith(() => Effect.never)
      yield* TestClock.adjust(119 * SECOND)
      assert.isTrue(liveness(yield* t.status.get, yield* Clock.currentTimeMillis, RULES).ok)
      yield* TestClock.adjust(2 * SECOND)
      const v = liveness(yield* t.status.get, yield* Clock.currentTimeMillis, RULES)
      assert.isFalse(v.ok)
      assert.match(v.reason, /agent loop stalled for 121s/)
    })))

  it("degraded names throttling only when it is a real share of the calls", () => {
    const base = { initialSyncAt: 0, lastRefresh: undefined, namespaces: [], failures: [], pending: undefined, startedAt: 0, lastSuccessAt: 0 }
    const calls = (c: number, throttled: number) => ({ windowSeconds: 30, calls: c, throttled, failed: 0, lastAttemptAt: 0, lastThrottledAt: 0 })
    const reasons = (c: number, throttled: number) => degradedReasons({ ...base, cloudMapCalls: calls(c, throttled) } as unknown as Status, 0)
    assert.deepStrictEqual(reasons(1000, 1), [])
    assert.deepStrictEqual(reasons(1000, 50), [])
    assert.strictEqual(reasons(1000, 100).length, 1)
    assert.deepStrictEqual(reasons(3, 1), [])
    assert.match(reasons(3, 2)[0] ?? "", /throttling/)
  })

  it("a storm is throttling from its first seconds, whatever the calls before it; a stray throttle among many calls is not", () => {
    const w = makeCallWindow(5)
    // 70 calls a second, all answered, for 4 s; then the storm: 60 % of 70 throttled.
    for (let s = 0; s < 4; s++) w.record("ok", 70, s * 1_000)
    w.record("ok", 28, 4_000)
    w.record("throttled", 42, 4_100)
    const storm = w.summary(4_500)
    assert.strictEqual(storm.calls, 350)
    assert.strictEqual(storm.callsSinceThrottled, 70)
    assert.strictEqual(isThrottling(storm), true, "42 of 350 in the window, but 42 of the 70 since the storm began")
    const quiet = makeCallWindow(5)
    for (let s = 0; s < 5; s++) quiet.record("ok", 70, s * 1_000)
    quiet.record("throttled", 2, 4_200)
    assert.strictEqual(isThrottling(quiet.summary(4_500)), false, "2 of 72 since the first throttle")
  })

  it("the call window counts the last 30 s only (a window of 30 here)", () => {
    const w = makeCallWindow(30)
    w.record("ok", 10, 1_000)
    w.record("throttled", 5, 2_000)
    w.record("error", 1, 3_500)
    assert.deepStrictEqual(w.summary(4_000), { windowSeconds: 30, calls: 16, throttled: 5, failed: 1, lastAttemptAt: 3_500, lastThrottledAt: 2_000, callsSinceThrottled: 6 })
    assert.deepStrictEqual(w.summary(31_500), { windowSeconds: 30, calls: 6, throttled: 5, failed: 1, lastAttemptAt: 3_500, lastThrottledAt: 2_000, callsSinceThrottled: 6 })
    assert.deepStrictEqual(w.summary(40_000), { windowSeconds: 30, calls: 0, throttled: 0, failed: 0, lastAttemptAt: 3_500, lastThrottledAt: 2_000, callsSinceThrottled: 0 })
  })
})
