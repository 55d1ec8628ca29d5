/**
 * The watchdog on HAProxy's own sockets: every few seconds `show info` on the admin socket (the
 * worker) and `show proc` on the master CLI (2.6's master has no `show info`), each with a short
 * timeout; a probe is answered when both answer (a wedged master blocks every reload). HAProxy
 * whose probes go unanswered for HAPROXY_WATCHDOG seconds (stopped, wedged, starved)
 * fails /readyz, for HAPROXY_WATCHDOG_LIVENESS seconds /healthz (status.ts); each step is logged
 * once and shown in /status (`haproxy.unresponsive`) and the metric. When it answers again
 * (SIGCONT, say) both recover by themselves: nothing is restarted here.
 */
import { Clock, Effect, Metric, Ref, Schedule } from "effect"
import { haproxyUnresponsive } from "../observability/metrics.ts"
import type { Status } from "../status/status.ts"

export interface WatchdogOptions {
  /** One probe of both sockets; fails with what did not answer. */
  readonly probe: Effect.Effect<void, { readonly message: string }>
  /** Between two probes (after the previous one answered or timed out). */
  readonly intervalMs: number
  /** Unanswered this long: /readyz fails (HAPROXY_WATCHDOG). */
  readonly readyAfterMs: number
  /** Unanswered this long: /healthz fails (HAPROXY_WATCHDOG_LIVENESS). */
  readonly liveAfterMs: number
  /** HAProxy is not probed while it does not run (the supervisor reports that). */
  readonly isRunning: Effect.Effect<boolean>
  readonly update: (f: (s: Status) => Status) => Effect.Effect<void>
}

interface WatchState {
  /** When HAProxy last answered (or was found running again). */
  readonly answeredAt: number
  /** What was logged for the current silence. */
  readonly logged: "nothing" | "unready" | "dead"
}

/** One probe and what follows from it; exported for tests that drive it with the TestClock. */
export const makeWatchdog = (options: WatchdogOptions) =>
  Effect.gen(function*() {
    const state = yield* Ref.make<WatchState>({ answeredAt: yield* Clock.currentTimeMillis, logged: "nothing" })
    const answered = (now: number) =>
      Effect.gen(function*() {
        const before = yield* Ref.getAndSet(state, { answeredAt: now, logged: "nothing" } satisfies WatchState)
        if (before.logged !== "nothing") {
          yield* Effect.logWarning("HAProxy answers on its sockets again: /readyz and /healthz recover", {
            silentSeconds: Math.round((now - before.answeredAt) / 1000)
          })
        }
        yield* options.update((s) => s.haproxy.unresponsive === undefined ? s : { ...s, haproxy: { ...s.haproxy, unresponsive: undefined } })
        yield* Metric.update(haproxyUnresponsive, 0)
      })

    const check = Effect.gen(function*() {
      if (!(yield* options.isRunning)) return yield* answered(yield* Clock.currentTimeMillis)
      const result = yield* Effect.result(options.probe)
      const now = yield* Clock.currentTimeMillis
      if (result._tag === "Success") return yield* answered(now)
      const { answeredAt, logged } = yield* Ref.get(state)
      const silentMs = now - answeredAt
      const error = result.failure.message
      yield* options.update((s) => ({ ...s, haproxy: { ...s.haproxy, unresponsive: { since: answeredAt, error } } }))
      yield* Metric.update(haproxyUnresponsive, silentMs / 1000)
      const fields = { silentSeconds: Math.round(silentMs / 1000), error }
      if (silentMs >= options.liveAfterMs && logged !== "dead") {
        yield* Ref.update(state, (s): WatchState => ({ ...s, logged: "dead" }))
        yield* Effect.logError(
          `HAProxy has not answered on its sockets for ${options.liveAfterMs / 1000} s (HAPROXY_WATCHDOG_LIVENESS): /healthz fails, the task is replaced`,
          fields
        )
      } else if (silentMs >= options.readyAfterMs && logged === "nothing") {
        yield* Ref.update(state, (s): WatchState => ({ ...s, logged: "unready" }))
        yield* Effect.logError(`HAProxy has not answered on its sockets for ${options.readyAfterMs / 1000} s (HAPROXY_WATCHDOG): /readyz fails`, fields)
      }
    })

    /** Probes until the scope closes. */
    const run = Effect.repeat(check, Schedule.spaced(options.intervalMs))
    return { check, run }
  })
