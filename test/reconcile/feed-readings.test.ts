/**
 * The change feed against each reading of what AWS does not publish (mock feed readings): Targets
 * without SERVICE, operations gone before GetOperation (retention), UPDATE_DATE in milliseconds,
 * and a feed that lists nothing at all. Whatever the reading, no change is dropped silently.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { graceMs } from "../../src/reconcile/feed-verify.ts"
import { apiId, deregister, noIndex, register, type Session, SETTINGS, webId, withFeed } from "../support/feed-session.ts"

const GRACE = graceMs(SETTINGS.periodSeconds)
/** A read of web finding `revision` and these instances (what the reconciler hands the feed after each read). */
const read = (revision: number, instances: ReadonlyArray<string> = []) => [{
  mapping: { namespace: "apps", domain: "example.test", mode: "host" as const },
  service: {
    _tag: "Ok" as const,
    id: webId,
    name: "web",
    revision,
    instances: instances.map((id) => ({ id, attributes: {}, health: "HEALTHY" as const }))
  }
}]

/** The round's outcomes: these services named; nothing placed, every revision checked. */
const names = (...ids: Array<string>) => ({ _tag: "Changes", serviceIds: new Set(ids), checkAll: false })
const CHECKS_ALL = { _tag: "Changes", serviceIds: new Set(), checkAll: true }
const INSTANCE_ONLY = { operationTargets: "instance", updateDateUnit: "seconds" } as const

/**
 * A change the feed does not list: web read, `register` run, a round that names nothing, web read
 * again with a new revision, the grace waited out. The next round confirms the miss.
 */
const missedChange = (s: Session, register: () => Promise<unknown>) =>
  Effect.gen(function*() {
    const f = yield* s.feed
    yield* f.reads(read(1))
    yield* Effect.promise(register)
    yield* s.advance(2_000)
    expect(yield* f.round(noIndex)).toEqual(names())
    yield* f.reads(read(2))
    yield* s.advance(GRACE)
  })

describe("change feed readings", () => {
  it.effect("Targets with INSTANCE only: placed by the instance index; an instance never read makes the round check every revision", () =>
    withFeed(SETTINGS, ({ client, advance, feed }) =>
      Effect.gen(function*() {
        const f = yield* feed
        yield* Effect.promise(() => register(client, webId, "web-9"))
        // Never read: nothing tells its service.
        expect(yield* f.round(noIndex)).toEqual(CHECKS_ALL)
        yield* Effect.promise(() => register(client, webId, "web-10"))
        yield* advance(2_000)
        const index = (id: string) => (id === "web-10" ? webId : undefined)
        expect(yield* f.round(index)).toEqual(names(webId))
        // The feed's own index: a read of web with web-1, then web-1's deregistration is placed in web.
        yield* f.reads(read(7, ["web-1"]))
        yield* Effect.promise(() => deregister(client, webId, "web-1"))
        yield* advance(2_000)
        expect(yield* f.round()).toEqual(names(webId))
      }), 0, INSTANCE_ONLY))

  it.effect("an unplaced operation's SUBMITTED → SUCCESS is not lost: placed by then, its service is named; else every revision again", () =>
    withFeed(SETTINGS, ({ client, advance, feed }) =>
      Effect.gen(function*() {
        const f = yield* feed
        yield* Effect.promise(() => register(client, webId, "web-9"))
        expect(yield* f.round(noIndex)).toEqual(CHECKS_ALL)
        yield* advance(2_000)
        // PENDING now, and still not placed: every revision again.
        expect(yield* f.round(noIndex)).toEqual(CHECKS_ALL)
        yield* advance(2_000)
        // SUCCESS, and the check read web-9 meanwhile.
        expect(yield* f.round((id) => (id === "web-9" ? webId : undefined))).toEqual(names(webId))
      }), 4_000, INSTANCE_ONLY))

  it.effect("GetOperation answers OperationNotFound (short retention): the round checks every revision", () =>
    withFeed(SETTINGS, ({ client, control, feed }) =>
      Effect.gen(function*() {
        const f = yield* feed
        yield* Effect.promise(() => register(client, webId, "web-9"))
        // Listed, then gone before its lookup.
        yield* Effect.promise(() => control("POST", "/_mock/faults", { kind: "5xx", status: 400, code: "OperationNotFound", operation: "GetOperation" }))
        expect(yield* f.round(noIndex)).toEqual(CHECKS_ALL)
      })))

  it.effect("UPDATE_DATE read in milliseconds: the reads' misses make the feed try milliseconds, keep them and name the missed service", () =>
    withFeed(SETTINGS, (s) =>
      Effect.gen(function*() {
        const { client, advance, feed, status } = s
        const f = yield* feed
        // Sent in seconds, read as milliseconds: a window in 1970, nothing listed.
        yield* missedChange(s, () => register(client, webId, "web-9"))
        expect(yield* f.round(noIndex)).toEqual(names(webId))
        expect((yield* status).changeFeed).toMatchObject({ state: "active", misses: 1, updateDateUnit: "milliseconds" })
        // From now on registrations are named at once.
        yield* Effect.promise(() => register(client, webId, "web-10"))
        yield* advance(2_000)
        expect(yield* f.round(noIndex)).toEqual(names(webId))
      }), 0, { operationTargets: "service", updateDateUnit: "milliseconds" }))

  it.effect("UPDATE_DATE read in milliseconds in a busy account: the missed changes' window holds more pages than a round walks, its first page proves the unit", () =>
    withFeed({ ...SETTINGS, maxPages: 1 }, (s) =>
      Effect.gen(function*() {
        const { client, feed, status } = s
        const f = yield* feed
        // 150 operations since the read: two pages of ListOperations (100 a page), one more than a round walks.
        yield* missedChange(s, () => Promise.all(Array.from({ length: 150 }, (_, i) => register(client, webId, `web-${100 + i}`))))
        expect((yield* f.round(noIndex))._tag).toBe("Changes")
        expect((yield* status).changeFeed).toMatchObject({ state: "active", misses: 1, updateDateUnit: "milliseconds" })
      }), 0, { operationTargets: "service", updateDateUnit: "milliseconds", operationScan: "updateDate" }))

  it.effect("the other unit cannot be told within CHANGE_FEED_MAX_PAGES (pages through the whole history): unavailable, and the detail says so", () =>
    withFeed({ ...SETTINGS, maxPages: 1 }, (s) =>
      Effect.gen(function*() {
        const { client, advance, feed, status } = s
        const f = yield* feed
        // 150 operations a minute before the missed change: the first page of the history holds none of the window's.
        yield* Effect.promise(() => Promise.all(Array.from({ length: 150 }, (_, i) => register(client, apiId, `api-${100 + i}`))))
        yield* advance(60_000)
        // The history has more pages than a round walks: the listing resumes from its last page.
        expect(yield* f.round(noIndex)).toEqual(CHECKS_ALL)
        yield* advance(2_000)
        expect(yield* f.round(noIndex)).toEqual(names())
        yield* missedChange(s, () => register(client, webId, "web-9"))
        expect(yield* f.round(noIndex)).toEqual({ _tag: "Polling" })
        const feedStatus = (yield* status).changeFeed
        expect(feedStatus).toMatchObject({ state: "unavailable", problem: "misses", updateDateUnit: "seconds" })
        expect(feedStatus.detail).toContain("UPDATE_DATE in milliseconds could not be tried: the window had more than 1 pages (CHANGE_FEED_MAX_PAGES)")
      }), 0, { operationTargets: "service", updateDateUnit: "milliseconds" }))

  it.effect("a feed that lists nothing in either unit while the reads find changes: unavailable (misses), polling, retried later", () =>
    withFeed({ ...SETTINGS, retrySeconds: 60 }, (s) =>
      Effect.gen(function*() {
        const { client, control, advance, feed, status } = s
        const f = yield* feed
        // Operations are gone at once: ListOperations never lists them, whatever the unit.
        yield* Effect.promise(() => control("POST", "/_mock/options", { operationRetentionMs: 0 }))
        yield* missedChange(s, () => register(client, webId, "web-9"))
        expect(yield* f.round(noIndex)).toEqual({ _tag: "Polling" })
        const feedStatus = (yield* status).changeFeed
        expect(feedStatus).toMatchObject({ state: "unavailable", problem: "misses", misses: 1, updateDateUnit: "seconds" })
        expect(feedStatus.detail).toContain("web")
        expect(feedStatus.detail).toContain("UPDATE_DATE in milliseconds lists none of them either")
        expect(yield* f.periodSeconds).toBeUndefined()
        yield* advance(60_000)
        expect((yield* f.round(noIndex))._tag).toBe("Changes")
        expect((yield* status).changeFeed.state).toBe("active")
      })))
})
