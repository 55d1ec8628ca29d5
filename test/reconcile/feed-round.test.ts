/**
 * The change feed's rounds against the mock Cloud Map, through the real SDK (ListOperations,
 * GetOperation), with the mock's clock and the agent's TestClock moved together.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Metric } from "effect"
import { changeFeedActive } from "../../src/observability/metrics.ts"
import { apiId, deregister, noIndex, register, SETTINGS, T0, webId, withFeed } from "../support/feed-session.ts"

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

  /** 250 operations an hour old: three pages before the window's operations. */
  const oldOperations = (client: Parameters<typeof register>[0]) =>
    Effect.gen(function*() {
      for (let i = 0; i < 250; i++) yield* Effect.promise(() => register(client, apiId, `api-old-${i}`))
    })

  it.effect("more pages than CHANGE_FEED_MAX_PAGES: the listing goes on where each round ended; every revision is checked until it caught up", () =>
    withFeed({ ...SETTINGS, maxPages: 1 }, ({ client, control, advance, feed, status }) =>
      Effect.gen(function*() {
        const f = yield* feed
        yield* oldOperations(client)
        yield* advance(3_600_000)
        // The window's walk needs 2 pages: resumed instead of unavailable, this round checks everything.
        expect(yield* f.round(noIndex)).toEqual({ _tag: "Changes", serviceIds: new Set(), checkAll: true })
        expect((yield* status).changeFeed).toMatchObject({ state: "active", resumed: { since: T0 + 3_600_000, caughtUp: false } })
        expect(yield* f.periodSeconds).toBe(2)
        // Catching up, two pages a round (the least a resumed listing reads), every revision checked meanwhile.
        yield* advance(2_000)
        expect(yield* f.round(noIndex)).toEqual({ _tag: "Changes", serviceIds: new Set(), checkAll: true })
        yield* advance(2_000)
        expect(yield* f.round(noIndex)).toEqual({ _tag: "Changes", serviceIds: new Set(), checkAll: false })
        expect((yield* status).changeFeed).toMatchObject({ state: "active", resumed: { caughtUp: true } })
        // Caught up: a registration is named by the next round, from one page (the last one, read again).
        const before = (yield* Effect.promise(() => control("GET", "/_mock/calls"))).json.operations.ListOperations.total
        yield* Effect.promise(() => register(client, webId, "web-9"))
        yield* advance(2_000)
        expect(yield* f.round(noIndex)).toEqual({ _tag: "Changes", serviceIds: new Set([webId]), checkAll: false })
        expect((yield* Effect.promise(() => control("GET", "/_mock/calls"))).json.operations.ListOperations.total).toBe(before + 1)
        yield* advance(2_000)
        expect(yield* f.round(noIndex)).toEqual({ _tag: "Changes", serviceIds: new Set(), checkAll: false })
        expect((yield* status).changeFeed).toMatchObject({ state: "active", misses: 0, lastRound: { pages: 1, operations: 1, new: 0 } })
      })))

  it.effect("a resumed listing follows an unfinished operation its pages have passed (GetOperation), not a foreign service's", () =>
    withFeed({ ...SETTINGS, maxPages: 1, maxOperations: 100 }, ({ client, control, advance, feed }) =>
      Effect.gen(function*() {
        const f = yield* feed
        const foreign = (id: string) => id === apiId
        yield* oldOperations(client)
        yield* advance(3_600_000)
        for (let i = 0; i < 3; i++) {
          yield* f.round(noIndex, foreign)
          yield* advance(2_000)
        }
        yield* Effect.promise(() => register(client, webId, "web-9"))
        expect(yield* f.round(noIndex, foreign)).toEqual({ _tag: "Changes", serviceIds: new Set([webId]), checkAll: false })
        // 60 more operations: the listing's last page moves past web-9's, still SUBMITTED.
        for (let i = 0; i < 60; i++) yield* Effect.promise(() => register(client, apiId, `api-new-${i}`))
        yield* advance(2_000)
        expect(yield* f.round(noIndex, foreign)).toEqual({ _tag: "Changes", serviceIds: new Set([apiId]), checkAll: false })
        yield* advance(2_000)
        expect(yield* f.round(noIndex, foreign)).toEqual({ _tag: "Changes", serviceIds: new Set(), checkAll: false })
        // Every operation ends: web-9's is followed and names web again; the foreign ones behind are not followed.
        const lookups = (yield* Effect.promise(() => control("GET", "/_mock/calls"))).json.operations.GetOperation.total
        yield* advance(20_000)
        expect(yield* f.round(noIndex, foreign)).toEqual({ _tag: "Changes", serviceIds: new Set([webId, apiId]), checkAll: false })
        expect((yield* Effect.promise(() => control("GET", "/_mock/calls"))).json.operations.GetOperation.total).toBe(lookups + 1)
        yield* advance(2_000)
        expect(yield* f.round(noIndex, foreign)).toEqual({ _tag: "Changes", serviceIds: new Set(), checkAll: false })
      }), 20_000))

  it.effect("a resumed listing whose token Cloud Map refuses starts again (checks everything meanwhile); one that never catches up: unavailable (pages)", () =>
    withFeed({ ...SETTINGS, maxPages: 1, retrySeconds: 10 }, ({ client, control, advance, feed, status }) =>
      Effect.gen(function*() {
        const f = yield* feed
        yield* oldOperations(client)
        yield* advance(3_600_000)
        yield* f.round(noIndex)
        yield* advance(2_000)
        expect(yield* f.round(noIndex)).toEqual({ _tag: "Changes", serviceIds: new Set(), checkAll: true })
        yield* Effect.promise(() => control("POST", "/_mock/faults", { kind: "5xx", status: 400, code: "InvalidInput", operation: "ListOperations", times: 1 }))
        yield* advance(2_000)
        expect(yield* f.round(noIndex)).toEqual({ _tag: "Changes", serviceIds: new Set(), checkAll: true })
        expect((yield* status).changeFeed).toMatchObject({ state: "active", resumed: { since: T0 + 3_604_000, caughtUp: false } })
        // 201 operations a round: two pages a round (the least a resumed listing reads) never reach
        // the end; CHANGE_FEED_RETRY later it gives up.
        for (let round = 0; round < 6; round++) {
          for (let i = 0; i < 101; i++) yield* Effect.promise(() => register(client, apiId, `api-${round}-${i}`))
          for (let i = 0; i < 100; i++) yield* Effect.promise(() => deregister(client, apiId, `api-${round}-${i}`))
          yield* advance(2_000)
          yield* f.round(noIndex)
        }
        expect((yield* status).changeFeed).toMatchObject({ state: "unavailable", problem: "pages" })
        expect((yield* status).changeFeed.detail).toContain("CHANGE_FEED_RETRY")
        expect((yield* status).changeFeed.resumed).toBeUndefined()
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
