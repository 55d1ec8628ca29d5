/**
 * Rounds with the change feed, against a fake Cloud Map that counts calls: a round reads the
 * services the feed names and the ones whose sweep read is due, checks no revision, and never
 * sweeps more services than the read rate allows in one period.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { CloudMap, CloudMapError, revisionsOneByOne } from "../../src/cloudmap/client.ts"
import { startReconciler } from "../support/reconciler.ts"

interface World {
  /** Instances by service name. */
  readonly services: Record<string, Array<string>>
  /** Operations ListOperations returns: id → [status, service id (undefined: GetOperation names none)]. */
  readonly operations: Map<string, readonly [string, string | undefined]>
  readonly calls: Record<string, number>
  /** Services whose next read fails (once each). */
  readonly failOnce?: Set<string>
}

const count = (w: World, op: string) => void (w.calls[op] = (w.calls[op] ?? 0) + 1)

const fake = (w: World) => {
  // The revision is the instance count, as DiscoverInstances reports it.
  const discoverRevision = (_ns: string, name: string) => Effect.sync(() => (count(w, "DiscoverInstancesRevision"), w.services[name]?.length))
  return Layer.succeed(CloudMap, CloudMap.of({
    listNamespaces: Effect.sync(() => [{ id: "ns-apps", name: "apps", httpName: "apps" }]),
    listServices: () => Effect.sync(() => (count(w, "ListServices"), Object.keys(w.services).map((name) => ({ id: `srv-${name}`, name, createdAt: 1 })))),
    discoverInstances: (_ns, name) =>
      Effect.suspend(() => {
        count(w, `DiscoverInstances ${name}`)
        if (w.failOnce?.delete(name) === true) {
          return Effect.fail(new CloudMapError({ operation: "DiscoverInstances", code: "InternalFailure", message: "boom", kind: "transient" }))
        }
        return Effect.succeed({
          revision: w.services[name]!.length,
          truncated: false,
          instances: w.services[name]!.map((id) => ({ id, attributes: { AWS_INSTANCE_IPV4: "10.0.0.1", AWS_INSTANCE_PORT: "80" }, health: undefined }))
        })
      }),
    discoverRevision,
    discoverRevisions: (services) => revisionsOneByOne(discoverRevision)(services),
    getServiceAttributes: () => Effect.succeed({}),
    listOperationsPage: () => Effect.sync(() => ({ operations: [...w.operations].map(([id, [status]]) => ({ id, status })), nextToken: undefined })),
    getOperation: (id) =>
      Effect.sync(() => {
        count(w, "GetOperation")
        const [status, serviceId] = w.operations.get(id)!
        return { id, status, serviceId, instanceId: undefined }
      }),
    settle: Effect.void,
    concurrency: 8
  }))
}

const FEED = { periodSeconds: 2, maxPages: 5, maxOperations: 20, retrySeconds: 300 }
const reads = (w: World) => Object.entries(w.calls).filter(([k]) => k.startsWith("DiscoverInstances ")).map(([k, n]) => [k.slice(18), n])

describe("rounds with the change feed", () => {
  it.effect("read only the services the feed names (no revision check), and route the change", () => {
    const w: World = { services: { web: ["web-1"], api: ["api-1"] }, operations: new Map(), calls: {} }
    return Effect.gen(function*() {
      // REFRESH_RATE an hour: no sweep read is due (the first reads are spread over it).
      const r = yield* startReconciler({ changeFeed: FEED, fleet: { refreshSeconds: 3600, revisionPollSeconds: 3.6 } })
      yield* r.round
      Object.assign(w, { calls: {} })
      yield* TestClock.adjust(2_000)
      yield* r.round
      expect(w.calls).toEqual({})
      w.services["web"]!.push("web-2")
      w.operations.set("op-1", ["SUCCESS", "srv-web"])
      yield* TestClock.adjust(2_000)
      yield* r.round
      expect(reads(w)).toEqual([["web", 1]])
      expect(w.calls["GetOperation"]).toBe(1)
      expect(w.calls["DiscoverInstancesRevision"]).toBeUndefined()
      expect((yield* r.latest)?.desired.backends.find((b) => b.service === "web")?.servers.length).toBe(2)
    }).pipe(Effect.provide(fake(w)))
  })

  it.effect("a round that checks every revision (an operation it cannot place) still lists a new service the feed named, and reads it", () => {
    const w: World = { services: { web: ["web-1"], api: ["api-1"] }, operations: new Map(), calls: {} }
    return Effect.gen(function*() {
      const r = yield* startReconciler({ changeFeed: FEED, fleet: { refreshSeconds: 3600, serviceListSeconds: 3600 } })
      yield* r.round
      Object.assign(w, { calls: {} })
      // Another instance of web that GetOperation does not place, and the first instance of a new service.
      w.services["web"]!.push("web-2")
      w.services["shop"] = ["shop-1"]
      w.operations.set("op-1", ["SUCCESS", undefined])
      w.operations.set("op-2", ["SUCCESS", "srv-shop"])
      yield* TestClock.adjust(2_000)
      yield* r.round
      expect(w.calls["ListServices"]).toBe(1)
      expect(w.calls["DiscoverInstancesRevision"]).toBeGreaterThanOrEqual(1)
      const backends = (yield* r.latest)?.desired.backends ?? []
      expect(backends.find((b) => b.service === "shop")?.servers.length).toBe(1)
      expect(backends.find((b) => b.service === "web")?.servers.length).toBe(2)
    }).pipe(Effect.provide(fake(w)))
  })

  it.effect("read a service the feed named again next round when its read failed", () => {
    const w: World = { services: { web: ["web-1"], api: ["api-1"] }, operations: new Map(), calls: {}, failOnce: new Set() }
    return Effect.gen(function*() {
      const r = yield* startReconciler({ changeFeed: FEED, fleet: { refreshSeconds: 3600 } })
      yield* r.round
      w.services["web"]!.push("web-2")
      w.operations.set("op-1", ["SUCCESS", "srv-web"])
      w.failOnce!.add("web")
      yield* TestClock.adjust(2_000)
      yield* r.round
      expect((yield* r.latest)?.desired.backends.find((b) => b.service === "web")?.servers.length).toBe(1)
      Object.assign(w, { calls: {} })
      yield* TestClock.adjust(2_000)
      yield* r.round
      // The operation is not listed as new again, yet the service is read: the change is routed.
      expect(w.calls["GetOperation"]).toBeUndefined()
      expect(reads(w)).toEqual([["web", 1]])
      expect((yield* r.latest)?.desired.backends.find((b) => b.service === "web")?.servers.length).toBe(2)
    }).pipe(Effect.provide(fake(w)))
  })

  it.effect("sweep at most the read rate × the period per round, the longest unread first", () => {
    const services = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`s${i}`, [`s${i}-1`]]))
    const w: World = { services, operations: new Map(), calls: {} }
    return Effect.gen(function*() {
      // REFRESH_RATE 1 s: every service is due every round, but 1 read/s × 2 s allows 2 a round.
      const r = yield* startReconciler({ changeFeed: FEED, fleet: { refreshSeconds: 1, readsPerSecond: 1 } })
      yield* r.round
      const seen = new Set<string>()
      for (let round = 0; round < 5; round++) {
        Object.assign(w, { calls: {} })
        yield* TestClock.adjust(2_000)
        yield* r.round
        const swept = reads(w)
        expect(swept.length).toBe(2)
        for (const [name] of swept) seen.add(name as string)
      }
      // Five rounds of two: every service once.
      expect(seen.size).toBe(10)
    }).pipe(Effect.provide(fake(w)))
  })
})
