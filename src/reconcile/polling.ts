/**
 * The polling loop: a reconciler round every REVISION_POLL_RATE (between round starts, ±20 %
 * jitter so replicas drift apart), each followed by a heartbeat that /healthz checks. SIGHUP
 * runs a round at once that re-lists and re-reads everything (it never stops the agent).
 */
import { Clock, Effect, Layer, Schedule } from "effect"
import { Hangups } from "./hangups.ts"
import { AgentConfigService } from "../config/service.ts"
import { Reconciler } from "./reconciler.ts"
import { StatusStore } from "./status-store.ts"

/** Round starts `seconds` apart, ±20 %; a round longer than that is followed by the next at once. */
const pollSchedule = (seconds: number) => Schedule.fixed(`${Math.round(seconds * 1000)} millis`).pipe(Schedule.jittered)

export const PollingLive = Layer.effectDiscard(
  Effect.gen(function*() {
    const config = yield* AgentConfigService
    const reconciler = yield* Reconciler
    const status = yield* StatusStore
    // /healthz checks that the rounds keep completing (not just that a timer ticks).
    const beat = Effect.flatMap(Clock.currentTimeMillis, (t) => status.update((s) => ({ ...s, heartbeatAt: t })))
    const round = Effect.andThen(reconciler.round, beat)
    yield* Effect.forkScoped(Effect.repeat(round, pollSchedule(config.revisionPollSeconds)))

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
