/**
 * A DiscoverInstances answer of exactly 1,000 instances (the page the client asks for, and Cloud
 * Map's per-service maximum) may be truncated: the reconciler warns once per service while it
 * stays at the limit, not on every round.
 */
import { Effect, Layer, Logger } from "effect"
import { describe, expect, it } from "vitest"
import { CloudMap, DISCOVER_MAX_RESULTS, type DiscoveredInstances, revisionsOneByOne } from "../../src/cloudmap/client.ts"
import { startReconciler } from "../support/reconciler.ts"

interface World {
  /** Instances per service name. */
  counts: Record<string, number>
  revision: number
}

const answer = (service: string, w: World): DiscoveredInstances => {
  const count = w.counts[service] ?? 0
  return {
    revision: w.revision,
    truncated: count >= DISCOVER_MAX_RESULTS,
    instances: Array.from({ length: count }, (_, i) => ({
      id: `${service}-${i}`,
      attributes: { AWS_INSTANCE_IPV4: `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}`, AWS_INSTANCE_PORT: "80" },
      health: undefined
    }))
  }
}

const fakeCloudMap = (w: World) => {
  const discoverRevision = () => Effect.sync(() => w.revision)
  return Layer.succeed(CloudMap, CloudMap.of({
    listNamespaces: Effect.sync(() => [{ id: "ns-apps", name: "apps", httpName: "apps" }]),
    listServices: () => Effect.sync(() => Object.keys(w.counts).map((name) => ({ id: `srv-${name}`, name, createdAt: 1_000 }))),
    discoverInstances: (_ns, service) => Effect.sync(() => answer(service, w)),
    discoverRevision,
    settle: Effect.void,
    getServiceAttributes: () => Effect.succeed({}),
    listOperationsPage: () => Effect.die("the change feed is off here"),
    getOperation: () => Effect.die("the change feed is off here"),
    concurrency: 8,
    discoverRevisions: (services: ReadonlyArray<{ readonly httpName: string; readonly serviceName: string }>) =>
      revisionsOneByOne(discoverRevision)(services)
  }))
}

const truncationWarnings = (logs: ReadonlyArray<string>) =>
  logs.filter((l) => l.includes("the answer may be truncated (Cloud Map's per-service maximum is 1,000)"))

describe("possibly truncated DiscoverInstances answers", () => {
  it("are logged once per service while it stays at 1,000 instances, again when it comes back", async () => {
    const w: World = { counts: { big: 1000, small: 3 }, revision: 1 }
    const logs: Array<string> = []
    const capture = Logger.make(({ message }) => {
      logs.push((Array.isArray(message) ? message : [message]).map((m) => typeof m === "string" ? m : JSON.stringify(m)).join(" "))
    })
    const program = Effect.gen(function*() {
      const reconciler = yield* startReconciler()
      yield* reconciler.round
      expect(truncationWarnings(logs)).toEqual([
        "Cloud Map returned 1000 instances for service apps/big: the answer may be truncated (Cloud Map's per-service maximum is 1,000) " +
        JSON.stringify({ namespace: "apps", service: "big" })
      ])
      // More rounds at the limit, with and without a new revision: no new warning.
      yield* reconciler.round
      w.revision = 2
      yield* reconciler.round
      expect(truncationWarnings(logs)).toHaveLength(1)
      // Below the limit, then back at it: warned again.
      w.counts["big"] = 999
      w.revision = 3
      yield* reconciler.round
      expect(truncationWarnings(logs)).toHaveLength(1)
      w.counts["big"] = 1000
      w.revision = 4
      yield* reconciler.round
      expect(truncationWarnings(logs)).toHaveLength(2)
    })
    await Effect.runPromise(program.pipe(Effect.provide(Layer.mergeAll(fakeCloudMap(w), Logger.layer([capture])))))
  })
})
