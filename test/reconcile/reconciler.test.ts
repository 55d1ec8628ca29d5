/**
 * The reconciler's rounds against a scripted Cloud Map (the CloudMap service replaced by a fake):
 * cases that only show up over several rounds.
 */
import { Effect, Layer } from "effect"
import { describe, expect, it } from "vitest"
import { CloudMap, CloudMapError, revisionsOneByOne } from "../../src/cloudmap/client.ts"
import { startReconciler } from "../support/reconciler.ts"

interface World {
  namespaces: Record<string, { id: string; services: Record<string, { id: string; revision: number; instances: Array<string> }> }>
  failing: boolean
  /** Service attributes by service id (GetServiceAttributes); none: {}. */
  attributes?: Record<string, Record<string, string>>
}

const boom = () => new CloudMapError({ operation: "DiscoverInstances", code: "Timeout", message: "boom", kind: "transient" })

const fakeCloudMap = (w: World) => {
  const discoverRevision = (namespace: string, service: string) =>
    Effect.suspend(() => (w.failing ? Effect.fail(boom()) : Effect.succeed(w.namespaces[namespace]!.services[service]!.revision)))
  return Layer.succeed(CloudMap, {
    listNamespaces: Effect.sync(() => Object.entries(w.namespaces).map(([name, n]) => ({ id: n.id, name, httpName: name }))),
    listServices: (namespaceId: string) =>
      Effect.sync(() =>
        Object.entries(Object.values(w.namespaces).find((n) => n.id === namespaceId)!.services).map(([name, s]) => ({ id: s.id, name }))
      ),
    discoverInstances: (namespace: string, service: string) =>
      Effect.suspend(() => {
        if (w.failing) return Effect.fail(boom())
        const s = w.namespaces[namespace]!.services[service]!
        return Effect.succeed({
          revision: s.revision,
          instances: s.instances.map((id) => ({ id, attributes: { AWS_INSTANCE_IPV4: "10.0.0.1", AWS_INSTANCE_PORT: "80" }, health: undefined }))
        })
      }),
    discoverRevision,
    settle: Effect.void,
    getServiceAttributes: (id: string) => Effect.sync(() => ({ ...w.attributes?.[id] })),
    concurrency: 8,
    discoverRevisions: (services: ReadonlyArray<{ readonly httpName: string; readonly serviceName: string }>) =>
      revisionsOneByOne(discoverRevision)(services)
  } as unknown as CloudMap["Service"])
}

const run = <A>(w: World, effect: Effect.Effect<A, never, CloudMap>) => Effect.runPromise(effect.pipe(Effect.provide(fakeCloudMap(w))))

describe("reconciler rounds", () => {
  it("routes a namespace that did not exist at start once it is created", () => {
    const w: World = { namespaces: {}, failing: false }
    return run(w, Effect.gen(function*() {
      const r = yield* startReconciler()
      yield* r.round
      w.namespaces["apps"] = { id: "ns-apps", services: { web: { id: "srv-web", revision: 1, instances: ["i-1"] } } }
      yield* r.round
      expect((yield* r.latest)?.desired.backends.map((b) => b.servers.length)).toEqual([1])
      expect((yield* r.latest)?.complete).toBe(true)
      expect((yield* r.status).lastSuccessAt).toBeDefined()
    }))
  })

  it("keeps readiness fresh while the namespaces have no services", () => {
    const w: World = { namespaces: { apps: { id: "ns-apps", services: {} } }, failing: false }
    return run(w, Effect.gen(function*() {
      const r = yield* startReconciler()
      yield* r.round
      const first = (yield* r.status).lastSuccessAt!
      yield* Effect.sleep(5)
      yield* r.round
      expect((yield* r.status).lastSuccessAt!).toBeGreaterThan(first)
    }))
  })

  it("service attributes: a new service is routed with its options from its first round; a change is planned in the round that re-reads it", () => {
    const w: World = {
      namespaces: { apps: { id: "ns-apps", services: { web: { id: "srv-web", revision: 1, instances: ["i-1"] } } } },
      failing: false,
      attributes: { "srv-web": { "haproxy.balance": "leastconn" } }
    }
    return run(w, Effect.gen(function*() {
      const r = yield* startReconciler({ fleet: { serviceAttributesSeconds: 0.001 } })
      yield* r.round
      expect((yield* r.published).map((p) => p.desired.backends[0]?.options.balance)).toEqual(["leastconn"])
      // A service listed later gets its attributes before it is first published.
      w.namespaces["apps"]!.services["api"] = { id: "srv-api", revision: 1, instances: ["a-1"] }
      w.attributes!["srv-api"] = { "haproxy.maxconn": "7" }
      yield* r.round
      const withApi = (yield* r.published).at(-1)!.desired
      expect(withApi.backends.map((b) => [b.service, b.options.maxconn])).toEqual([["api", 7], ["web", undefined]])
      // A changed attribute of a known service: planned in the next round, once.
      w.attributes!["srv-web"] = { "haproxy.balance": "source" }
      const before = (yield* r.published).length
      yield* r.round
      yield* r.round
      const after = yield* r.published
      expect(after.length).toBe(before + 1)
      expect(after.at(-1)!.desired.backends.find((b) => b.service === "web")?.options.balance).toBe("source")
    }))
  })

  it("publishes a desired state only when it changes: the apply loop retries what it could not apply", () => {
    const w: World = { namespaces: { apps: { id: "ns-apps", services: { web: { id: "srv-web", revision: 1, instances: ["i-1"] } } } }, failing: false }
    return run(w, Effect.gen(function*() {
      const r = yield* startReconciler()
      yield* r.round
      yield* r.round
      yield* r.round
      expect((yield* r.published).length).toBe(1)
      w.namespaces["apps"]!.services["web"]!.instances.push("i-2")
      w.namespaces["apps"]!.services["web"]!.revision = 2
      yield* r.round
      expect((yield* r.published).map((p) => p.desired.backends[0]?.servers.length)).toEqual([1, 2])
    }))
  })

  it("anti-flap: a mass removal is applied in steps over the following rounds, and reported while held back", () => {
    const w: World = {
      namespaces: { apps: { id: "ns-apps", services: { web: { id: "srv-web", revision: 1, instances: ["i-1", "i-2", "i-3", "i-4"] } } } },
      failing: false
    }
    return run(w, Effect.gen(function*() {
      const r = yield* startReconciler({ maxRemovalPercent: 50 })
      yield* r.round
      w.namespaces["apps"]!.services["web"]!.instances = []
      w.namespaces["apps"]!.services["web"]!.revision = 2
      const steps: Array<number> = []
      const held: Array<number> = []
      for (let i = 0; i < 4; i++) {
        yield* r.round
        steps.push((yield* r.latest)?.desired.backends[0]?.servers.length ?? -1)
        held.push((yield* r.status).suppressed.reduce((n, x) => n + x.held, 0))
      }
      expect(steps).toEqual([2, 1, 0, 0])
      expect(held).toEqual([2, 1, 0, 0])
      // One published state per step, none once nothing changes.
      expect((yield* r.published).map((p) => p.desired.backends[0]?.servers.length)).toEqual([4, 2, 1, 0])
    }))
  })

  it("reports how often each service is really checked, and settings that cannot be met for the fleet", () => {
    const services = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`s${i}`, { id: `srv-${i}`, revision: 1, instances: [`i-${i}`] }]))
    const w: World = { namespaces: { apps: { id: "ns-apps", services } }, failing: false }
    return run(w, Effect.gen(function*() {
      const r = yield* startReconciler({ fleet: { revisionPollSeconds: 1, requestsPerSecond: 10 } })
      yield* r.round
      yield* r.round
      const polling = (yield* r.status).polling
      expect(polling?.services).toBe(30)
      expect(polling?.problems).toEqual([
        "REVISION_POLL_RATE=1 cannot be met for 30 services at CLOUDMAP_RATE_LIMIT=10: each service is checked every 3 s. " +
        "Raise CLOUDMAP_RATE_LIMIT to 30 (within the account's DiscoverInstancesRevision quota, shared by every replica) or set REVISION_POLL_RATE=3"
      ])
    }))
  })

  it("clears read failures once the service answers again, and does not call a failed round a success", () => {
    const w: World = { namespaces: { apps: { id: "ns-apps", services: { web: { id: "srv-web", revision: 1, instances: ["i-1"] } } } }, failing: false }
    return run(w, Effect.gen(function*() {
      const r = yield* startReconciler()
      yield* r.round
      const before = (yield* r.status).lastSuccessAt
      w.failing = true
      yield* Effect.sleep(5)
      yield* r.round
      const failed = yield* r.status
      expect(failed.failures.length).toBe(1)
      expect(failed.lastRefresh?.ok).toBe(false)
      expect(failed.lastSuccessAt).toBe(before)
      expect((yield* r.latest)?.desired.backends[0]?.servers.length).toBe(1)
      w.failing = false
      yield* r.round
      const recovered = yield* r.status
      expect(recovered.failures).toEqual([])
      expect(recovered.lastRefresh?.ok).toBe(true)
    }))
  })
})
