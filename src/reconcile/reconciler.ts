/**
 * Keeps HAProxy in step with Cloud Map, one round at a time. The first round reads the topology
 * and every service (./first-read.ts). Later rounds (./round-runner.ts, planned by the pure
 * ./round-plan.ts) re-list services every SERVICE_LIST_RATE (or at once when the change feed names
 * a service not listed yet) and read:
 * - with the change feed (./feed-round.ts, a round every CHANGE_FEED_RATE): the services its new
 *   operations name, first, then those whose sweep read is due (DiscoverInstances every
 *   REFRESH_RATE: health changes are only seen this way, and it repairs what the feed missed);
 * - without it (off, unavailable, or too many operations in a round): every service, either
 *   re-read when due or asked for its InstancesRevision and re-read only when that changed.
 * Every result is merged with the last good snapshot (fail static), planned, guarded against
 * mass removal, and handed to the applier (./publish.ts); each round reports (./round-report.ts).
 * This file makes the rounds' context, runs one round at a time, and takes SIGHUP's re-read.
 */
import { Effect, Option, Ref, Semaphore } from "effect"
import { CloudMapActivity } from "../cloudmap/activity.ts"
import type { CloudMap } from "../cloudmap/client.ts"
import { DesiredChannel } from "../apply/desired-channel.ts"
import { StatusStore } from "../status/status-store.ts"
import { makeChangeFeed } from "./feed-round.ts"
import { firstRead } from "./first-read.ts"
import { cadenceFor, forgetReads, initialRoundState, type ReconcilerSettings, type RoundContext, type RoundState } from "./round-context.ts"
import { laterRound } from "./round-runner.ts"

/** The rounds over these settings; Status and the apply loop's channel come from the context. */
export const makeReconciler = (settings: ReconcilerSettings) =>
  Effect.gen(function*() {
    const updateStatus = (yield* StatusStore).update
    const state = yield* Ref.make<RoundState>(initialRoundState)
    const ctx: RoundContext = {
      settings,
      state,
      updateStatus,
      channel: yield* DesiredChannel,
      feed: yield* makeChangeFeed(settings.changeFeed, updateStatus),
      activity: Option.getOrUndefined(yield* Effect.serviceOption(CloudMapActivity))
    }
    // A round at a time: SIGHUP may ask for one while the polling loop runs another.
    const oneRound = yield* Semaphore.make(1)

    // SIGHUP: the next round to start forgets when anything was last listed or read. Applied under
    // the round's permit, so a round in flight cannot write its read times over the reset.
    const rereadPending = yield* Ref.make(false)
    const forgetPending = Effect.flatMap(Ref.getAndSet(rereadPending, false), (pending) =>
      pending ? Ref.update(state, forgetReads) : Effect.void)

    /** The first round (or, until one succeeds, every round) reads everything. */
    const round: Effect.Effect<void, never, CloudMap> = oneRound.withPermit(Effect.andThen(
      forgetPending,
      Effect.flatMap(Ref.get(state), (s) => s.topology === undefined || s.snapshot === undefined ? firstRead(ctx) : laterRound(ctx))
    ))

    /** The next round re-lists and reads everything (SIGHUP), even when a round is in flight now. */
    const rereadAll = Ref.set(rereadPending, true)

    /** The cadence for the fleet known now (cadence.ts): when the next round should start. */
    const cadence = Effect.flatMap(Ref.get(state), (s) =>
      cadenceFor(ctx, s.topology?.reduce((n, t) => n + (t._tag === "Ok" ? t.services.length : 0), 0) ?? 0))

    return { round, rereadAll, cadence, state }
  })
