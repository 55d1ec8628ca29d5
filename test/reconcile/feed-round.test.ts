/**
 * The change feed's rounds against the mock Cloud Map, through the real SDK (ListOperations,
 * GetOperation), with the mock's clock and the agent's TestClock moved together.
 */
import { DeregisterInstanceCommand, RegisterInstanceCommand, type ServiceDiscoveryClient } from "@aws-sdk/client-servicediscovery"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Metric, Ref } from "effect"
import { TestClock } from "effect/testing"
import { CloudMap } from "../../src/cloudmap/client.ts"
import { demoFixture } from "../../src/mock/fixture.ts"
import { namespaceIdFor, serviceIdFor } from "../../src/mock/state-model.ts"
import { changeFeedActive } from "../../src/observability/metrics.ts"
import type { FeedSettings } from "../../src/reconcile/change-feed.ts"
import { makeChangeFeed } from "../../src/reconcile/feed-round.ts"
import { initialStatus, type Status } from "../../src/reconcile/status.ts"
import { startMockCloudMap } from "../../src/mock/server.ts"
import { sdkClient } from "../mock/helpers.ts"
import { testClientOptions } from "../support/cloudmap-client.ts"

process.env.AWS_ACCESS_KEY_ID = "test"
process.env.AWS_SECRET_ACCESS_KEY = "test"

const T0 = 1_700_000_000_000
const nsId = namespaceIdFor("apps")
const webId = serviceIdFor(nsId, "web")
const apiId = serviceIdFor(nsId, "api")
const SETTINGS: FeedSettings = { periodSeconds: 2, maxPages: 5, maxOperations: 20, retrySeconds: 300 }

const register = (client: ServiceDiscoveryClient, ServiceId: string, InstanceId: string) =>
  client.send(new RegisterInstanceCommand({ ServiceId, InstanceId, Attributes: { AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: "9100" } }))
const deregister = (client: ServiceDiscoveryClient, ServiceId: string, InstanceId: string) =>
  client.send(new DeregisterInstanceCommand({ ServiceId, InstanceId }))

/** No instance was read: operations are placed by GetOperation's Targets alone. */
const noIndex = (_instanceId: string): string | undefined => undefined

interface Session {
  readonly client: ServiceDiscoveryClient
  readonly control: (method: string, path: string, body?: unknown) => Promise<{ status: number; json: any }>
  /** Moves the mock's clock and the agent's TestClock together. */
  readonly advance: (ms: number) => Effect.Effect<void>
  readonly feed: Effect.Effect<Effect.Success<ReturnType<typeof makeChangeFeed>>>
  readonly status: Effect.Effect<Status>
}

/** A mock (its clock at T0, operations SUCCESS after `operationDelayMs`) and a change feed talking to it. */
const withFeed = <A>(settings: FeedSettings, f: (s: Session) => Effect.Effect<A, never, CloudMap>, operationDelayMs = 0) =>
  Effect.gen(function*() {
    let now = T0
    yield* TestClock.setTime(T0)
    const mock = yield* Effect.acquireRelease(
      Effect.promise(() => startMockCloudMap({ port: 0, fixture: demoFixture, clock: () => now, operationDelayMs })),
      (m) => Effect.promise(() => m.close())
    )
    const client = yield* Effect.acquireRelease(Effect.sync(() => sdkClient(mock.url, { maxAttempts: 1 })), (c) => Effect.sync(() => c.destroy()))
    const control = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(mock.url + path, {
        method,
        ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } })
      })
      return { status: res.status, json: await res.json() }
    }
    const status = yield* Ref.make(initialStatus("test", T0))
    return yield* Effect.gen(function*() {
      const feed = yield* makeChangeFeed(settings, (g) => Ref.update(status, g))
      return yield* f({
        client,
        control,
        advance: (ms) => Effect.andThen(Effect.sync(() => void (now += ms)), TestClock.adjust(ms)),
        feed: Effect.succeed(feed),
        status: Ref.get(status)
      })
    }).pipe(Effect.provide(CloudMap.layer(testClientOptions(mock.url, { maxAttempts: 1 }))))
  })

describe("change feed rounds against the mock", () => {
  it.effect("names the service of each new registration and deregistration once, then nothing", () =>
    withFeed(SETTINGS, ({ client, advance, feed }) =>
      Effect.gen(function*() {
        const f = yield* feed
        expect(yield* f.round(noIndex)).toEqual({ _tag: "Changes", serviceIds: new Set(), checkAll: false })
        yield* Effect.promise(() => register(client, webId, "web-9"))
        yield* Effect.promise(() => deregister(client, apiId, "api-1"))
        yield* advance(2_000)
        expect(yield* f.round(noIndex)).toEqual({ _tag: "Changes", serviceIds: new Set([webId, apiId]), checkAll: false })
        // The next windows overlap: the same operations are listed again, and counted no more.
        yield* advance(2_000)
        expect(yield* f.round(noIndex)).toEqual({ _tag: "Changes", serviceIds: new Set(), checkAll: false })
      })))

  it.effect("looks at an unfinished operation again when it ends (SUBMITTED → SUCCESS)", () =>
    withFeed(SETTINGS, ({ client, advance, feed }) =>
      Effect.gen(function*() {
        const f = yield* feed
        yield* Effect.promise(() => register(client, webId, "web-9"))
        expect(yield* f.round(noIndex)).toEqual({ _tag: "Changes", serviceIds: new Set([webId]), checkAll: false })
        yield* advance(2_000)
        expect(yield* f.round(noIndex)).toEqual({ _tag: "Changes", serviceIds: new Set(), checkAll: false })
        // PENDING from half the delay on, SUCCESS after it: each change names the service again.
        yield* advance(2_000)
        expect(yield* f.round(noIndex)).toEqual({ _tag: "Changes", serviceIds: new Set([webId]), checkAll: false })
        yield* advance(4_000)
        expect(yield* f.round(noIndex)).toEqual({ _tag: "Changes", serviceIds: new Set([webId]), checkAll: false })
        yield* advance(2_000)
        expect(yield* f.round(noIndex)).toEqual({ _tag: "Changes", serviceIds: new Set(), checkAll: false })
      }), 8_000))

  it.effect("looks up CHANGE_FEED_MAX_OPERATIONS new operations a round, the others the next round (no check of every revision)", () =>
    withFeed({ ...SETTINGS, maxOperations: 2 }, ({ client, control, advance, feed }) =>
      Effect.gen(function*() {
        const f = yield* feed
        yield* Effect.promise(() => register(client, webId, "web-a"))
        yield* Effect.promise(() => register(client, webId, "web-b"))
        yield* Effect.promise(() => register(client, apiId, "api-c"))
        expect(yield* f.round(noIndex)).toEqual({ _tag: "Changes", serviceIds: new Set([webId]), checkAll: false })
        expect((yield* Effect.promise(() => control("GET", "/_mock/calls"))).json.operations.GetOperation.total).toBe(2)
        yield* advance(2_000)
        expect(yield* f.round(noIndex)).toEqual({ _tag: "Changes", serviceIds: new Set([apiId]), checkAll: false })
        yield* advance(2_000)
        expect(yield* f.round(noIndex)).toEqual({ _tag: "Changes", serviceIds: new Set(), checkAll: false })
      })))

  it.effect("a backlog of more than three rounds' lookups: this round checks every revision, nothing looked up", () =>
    withFeed({ ...SETTINGS, maxOperations: 1 }, ({ client, control, feed }) =>
      Effect.gen(function*() {
        const f = yield* feed
        for (const id of ["a", "b", "c", "d"]) yield* Effect.promise(() => register(client, webId, `web-${id}`))
        expect(yield* f.round(noIndex)).toEqual({ _tag: "Changes", serviceIds: new Set(), checkAll: true })
        expect((yield* Effect.promise(() => control("GET", "/_mock/calls"))).json.operations.GetOperation).toBeUndefined()
      })))

  it.effect("follows NextToken through empty pages (Cloud Map pages before it filters)", () =>
    withFeed(SETTINGS, ({ client, advance, feed, status }) =>
      Effect.gen(function*() {
        const f = yield* feed
        // 150 operations an hour old: the first page holds 100 of them and nothing in the window.
        for (let i = 0; i < 150; i++) yield* Effect.promise(() => register(client, apiId, `api-old-${i}`))
        yield* advance(3_600_000)
        yield* Effect.promise(() => register(client, webId, "web-9"))
        expect(yield* f.round(noIndex)).toEqual({ _tag: "Changes", serviceIds: new Set([webId]), checkAll: false })
        expect((yield* status).changeFeed).toMatchObject({ state: "active", lastRound: { pages: 2, operations: 1, new: 1, services: 1 } })
      })))

  it.effect("more pages than CHANGE_FEED_MAX_PAGES: unavailable, said once, revision polling until the retry", () =>
    withFeed({ ...SETTINGS, maxPages: 1 }, ({ client, advance, feed, status }) =>
      Effect.gen(function*() {
        const f = yield* feed
        for (let i = 0; i < 101; i++) yield* Effect.promise(() => register(client, apiId, `api-${i}`))
        expect(yield* f.round(noIndex)).toEqual({ _tag: "Polling" })
        expect((yield* status).changeFeed).toMatchObject({ state: "unavailable", problem: "pages", since: T0, retryAt: T0 + 300_000 })
        expect(yield* f.periodSeconds).toBeUndefined()
        expect((yield* Metric.value(changeFeedActive))).toMatchObject({ value: 0 })
        // Not asked again before the retry.
        yield* advance(299_000)
        expect(yield* f.round(noIndex)).toEqual({ _tag: "Polling" })
        yield* advance(1_000)
        expect(yield* f.round(noIndex)).toEqual({ _tag: "Polling" })
        expect((yield* status).changeFeed).toMatchObject({ state: "unavailable", since: T0, retryAt: T0 + 600_000 })
      })))

  it.effect("denied (IAM) or throttled: unavailable at once; available again when a retry succeeds", () =>
    withFeed({ ...SETTINGS, retrySeconds: 10 }, ({ control, advance, feed, status }) =>
      Effect.gen(function*() {
        const f = yield* feed
        yield* Effect.promise(() => control("POST", "/_mock/faults", { kind: "accessDenied", operation: "ListOperations", times: 1 }))
        expect(yield* f.round(noIndex)).toEqual({ _tag: "Polling" })
        const denied = (yield* status).changeFeed
        expect(denied).toMatchObject({ state: "unavailable", problem: "denied" })
        expect(denied.detail).toContain("servicediscovery:ListOperations")
        yield* advance(10_000)
        expect(yield* f.round(noIndex)).toEqual({ _tag: "Changes", serviceIds: new Set(), checkAll: false })
        expect((yield* status).changeFeed.state).toBe("active")
        yield* Effect.promise(() => control("POST", "/_mock/faults", { kind: "throttle", operation: "ListOperations", times: 1 }))
        expect(yield* f.round(noIndex)).toEqual({ _tag: "Polling" })
        expect((yield* status).changeFeed).toMatchObject({ state: "unavailable", problem: "throttled" })
      })))

  it.effect("GetOperation denied: this round checks every revision, then revision polling", () =>
    withFeed(SETTINGS, ({ client, control, feed, status }) =>
      Effect.gen(function*() {
        const f = yield* feed
        yield* Effect.promise(() => register(client, webId, "web-9"))
        yield* Effect.promise(() => control("POST", "/_mock/faults", { kind: "accessDenied", operation: "GetOperation" }))
        expect(yield* f.round(noIndex)).toEqual({ _tag: "Changes", serviceIds: new Set(), checkAll: true })
        expect((yield* status).changeFeed).toMatchObject({ state: "unavailable", problem: "denied" })
        expect(yield* f.round(noIndex)).toEqual({ _tag: "Polling" })
      })))

  it.effect("a transient failure misses one round (the next window covers it); three in a row: unavailable", () =>
    withFeed(SETTINGS, ({ client, control, advance, feed, status }) =>
      Effect.gen(function*() {
        const f = yield* feed
        yield* Effect.promise(() => control("POST", "/_mock/faults", { kind: "5xx", operation: "ListOperations", times: 2 }))
        yield* Effect.promise(() => register(client, webId, "web-9"))
        expect(yield* f.round(noIndex)).toEqual({ _tag: "Missed" })
        yield* advance(2_000)
        expect(yield* f.round(noIndex)).toEqual({ _tag: "Missed" })
        yield* advance(2_000)
        expect(yield* f.round(noIndex)).toEqual({ _tag: "Changes", serviceIds: new Set([webId]), checkAll: false })
        yield* Effect.promise(() => control("POST", "/_mock/faults", { kind: "5xx", operation: "ListOperations", times: 3 }))
        for (const expected of ["Missed", "Missed", "Polling"]) {
          yield* advance(2_000)
          expect((yield* f.round(noIndex))._tag).toBe(expected)
        }
        expect((yield* status).changeFeed).toMatchObject({ state: "unavailable", problem: "failing" })
      })))
})
