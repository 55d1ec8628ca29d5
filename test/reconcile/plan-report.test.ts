/** What a plan counts: the anti-flap guard's held-back removals in one bounded series. */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Metric } from "effect"
import { reportPlan } from "../../src/reconcile/plan-report.ts"
import type { Desired } from "../../src/model/desired.ts"

const empty: Desired = { backends: [], hostRoutes: [], pathRoutes: [], quarantined: [], ignoredOptions: [] }
const snapshot = { namespaces: [], takenAt: 0 }
const held = (service: string, n: number) => ({ namespace: "apps", service, held: n, reason: "more than MAX_REMOVAL_PERCENT" })

describe("suppressed removals metric", () => {
  it.effect("counts every held-back removal in one series, however many services were ever held back", () =>
    Effect.gen(function*() {
      for (let i = 0; i < 50; i++) {
        yield* reportPlan(snapshot, { snapshot, suppressed: [held(`svc-${i}`, 2)] }, empty, empty, [])
      }
      const series = (yield* Metric.snapshot).filter((m) => m.id === "cloudmap_haproxy_suppressed_removals_total")
      assert.strictEqual(series.length, 1)
      assert.deepStrictEqual((series[0]!.state as { count: number }).count, 100)
    }).pipe(Effect.provideService(Metric.MetricRegistry, new Map())))
})
