/**
 * From fresh reads to a published desired state: merged with the last good snapshot (fail
 * static), guarded against mass removal (anti-flap), planned, reported, and published to the
 * apply loop's channel when it differs from the last one published.
 */
import { Effect, Ref } from "effect"
import type { Snapshot } from "../model/snapshot.ts"
import { plan } from "../plan/plan.ts"
import type { Planned } from "../apply/desired-channel.ts"
import { guardRemovals } from "./anti-flap.ts"
import { mergeWithPrevious } from "./fail-static.ts"
import { allRead, namespaceStates } from "./namespace-state.ts"
import { reportPlan } from "./plan-report.ts"
import type { RoundContext } from "./round-context.ts"

/** Publishes what `fresh` (merged into the held snapshot) plans; returns what the round reports. */
export const publishFrom = (ctx: RoundContext, fresh: Snapshot) =>
  Effect.gen(function*() {
    const { settings, state } = ctx
    const current = yield* Ref.get(state)
    const merged = mergeWithPrevious(current.snapshot, fresh)
    const guarded = guardRemovals(current.snapshot, merged.snapshot, settings.maxRemovalPercent)
    const desired = plan(guarded.snapshot, {
      defaultInstancePort: settings.defaultInstancePort,
      serviceAttributes: current.attributes.values,
      zoneAffinity: settings.zoneAffinity,
      instanceNetworks: settings.instanceNetworks
    })
    yield* reportPlan(current.snapshot, guarded, current.published?.planned.desired, desired, merged.failures)
    const namespaces = namespaceStates(settings.mappings, current.topology, guarded.snapshot, undefined)
    const json = JSON.stringify(desired)
    const planned: Planned = { desired, complete: allRead(namespaces), json }
    // The apply loop retries what it could not apply by itself: the same state is not sent twice.
    const changed = current.published === undefined || current.published.planned.complete !== planned.complete ||
      current.published.json !== json
    if (changed) yield* ctx.channel.publish(planned)
    yield* Ref.update(state, (s) => ({ ...s, snapshot: guarded.snapshot, published: changed ? { planned, json } : s.published }))
    return { failures: merged.failures, suppressed: guarded.suppressed, snapshot: guarded.snapshot }
  })
