/**
 * While Cloud Map throttles the agent (the activity window: cloudmap/activity.ts), a change-feed
 * round reads only what the feed names: the sweep and the attribute re-reads wait (they stay due),
 * so a round keeps the feed's cadence instead of waiting for throttled reads at a lowered rate.
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { CloudMapActivity, makeCallWindow } from "../../src/cloudmap/activity.ts"
import { CloudMap, CloudMapError, revisionsOneByOne } from "../../src/cloudmap/client.ts"
import { startReconciler } from "../support/reconciler.ts"

const FEED = { periodSeconds: 2, maxPages: 5, maxOperations: 20, retrySeconds: 300 }

describe("rounds while Cloud Map throttles the agent", () => {
  it.effect("the sweep waits; what the feed names is still read; the sweep resumes after the storm", () => {
    const services: Record<string, Array<string>> = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`s${i}`, [`s${i}-1`]]))
    const operations = new Map<string, string>()
    const calls: Array<string> = []
    const activity = makeCallWindow()
    const discoverRevision = () => Effect.succeed(1)
    const cloudMap = Layer.succeed(CloudMap, CloudMap.of({
      listNamespaces: Effect.succeed([{ id: "ns-apps", name: "apps", httpName: "apps" }]),
      listServices: () => Effect.sync(() => Object.keys(services).map((name) => ({ id: `srv-${name}`, name, createdAt: 1 }))),
      discoverInstances: (_ns, name) =>
        Effect.sync(() => {
          calls.push(name)
          return {
            revision: services[name]!.length,
            truncated: false,
            instances: services[name]!.map((id) => ({ id, attributes: { AWS_INSTANCE_IPV4: "10.0.0.1", AWS_INSTANCE_PORT: "80" }, health: undefined }))
          }
        }),
      discoverRevision,
      discoverRevisions: (s) => revisionsOneByOne(discoverRevision)(s),
      getServiceAttributes: () => Effect.sync(() => (calls.push("attributes"), {})),
      listOperationsPage: () => Effect.sync(() => ({ operations: [...operations.keys()].map((id) => ({ id, status: "SUCCESS" })), nextToken: undefined })),
      getOperation: (id) => Effect.succeed({ id, status: "SUCCESS", serviceId: operations.get(id), instanceId: undefined }),
      settle: Effect.void,
      concurrency: 8
    }))
    const throttled = (n: number) => Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => activity.record("throttled", n, now)))
    return Effect.gen(function*() {
      // Every service due every round; 1 read/s × 2 s: 2 sweep reads a round; attributes every 5 s.
      const r = yield* startReconciler({ changeFeed: FEED, fleet: { refreshSeconds: 1, readsPerSecond: 1, serviceAttributesSeconds: 5 } })
      yield* r.round
      yield* TestClock.adjust(2_000)
      calls.length = 0
      yield* r.round
      expect(calls.filter((c) => c !== "attributes").length).toBe(2)

      // The storm: the calls of the last seconds were throttled.
      for (let round = 0; round < 3; round++) {
        yield* TestClock.adjust(2_000)
        yield* throttled(5)
        calls.length = 0
        yield* r.round
        expect(calls, `round ${round} of the storm`).toEqual([])
      }
      // A change the feed names is read at once, storm or not.
      services["s3"]!.push("s3-2")
      operations.set("op-1", "srv-s3")
      yield* TestClock.adjust(2_000)
      yield* throttled(5)
      calls.length = 0
      yield* r.round
      expect(calls).toEqual(["s3"])
      expect((yield* r.latest)?.desired.backends.find((b) => b.service === "s3")?.servers.length).toBe(2)

      // 10 s later the window is clear: the sweep (and the attribute re-reads) resume.
      yield* TestClock.adjust(12_000)
      calls.length = 0
      yield* r.round
      expect(calls.filter((c) => c !== "attributes").length).toBe(2)
      expect(calls.filter((c) => c === "attributes").length).toBeGreaterThan(0)
    }).pipe(Effect.provide(Layer.merge(cloudMap, Layer.succeed(CloudMapActivity, activity))))
  })

  it.effect("revision polling (CHANGE_FEED=false): no read is forced by its age; revision checks still find changes", () => {
    const revisions: Record<string, number> = { web: 1, api: 1 }
    const calls: Array<string> = []
    const activity = makeCallWindow()
    const discoverRevision = (_ns: string, name: string) => Effect.sync(() => (calls.push(`revision ${name}`), revisions[name]!))
    const cloudMap = Layer.succeed(CloudMap, CloudMap.of({
      listNamespaces: Effect.succeed([{ id: "ns-apps", name: "apps", httpName: "apps" }]),
      listServices: () => Effect.succeed(Object.keys(revisions).map((name) => ({ id: `srv-${name}`, name, createdAt: 1 }))),
      discoverInstances: (_ns, name) =>
        Effect.sync(() => {
          calls.push(`read ${name}`)
          return { revision: revisions[name]!, truncated: false, instances: [{ id: `${name}-${revisions[name]}`, attributes: { AWS_INSTANCE_IPV4: "10.0.0.1", AWS_INSTANCE_PORT: "80" }, health: undefined }] }
        }),
      discoverRevision,
      discoverRevisions: (s) => revisionsOneByOne(discoverRevision)(s),
      getServiceAttributes: () => Effect.succeed({}),
      listOperationsPage: () => Effect.die("no feed"),
      getOperation: () => Effect.die("no feed"),
      settle: Effect.void,
      concurrency: 8
    }))
    return Effect.gen(function*() {
      // REFRESH_RATE 1 s: every service's read is due every round.
      const r = yield* startReconciler({ fleet: { refreshSeconds: 1 } })
      yield* r.round
      yield* TestClock.adjust(2_000)
      calls.length = 0
      yield* r.round
      expect(calls.sort()).toEqual(["read api", "read web"])
      yield* TestClock.adjust(2_000)
      yield* Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => activity.record("throttled", 5, now)))
      revisions["web"] = 2
      calls.length = 0
      yield* r.round
      expect(calls.sort()).toEqual(["read web", "revision api", "revision web"])
    }).pipe(Effect.provide(Layer.merge(cloudMap, Layer.succeed(CloudMapActivity, activity))))
  })

  it.effect("a namespace whose ListServices is throttled keeps its known services in the round's checks", () => {
    const revisions: Record<string, number> = { web: 1, api: 1 }
    const calls: Array<string> = []
    let listingThrottled = false
    const discoverRevision = (_ns: string, name: string) => Effect.sync(() => (calls.push(`revision ${name}`), revisions[name]!))
    const cloudMap = Layer.succeed(CloudMap, CloudMap.of({
      listNamespaces: Effect.succeed([{ id: "ns-apps", name: "apps", httpName: "apps" }]),
      listServices: () =>
        listingThrottled
          ? Effect.fail(new CloudMapError({ operation: "ListServices", code: "RequestLimitExceeded", message: "Cloud Map throttled ListServices", kind: "throttled" }))
          : Effect.succeed(Object.keys(revisions).map((name) => ({ id: `srv-${name}`, name, createdAt: 1 }))),
      discoverInstances: (_ns, name) =>
        Effect.sync(() => {
          calls.push(`read ${name}`)
          return { revision: revisions[name]!, truncated: false, instances: [{ id: `${name}-${revisions[name]}`, attributes: { AWS_INSTANCE_IPV4: "10.0.0.1", AWS_INSTANCE_PORT: "80" }, health: undefined }] }
        }),
      discoverRevision,
      discoverRevisions: (s) => revisionsOneByOne(discoverRevision)(s),
      getServiceAttributes: () => Effect.succeed({}),
      listOperationsPage: () => Effect.die("no feed"),
      getOperation: () => Effect.die("no feed"),
      settle: Effect.void,
      concurrency: 8
    }))
    return Effect.gen(function*() {
      // Revision polling, REFRESH_RATE an hour (only revisions are checked), listing every round.
      const r = yield* startReconciler({ fleet: { refreshSeconds: 3600 } })
      yield* r.round
      listingThrottled = true
      revisions["web"] = 2
      yield* TestClock.adjust(2_000)
      calls.length = 0
      yield* r.round
      expect(calls.sort()).toEqual(["read web", "revision api", "revision web"])
      expect((yield* r.latest)?.desired.backends.find((b) => b.service === "web")?.servers[0]?.name).toContain("web-2")
      // Still reported: the namespace's services could not be listed.
      expect((yield* r.status).namespaces[0]).toMatchObject({ namespace: "apps", found: false, error: expect.stringContaining("throttled ListServices") })
      listingThrottled = false
      yield* TestClock.adjust(2_000)
      yield* r.round
      expect((yield* r.status).namespaces[0]).toMatchObject({ namespace: "apps", found: true })
    }).pipe(Effect.provide(cloudMap))
  })
})
