/**
 * The polling loop: a reconciler round every CHANGE_FEED_RATE while the change feed is used, else
 * every REVISION_POLL_RATE or less (between round starts, with jitter so replicas drift apart: ./cadence.ts;
 * `Effect.repeat` on a Schedule), each followed by a heartbeat that /healthz checks (and every
 * Cloud Map call that ends in between: ../cloudmap/activity.ts). SIGHUP
 * runs a round at once that re-lists and re-reads everything (it never stops the agent).
 */
import { Clock, Duration, Effect, Layer, Random, Schedule } from "effect"
import { CloudMapActivity } from "../cloudmap/activity.ts"
import { type Cadence, nextRoundDelayMs } from "./cadence.ts"
import { Hangups } from "./hangups.ts"
import { Reconciler } from "./reconciler-service.ts"
import { StatusStore } from "../status/status-store.ts"

/**
 * Round starts a period apart, ± its jitter (./cadence.ts: CHANGE_FEED_RATE, or REVISION_POLL_RATE
 * or less for a small fleet). The schedule's input is how long the round took, which is taken off
 * the wait.
 */
const pollSchedule = (cadence: Effect.Effect<Cadence>) =>
  Schedule.forever.pipe(
    Schedule.setInputType<number>(),
    Schedule.modifyDelay(({ input }) =>
      Effect.gen(function*() {
        const c = yield* cadence
        const r = yield* Random.next
        return Duration.millis(nextRoundDelayMs(c, r, input))
      })
    )
  )

export const PollingLive = Layer.effectDiscard(
  Effect.gen(function*() {
    const reconciler = yield* Reconciler
    const status = yield* StatusStore
    // /healthz checks that the rounds keep completing (not just that a timer ticks).
    const beat = Effect.flatMap(Clock.currentTimeMillis, (t) => status.update((s) => ({ ...s, heartbeatAt: t })))
    const round = Effect.andThen(reconciler.round, beat)
    const timedRound = Effect.gen(function*() {
      const started = yield* Clock.currentTimeMillis
      yield* round
      return (yield* Clock.currentTimeMillis) - started
    })
    yield* Effect.forkScoped(Effect.repeat(timedRound, pollSchedule(reconciler.cadence)))

    // A round's Cloud Map calls are its progress too: a round that every call's throttling and
    // backoff keeps from finishing is alive while its calls keep ending (liveness), and shows as
    // `degraded` at once. Copied into Status every second; the heartbeat only moves with a call.
    const activity = yield* CloudMapActivity
    const copyActivity = Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const summary = activity.summary(now)
      return status.update((s) => ({
        ...s,
        heartbeatAt: Math.max(s.heartbeatAt, summary.lastAttemptAt ?? 0),
        cloudMapCalls: summary
      }))
    })
    yield* Effect.forkScoped(Effect.repeat(copyActivity, Schedule.spaced("1 second")))

    // SIGHUP means "re-read Cloud Map now" (hangups.ts).
    const hangups = yield* Hangups
    const reread = Effect.gen(function*() {
      yield* hangups.next
      yield* Effect.logInfo("SIGHUP: re-reading every namespace and service from Cloud Map now")
      yield* reconciler.rereadAll
      yield* round
    })
    yield* Effect.forkScoped(Effect.forever(reread))
  })
)
