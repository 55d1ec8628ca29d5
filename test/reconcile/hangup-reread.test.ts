/**
 * SIGHUP while a round is in flight: the round in flight must not write its read times over the
 * reset, so the next round re-reads every service (DiscoverInstances), not only their revisions.
 */
import { Deferred, Effect, Fiber, Layer } from "effect"
import { describe, expect, it } from "vitest"
import { CloudMap, revisionsOneByOne } from "../../src/cloudmap/client.ts"
import { startReconciler } from "../support/reconciler.ts"

const SERVICES = ["web", "shop", "api"]

describe("SIGHUP during a round", () => {
  it("the next round re-reads every service even when SIGHUP came while a round was in flight", () =>
    Effect.runPromise(Effect.gen(function*() {
      const calls = { discover: 0 }
      // Set while the round in flight should wait inside Cloud Map (a revision check).
      let gate: Deferred.Deferred<void> | undefined
      const entered = yield* Deferred.make<void>()
      const discoverRevision = (_ns: string, _service: string) =>
        Effect.gen(function*() {
          const held = gate
          if (held !== undefined) {
            yield* Deferred.succeed(entered, undefined)
            yield* Deferred.await(held)
          }
          return 1
        })
      const cloudMap = Layer.succeed(CloudMap, {
        listNamespaces: Effect.succeed([{ id: "ns-apps", name: "apps", httpName: "apps" }]),
        listServices: () => Effect.succeed(SERVICES.map((name) => ({ id: `srv-${name}`, name }))),
        discoverInstances: () =>
          Effect.sync(() => {
            calls.discover++
            return { revision: 1, instances: [{ id: "i-1", attributes: { AWS_INSTANCE_IPV4: "10.0.0.1", AWS_INSTANCE_PORT: "80" }, health: undefined }] }
          }),
        discoverRevision,
        settle: Effect.void,
        getServiceAttributes: () => Effect.succeed({}),
        concurrency: 8,
        discoverRevisions: (services: ReadonlyArray<{ readonly httpName: string; readonly serviceName: string }>) =>
          revisionsOneByOne(discoverRevision)(services)
      } as unknown as CloudMap["Service"])
      yield* Effect.gen(function*() {
        // Every service is re-read at most every hour: later rounds only check revisions.
        const r = yield* startReconciler({ fleet: { refreshSeconds: 3600 } })
        yield* r.round
        expect(calls.discover).toBe(SERVICES.length)
        yield* r.round
        expect(calls.discover).toBe(SERVICES.length)
        // A round in flight, held inside its revision checks; SIGHUP now.
        const release = yield* Deferred.make<void>()
        gate = release
        const inFlight = yield* Effect.forkChild(r.round)
        yield* Deferred.await(entered)
        yield* r.rereadAll
        gate = undefined
        yield* Deferred.succeed(release, undefined)
        yield* Fiber.join(inFlight)
        // The round SIGHUP asked for reads every service again.
        const before = calls.discover
        yield* r.round
        expect(calls.discover - before).toBe(SERVICES.length)
      }).pipe(Effect.provide(cloudMap))
    })))
})
