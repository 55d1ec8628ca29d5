/**
 * The watchdog's rules, driven by the TestClock with a scripted probe: HAProxy that stops
 * answering fails /readyz after HAPROXY_WATCHDOG and /healthz after HAPROXY_WATCHDOG_LIVENESS,
 * each logged once; answering again recovers both with nothing restarted. A slow answer (within
 * the probe's timeout) never trips it. The real HAProxy (SIGSTOP / SIGCONT) is in
 * test/e2e/adversity/frozen-haproxy.test.ts.
 */
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Fiber, Layer, Logger, Ref } from "effect"
import { TestClock } from "effect/testing"
import { makeWatchdog } from "../../src/haproxy/watchdog.ts"
import { type HealthRules, initialStatus, liveness, readiness, type Status } from "../../src/status/status.ts"

const SECOND = 1000
const RULES: HealthRules = {
  maxHeartbeatAgeMs: 3_600_000,
  maxStalenessMs: undefined,
  dryRun: false,
  haproxySilentUnreadyMs: 10 * SECOND,
  haproxySilentDeadMs: 30 * SECOND
}

/** Serving and in sync; the heartbeat is kept fresh by the test (only the watchdog is judged here). */
const serving = (s: Status, now: number): Status => ({
  ...s,
  heartbeatAt: now,
  initialSyncAt: 0,
  firstAppliedAt: 0,
  haproxy: { ...s.haproxy, running: true, pid: 1, workers: 1 }
})

describe("HAProxy watchdog", () => {
  it.effect("stopped: unready after HAPROXY_WATCHDOG, not alive after HAPROXY_WATCHDOG_LIVENESS, logged once each; answering again recovers both", () =>
    Effect.gen(function*() {
      const status = yield* Ref.make(initialStatus("test", 0))
      const logs: Array<string> = []
      // A stopped HAProxy: the connection is accepted, no answer comes; the probe times out at 2 s.
      let stopped = false
      let probes = 0
      const probe = Effect.suspend(() => {
        probes++
        return stopped
          ? Effect.andThen(Effect.sleep(2 * SECOND), Effect.fail({ message: "admin socket: no answer within 2000 ms" }))
          : Effect.andThen(Effect.sleep(1), Effect.void)
      })
      const watchdog = yield* makeWatchdog({
        probe,
        intervalMs: 2 * SECOND,
        readyAfterMs: 10 * SECOND,
        liveAfterMs: 30 * SECOND,
        isRunning: Effect.succeed(true),
        update: (f) => Ref.update(status, f)
      })
      const capture = Logger.make(({ message }) => void logs.push(String(message)))
      const fiber = yield* Effect.forkChild(watchdog.run.pipe(Effect.provide(Logger.layer([capture]))))
      const verdicts = Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const s = serving(yield* Ref.get(status), now)
        return { ready: readiness(s, now, RULES), live: liveness(s, now, RULES) }
      })
      yield* TestClock.adjust(20 * SECOND)
      assert.isTrue((yield* verdicts).ready.ok)
      assert.isAbove(probes, 5)

      // SIGSTOP at 20 s (it last answered at about 20 s).
      stopped = true
      yield* TestClock.adjust(8 * SECOND)
      assert.isTrue((yield* verdicts).ready.ok, "8 s: not yet")
      yield* TestClock.adjust(4 * SECOND)
      const unready = yield* verdicts
      assert.isFalse(unready.ready.ok, "12 s without an answer: unready")
      assert.match(unready.ready.reason, /HAProxy has not answered on its sockets for 1[0-4]s \(HAPROXY_WATCHDOG 10s\): admin socket: no answer/)
      assert.isTrue(unready.live.ok)
      yield* TestClock.adjust(20 * SECOND)
      const dead = yield* verdicts
      assert.isFalse(dead.ready.ok)
      assert.isFalse(dead.live.ok, "32 s: not alive")
      assert.match(dead.live.reason, /HAPROXY_WATCHDOG_LIVENESS 30s/)
      yield* TestClock.adjust(60 * SECOND)
      assert.deepStrictEqual(logs.filter((l) => l.includes("has not answered")).length, 2, logs.join("\n"))

      // SIGCONT: the next probe answers; both recover, logged once.
      stopped = false
      yield* TestClock.adjust(5 * SECOND)
      const back = yield* verdicts
      assert.isTrue(back.ready.ok)
      assert.isTrue(back.live.ok)
      assert.isUndefined((yield* Ref.get(status)).haproxy.unresponsive)
      assert.deepStrictEqual(logs.filter((l) => l.includes("answers on its sockets again")).length, 1)
      yield* Fiber.interrupt(fiber)
    }))

  it.effect("slow answers within the probe's timeout never trip it; a short silence (a reload) neither", () =>
    Effect.gen(function*() {
      const status = yield* Ref.make(initialStatus("test", 0))
      let failing = false
      const probe = Effect.suspend(() =>
        failing ? Effect.fail({ message: "master CLI: connection refused" }) : Effect.sleep(1900)
      )
      const watchdog = yield* makeWatchdog({
        probe,
        intervalMs: 2 * SECOND,
        readyAfterMs: 10 * SECOND,
        liveAfterMs: 30 * SECOND,
        isRunning: Effect.succeed(true),
        update: (f) => Ref.update(status, f)
      })
      const fiber = yield* Effect.forkChild(watchdog.run)
      for (let i = 0; i < 60; i++) {
        yield* TestClock.adjust(1 * SECOND)
        const now = yield* Clock.currentTimeMillis
        assert.isTrue(readiness(serving(yield* Ref.get(status), now), now, RULES).ok, `at ${i} s`)
        // 6 s of refused connections (the master re-executing on a reload).
        failing = i >= 30 && i < 36
      }
      yield* Fiber.interrupt(fiber)
    }))

  it.effect("HAProxy not running is not probed (the supervisor reports that); it is judged afresh once it runs", () =>
    Effect.gen(function*() {
      const status = yield* Ref.make(initialStatus("test", 0))
      let running = false
      let probes = 0
      const watchdog = yield* makeWatchdog({
        probe: Effect.suspend(() => {
          probes++
          return Effect.fail({ message: "no answer" })
        }),
        intervalMs: 2 * SECOND,
        readyAfterMs: 10 * SECOND,
        liveAfterMs: 30 * SECOND,
        isRunning: Effect.sync(() => running),
        update: (f) => Ref.update(status, f)
      })
      const fiber = yield* Effect.forkChild(watchdog.run)
      yield* TestClock.adjust(60 * SECOND)
      assert.strictEqual(probes, 0)
      running = true
      yield* TestClock.adjust(4 * SECOND)
      const now = yield* Clock.currentTimeMillis
      assert.isTrue(readiness(serving(yield* Ref.get(status), now), now, RULES).ok, "a silence counts from when it runs")
      yield* Fiber.interrupt(fiber)
    }))
})
