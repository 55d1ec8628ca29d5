/**
 * The reconciler's rounds against a scripted Cloud Map (the CloudMap service replaced by a fake):
 * cases that only show up over several rounds.
 */
import { Effect, Layer } from "effect"
import { describe, expect, it } from "vitest"
import { CloudMap, CloudMapError } from "../../src/cloudmap/client.ts"
import { appliedOutcome, startReconciler } from "../support/reconciler.ts"

interface World {
  namespaces: Record<string, { id: string; services: Record<string, { id: string; revision: number; instances: Array<string> }> }>
  failing: boolean
}

const boom = () => new CloudMapError({ operation: "DiscoverInstances", code: "Timeout", message: "boom", kind: "transient" })

const fakeCloudMap = (w: World) =>
  Layer.succeed(CloudMap, {
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
    discoverRevision: (namespace: string, service: string) =>
      Effect.suspend(() => (w.failing ? Effect.fail(boom()) : Effect.succeed(w.namespaces[namespace]!.services[service]!.revision)))
  } as unknown as CloudMap["Service"])

const run = <A>(w: World, effect: Effect.Effect<A, never, CloudMap>) => Effect.runPromise(effect.pipe(Effect.provide(fakeCloudMap(w))))

describe("reconciler rounds", () => {
  it("routes a namespace that did not exist at start once it is created", () => {
    const w: World = { namespaces: {}, failing: false }
    return run(w, Effect.gen(function*() {
      const r = yield* startReconciler(appliedOutcome)
      yield* r.round
      w.namespaces["apps"] = { id: "ns-apps", services: { web: { id: "srv-web", revision: 1, instances: ["i-1"] } } }
      yield* r.round
      const s = yield* r.status
      expect(s.applied?.backends.map((b) => b.servers.length)).toEqual([1])
      expect(s.lastSuccessAt).toBeDefined()
    }))
  })

  it("keeps readiness fresh while the namespaces have no services", () => {
    const w: World = { namespaces: { apps: { id: "ns-apps", services: {} } }, failing: false }
    return run(w, Effect.gen(function*() {
      const r = yield* startReconciler(appliedOutcome)
      yield* r.round
      const first = (yield* r.status).lastSuccessAt!
      yield* Effect.sleep(5)
      yield* r.round
      expect((yield* r.status).lastSuccessAt!).toBeGreaterThan(first)
    }))
  })

  it("retries a rejected configuration after rejectedRetryMs even when nothing changes", () => {
    const w: World = { namespaces: { apps: { id: "ns-apps", services: {} } }, failing: false }
    let attempts = 0
    return run(w, Effect.gen(function*() {
      const r = yield* startReconciler(() => {
        attempts += 1
        return { _tag: "Rejected", stage: "start", reason: "test", label: "start", error: "port taken", durationMs: 1 }
      })
      yield* r.round
      yield* Effect.sleep(15)
      yield* r.round
      expect(attempts).toBe(2)
    }))
  })

  it("clears read failures once the service answers again, and does not call a failed round a success", () => {
    const w: World = { namespaces: { apps: { id: "ns-apps", services: { web: { id: "srv-web", revision: 1, instances: ["i-1"] } } } }, failing: false }
    return run(w, Effect.gen(function*() {
      const r = yield* startReconciler(appliedOutcome)
      yield* r.round
      const before = (yield* r.status).lastSuccessAt
      w.failing = true
      yield* Effect.sleep(5)
      yield* r.round
      const failed = yield* r.status
      expect(failed.failures.length).toBe(1)
      expect(failed.lastRefresh?.ok).toBe(false)
      expect(failed.lastSuccessAt).toBe(before)
      expect(failed.applied?.backends[0]?.servers.length).toBe(1)
      w.failing = false
      yield* r.round
      const recovered = yield* r.status
      expect(recovered.failures).toEqual([])
      expect(recovered.lastRefresh?.ok).toBe(true)
    }))
  })
})
