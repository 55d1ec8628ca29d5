/**
 * The reconciler over namespace `apps` → example.test (host mode), reading every service every
 * round, with what it publishes for the apply loop collected in a list.
 */
import { Effect, Ref } from "effect"
import type { ApplyOutcome } from "../../src/apply/applier.ts"
import type { Desired } from "../../src/model/desired.ts"
import { DesiredChannel, type Planned } from "../../src/apply/desired-channel.ts"
import type { FeedSettings } from "../../src/reconcile/change-feed.ts"
import type { FleetSettings } from "../../src/reconcile/fleet-fit.ts"
import { makeReconciler } from "../../src/reconcile/reconciler.ts"
import { LOOPBACK_ALLOWED } from "./networks.ts"
import { initialStatus, type Status } from "../../src/status/status.ts"
import { StatusStore } from "../../src/status/status-store.ts"

let generation = 0

/** An apply that succeeded (a reload), with a new generation each time. */
export const appliedOutcome = (desired: Desired): ApplyOutcome => ({
  _tag: "Applied",
  applied: { desired, files: {} as never, hash: String(++generation), generation },
  method: "reload",
  reason: "test",
  label: "test",
  durationMs: 1
})

export const startReconciler = (
  options: { readonly maxRemovalPercent?: number; readonly fleet?: Partial<FleetSettings>; readonly changeFeed?: FeedSettings } = {}
) =>
  Effect.gen(function*() {
    const fleet: FleetSettings = {
      revisionPollSeconds: 1,
      revisionCheckBudget: 1500,
      refreshSeconds: 1,
      serviceListSeconds: 0,
      requestsPerSecond: 1_000_000,
      readsPerSecond: 1_000_000,
      serviceAttributesSeconds: 60,
      ...options.fleet
    }
    const status = yield* Ref.make<Status>(initialStatus("test", 0))
    const published = yield* Ref.make<ReadonlyArray<Planned>>([])
    const reconciler = yield* makeReconciler({
      mappings: [{ namespace: "apps", domain: "example.test", mode: "host" }],
      region: "us-east-1",
      healthFilter: "ALL",
      defaultInstancePort: undefined,
      maxRemovalPercent: options.maxRemovalPercent ?? 100,
      fleet,
      zoneAffinity: undefined,
      instanceNetworks: LOOPBACK_ALLOWED,
      changeFeed: options.changeFeed
    }).pipe(
      Effect.provideService(StatusStore, StatusStore.of({ get: Ref.get(status), update: (f) => Ref.update(status, f), current: () => Ref.getUnsafe(status) })),
      Effect.provideService(DesiredChannel, DesiredChannel.of({ publish: (planned) => Ref.update(published, (ps) => [...ps, planned]), take: Effect.never }))
    )
    /** The newest published desired state. */
    const latest = Effect.map(Ref.get(published), (ps) => ps.at(-1))
    return { round: reconciler.round, rereadAll: reconciler.rereadAll, status: Ref.get(status), published: Ref.get(published), latest }
  })
