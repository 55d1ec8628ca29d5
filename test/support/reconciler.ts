/** The reconciler with a fake applier, for tests that drive its rounds against a fake Cloud Map. */
import { Effect, Ref } from "effect"
import type { ApplyOutcome } from "../../src/apply/applier.ts"
import type { Desired } from "../../src/model/desired.ts"
import { makeReconciler } from "../../src/reconcile/reconciler.ts"
import { initialStatus, type Status } from "../../src/reconcile/status.ts"

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

/**
 * A reconciler over namespace `apps` → example.test (host mode) that reads every service every
 * round and hands each desired state to `apply`; its round and its published Status.
 */
export const startReconciler = (apply: (desired: Desired) => ApplyOutcome) =>
  Effect.gen(function*() {
    const status = yield* Ref.make<Status>(initialStatus("test", 0))
    const reconciler = yield* makeReconciler({
      mappings: [{ namespace: "apps", domain: "example.test", mode: "host" }],
      region: "us-east-1",
      healthFilter: "ALL",
      defaultInstancePort: undefined,
      maxRemovalPercent: 100,
      apply: (_previous, desired) => Effect.sync(() => apply(desired)),
      status,
      rejectedRetryMs: 10,
      serviceListMs: 0,
      rereadAfterMs: 0
    })
    return { round: reconciler.round, status: Ref.get(status) }
  })
