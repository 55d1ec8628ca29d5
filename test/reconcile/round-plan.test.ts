/** What a polling round reads (src/reconcile/round-plan.ts): pure, from the feed's answer, the read times and the cadence. */
import { describe, expect, it } from "vitest"
import type { Topology } from "../../src/cloudmap/discovery.ts"
import { THROTTLED_LATELY_MS } from "../../src/cloudmap/activity.ts"
import { cadenceOf } from "../../src/reconcile/cadence.ts"
import { forgetReads, initialRoundState } from "../../src/reconcile/round-context.ts"
import type { KnownService } from "../../src/reconcile/check-chunk.ts"
import type { FeedOutcome } from "../../src/reconcile/feed-round.ts"
import type { FleetSettings } from "../../src/reconcile/fleet-fit.ts"
import {
  FOREIGN_MS,
  foreignAfterListing,
  type ListingInput,
  planListing,
  planReads,
  planRound,
  type ReadInput,
  readTimesAfter,
  type RoundInput,
  spreadsReads
} from "../../src/reconcile/round-plan.ts"
import { serviceKey } from "../../src/reconcile/snapshot-update.ts"
import type { ActivitySummary } from "../../src/status/status.ts"

const mapping = { namespace: "apps", domain: "example.com", mode: "host" } as const
const known: ReadonlyArray<KnownService> = Array.from({ length: 10 }, (_, i) => ({
  mapping,
  namespace: { id: "ns-1", name: "apps", httpName: "apps" },
  service: { id: `srv-${i}`, name: `svc-${i}`, createdAt: undefined }
}))
const key = (i: number) => serviceKey(mapping, `srv-${i}`)
const NOW = 100_000
// Feed every 2 s, REFRESH_RATE 30 s: a read is due once it is 27.9 s old.
const cadence = cadenceOf(known.length, { revisionPollSeconds: 3.6, revisionCheckBudget: 1500, refreshSeconds: 30, serviceListSeconds: 10 }, 2)
/** Every service read 1 s ago, but those listed in `old` (read `age` ms ago). */
const readAt = (old: ReadonlyArray<number>, age = 60_000) => new Map(known.map((_, i) => [key(i), NOW - (old.includes(i) ? age + i : 1000)]))

const input = (over: Partial<RoundInput>): RoundInput => ({
  known,
  named: new Set(),
  checkEvery: false,
  throttled: false,
  readAt: readAt([]),
  now: NOW,
  cadence,
  readsPerSecond: 100,
  requestsPerSecond: 400,
  ...over
})
const ids = (plan: ReturnType<typeof planRound>) => plan.inRound.map((k) => k.service.id)

describe("round plan", () => {
  it("reads the services the feed named first, then those due, and nothing else", () => {
    const plan = planRound(input({ named: new Set(["srv-7"]), readAt: readAt([2, 4]) }))
    expect(ids(plan)).toEqual(["srv-7", "srv-2", "srv-4"])
    expect([...plan.first]).toEqual([key(7)])
  })

  it("checks every service when the feed cannot say which changed", () => {
    expect(ids(planRound(input({ checkEvery: true }))).length).toBe(10)
  })

  it("sweeps at most what the read rate allows in one period, the longest unread first", () => {
    const plan = planRound(input({ readsPerSecond: 1, readAt: readAt([1, 3, 5, 8]) }))
    // 1 read/s × 2 s: two of the four due, those read longest ago (srv-8, then srv-5)
    expect(ids(plan)).toEqual(["srv-8", "srv-5"])
  })

  it("while throttled reads only what the feed named; the due ones stay due", () => {
    const plan = planRound(input({ throttled: true, named: new Set(["srv-0"]), readAt: readAt([2, 4]) }))
    expect(ids(plan)).toEqual(["srv-0"])
  })

  it("spreads the calls over 80 % of the period, or longer at the rate limit", () => {
    expect(planRound(input({ checkEvery: true })).spreadMs).toBeCloseTo(1600)
    expect(planRound(input({ checkEvery: true, requestsPerSecond: 2 })).spreadMs).toBe(5000)
  })
})

// ------------------------------------------------------------ the whole round, from plain state

const fleet: FleetSettings = {
  revisionPollSeconds: 3.6,
  revisionCheckBudget: 1500,
  refreshSeconds: 30,
  serviceListSeconds: 10,
  requestsPerSecond: 400,
  readsPerSecond: 100,
  serviceAttributesSeconds: 300
}
const ns = { id: "ns-1", name: "apps", httpName: "apps" }
const service = (i: number) => ({ id: `srv-${i}`, name: `svc-${i}`, createdAt: undefined })
/** `count` services listed in namespace apps, and a namespace that could not be listed. */
const topologyOf = (count: number): Topology => [
  { _tag: "Ok", mapping, namespace: ns, services: Array.from({ length: count }, (_, i) => service(i)) },
  { _tag: "Failed", mapping: { namespace: "gone", domain: "gone.example.com", mode: "host" }, error: "not found" }
]
const changes = (ids: ReadonlyArray<string>, checkAll = false): FeedOutcome => ({ _tag: "Changes", serviceIds: new Set(ids), checkAll })
const POLLING: FeedOutcome = { _tag: "Polling" }
const MISSED: FeedOutcome = { _tag: "Missed" }
const quiet: ActivitySummary = { windowSeconds: 5, calls: 10, throttled: 0, failed: 0, lastAttemptAt: NOW, lastThrottledAt: undefined }

describe("round plan: what to list", () => {
  const listing = (over: Partial<ListingInput>) =>
    planListing({ topology: topologyOf(3), topologyAt: NOW - 1000, foreign: new Map(), fed: changes([]), now: NOW, fleet, feedSeconds: undefined, ...over })

  it("lists again once the last listing is SERVICE_LIST_RATE old (revision polling), not before", () => {
    expect(listing({ fed: POLLING, topologyAt: NOW - 9_999 }).list).toBe(false)
    expect(listing({ fed: POLLING, topologyAt: NOW - 10_000 }).list).toBe(true)
  })

  it("with the change feed lists every REFRESH_RATE when that is longer (the feed names new services)", () => {
    expect(listing({ feedSeconds: 2, topologyAt: NOW - 10_000 }).list).toBe(false)
    expect(listing({ feedSeconds: 2, topologyAt: NOW - 29_999 }).list).toBe(false)
    expect(listing({ feedSeconds: 2, topologyAt: NOW - 30_000 }).list).toBe(true)
  })

  it("lists at once when the feed names a service no listing has", () => {
    const plan = listing({ feedSeconds: 2, fed: changes(["srv-1", "srv-new"]) })
    expect(plan).toEqual({ list: true, unlisted: ["srv-new"] })
    // A named service that is listed asks for no listing.
    expect(listing({ feedSeconds: 2, fed: changes(["srv-1"]) })).toEqual({ list: false, unlisted: [] })
  })

  it("does not list for a service known to be another namespace's until that expires", () => {
    const foreign = new Map([["srv-other", NOW + 1]])
    expect(listing({ feedSeconds: 2, fed: changes(["srv-other"]), foreign })).toEqual({ list: false, unlisted: [] })
    expect(listing({ feedSeconds: 2, fed: changes(["srv-other"]), foreign, now: NOW + 1 })).toEqual({ list: true, unlisted: ["srv-other"] })
  })

  it("a polling round or a missed feed round names nothing: only the interval lists", () => {
    expect(listing({ fed: POLLING })).toEqual({ list: false, unlisted: [] })
    expect(listing({ fed: MISSED, topologyAt: NOW - 10_000 })).toEqual({ list: true, unlisted: [] })
  })

  it("after a listing, a named service it still lacks is foreign for FOREIGN_MS; expired ones are forgotten", () => {
    const before = new Map([["srv-expired", NOW], ["srv-kept", NOW + 5]])
    const after = foreignAfterListing(before, ["srv-new", "srv-1"], topologyOf(3), NOW)
    expect([...after]).toEqual([["srv-kept", NOW + 5], ["srv-new", NOW + FOREIGN_MS]])
  })
})

describe("round plan: what to read and check", () => {
  const reads = (over: Partial<ReadInput>) =>
    planReads({
      topology: topologyOf(5),
      readAt: new Map(Array.from({ length: 5 }, (_, i) => [key(i), NOW - 1000])),
      attributesReadAt: new Map(Array.from({ length: 5 }, (_, i) => [`srv-${i}`, NOW - 1000])),
      fed: changes([]),
      calls: quiet,
      now: NOW,
      fleet,
      feedSeconds: 2,
      ...over
    })
  const idsOf = (keys: Iterable<string>) => [...keys].map((k) => k.split(" ").at(-1)).sort()
  const inRound = (plan: ReturnType<typeof planReads>) => plan.inRound.map((k) => k.service.id)

  it("knows every service of the namespaces listed, and the cadence for that fleet and the feed", () => {
    const plan = reads({})
    expect(plan.known.map((k) => k.service.id)).toEqual(["srv-0", "srv-1", "srv-2", "srv-3", "srv-4"])
    expect(plan.cadence).toEqual(cadenceOf(5, fleet, 2))
    expect(reads({ feedSeconds: undefined }).cadence).toEqual(cadenceOf(5, fleet, undefined))
  })

  it("reads the named services first and outright; nothing else while no read is due", () => {
    const plan = reads({ fed: changes(["srv-3"]) })
    expect(inRound(plan)).toEqual(["srv-3"])
    expect(idsOf(plan.reads)).toEqual(["srv-3"])
    expect(idsOf(plan.first)).toEqual(["srv-3"])
  })

  it("reads outright a service whose last read is the re-read age old, or that was never read", () => {
    const readAt = new Map([[key(0), NOW - 1000], [key(1), NOW - 27_900], [key(2), NOW - 27_899], [key(3), NOW - 1000]])
    const plan = reads({ readAt })
    expect(inRound(plan)).toEqual(["srv-1", "srv-4"])
    expect(idsOf(plan.reads)).toEqual(["srv-1", "srv-4"])
  })

  it("a revision polling round checks every service: the due ones are read, the others' revisions checked", () => {
    const readAt = new Map(Array.from({ length: 5 }, (_, i) => [key(i), NOW - (i === 2 ? 60_000 : 1000)]))
    const plan = reads({ fed: POLLING, feedSeconds: undefined, readAt })
    expect(inRound(plan)).toEqual(["srv-0", "srv-1", "srv-2", "srv-3", "srv-4"])
    expect(idsOf(plan.reads)).toEqual(["srv-2"])
  })

  it("a feed round that could not place an operation checks every service too; a missed one only the due", () => {
    const plan = reads({ fed: changes(["srv-4"], true) })
    expect(inRound(plan)).toEqual(["srv-4", "srv-0", "srv-1", "srv-2", "srv-3"])
    expect(idsOf(plan.reads)).toEqual(["srv-4"])
    expect(inRound(reads({ fed: MISSED }))).toEqual([])
  })

  it("the sweep is capped by the read rate over a period, the longest unread first", () => {
    const readAt = new Map(Array.from({ length: 5 }, (_, i) => [key(i), NOW - 60_000 - i]))
    // 1 read/s × 2 s period: two of the five due, the oldest (srv-4, srv-3)
    const plan = reads({ readAt, fleet: { ...fleet, readsPerSecond: 1 } })
    expect(inRound(plan)).toEqual(["srv-4", "srv-3"])
    // Every service checked (polling) is never capped.
    expect(inRound(reads({ readAt, fed: POLLING, fleet: { ...fleet, readsPerSecond: 1 } })).length).toBe(5)
  })

  it("throttled lately: no sweep, no read forced by age (only never-read services), no attribute re-reads", () => {
    const readAt = new Map(Array.from({ length: 4 }, (_, i) => [key(i), NOW - (i === 2 ? 60_000 : 1000)]))
    const attributesReadAt = new Map([["srv-0", NOW - 400_000]])
    const calls = { ...quiet, throttled: 1, lastThrottledAt: NOW - THROTTLED_LATELY_MS + 1 }
    const feedRound = reads({ calls, readAt, attributesReadAt, fed: changes(["srv-1"]) })
    expect(feedRound.throttled).toBe(true)
    expect(inRound(feedRound)).toEqual(["srv-1"])
    expect(feedRound.attributes.rereads).toEqual([])
    // Polling: every service's revision is checked; srv-2 (due by age) waits, srv-4 (never read) is read.
    const polling = reads({ calls, readAt, fed: POLLING, feedSeconds: undefined })
    expect(inRound(polling).length).toBe(5)
    expect(idsOf(polling.reads)).toEqual(["srv-4"])
  })

  it("a throttle older than THROTTLED_LATELY_MS, or no record of the calls, is not throttling", () => {
    const readAt = new Map(Array.from({ length: 5 }, (_, i) => [key(i), NOW - (i === 2 ? 60_000 : 1000)]))
    const old = { ...quiet, throttled: 1, lastThrottledAt: NOW - THROTTLED_LATELY_MS }
    expect(inRound(reads({ calls: old, readAt }))).toEqual(["srv-2"])
    expect(reads({ calls: undefined, readAt }).throttled).toBe(false)
  })

  it("goes in chunks of 100, spread evenly over the round", () => {
    const plan = reads({ topology: topologyOf(250), readAt: new Map(), fed: POLLING, feedSeconds: undefined })
    expect(plan.chunks.map((c) => c.services.length)).toEqual([100, 100, 50])
    const third = plan.spreadMs / 3
    plan.chunks.forEach((c, i) => expect(c.at - NOW).toBeCloseTo(i * third))
    expect(plan.chunks.flatMap((c) => c.services)).toEqual(plan.inRound)
    expect(reads({}).chunks).toEqual([])
  })

  it("attributes: never-read services before the round, due re-reads alongside, every listed id kept", () => {
    const attributesReadAt = new Map([["srv-0", NOW - 300_000], ["srv-1", NOW - 299_999], ["srv-2", NOW], ["srv-9", NOW - 400_000]])
    const plan = reads({ attributesReadAt })
    expect(plan.attributes).toEqual({
      listed: ["srv-0", "srv-1", "srv-2", "srv-3", "srv-4"],
      firstReads: ["srv-3", "srv-4"],
      rereads: ["srv-0"],
      intervalMs: 300_000
    })
  })
})

describe("round plan: the read times after the round", () => {
  const plan = planReads({
    topology: topologyOf(4),
    readAt: new Map(),
    attributesReadAt: new Map(),
    fed: changes(["srv-1"]),
    calls: undefined,
    now: NOW,
    fleet,
    feedSeconds: 2
  })
  const previous = new Map([[key(0), 10], [key(1), 20], [key(2), 30], [key(3), 40], [key(9), 50]])

  it("records the services read now; a named service whose read failed is due at once; the others keep theirs; unlisted ones go", () => {
    const after = readTimesAfter(plan, new Set([key(2)]), previous, NOW, undefined)
    expect([...after]).toEqual([[key(0), 10], [key(2), NOW], [key(3), 40]])
  })

  it("a round that read every service spreads their next reads over the re-read age", () => {
    const all = new Set([0, 1, 2, 3].map(key))
    expect(spreadsReads(plan, all)).toBe(true)
    expect(spreadsReads(plan, new Set([key(0), key(1), key(2)]))).toBe(false)
    const after = readTimesAfter(plan, all, previous, NOW, [0, 0.5, 0.25, 0.999])
    const age = plan.cadence.rereadAfterMs
    expect([...after.values()]).toEqual([NOW, NOW - Math.floor(0.5 * age), NOW - Math.floor(0.25 * age), NOW - Math.floor(0.999 * age)])
  })

  it("a single service is never spread", () => {
    const one = planReads({ topology: topologyOf(1), readAt: new Map(), attributesReadAt: new Map(), fed: POLLING, calls: undefined, now: NOW, fleet, feedSeconds: undefined })
    expect(spreadsReads(one, new Set([key(0)]))).toBe(false)
  })
})

describe("round plan after SIGHUP (the state forgets every listing and read)", () => {
  it("lists again and reads every service and its attributes, whatever the intervals", () => {
    const held = {
      ...initialRoundState,
      topology: topologyOf(3),
      topologyAt: NOW - 1,
      readAt: new Map([0, 1, 2].map((i) => [key(i), NOW - 1])),
      attributes: { values: new Map(), readAt: new Map([0, 1, 2].map((i) => [`srv-${i}`, NOW - 1])) }
    }
    const forgot = forgetReads(held)
    const input = { topology: topologyOf(3), foreign: new Map(), fed: changes([]), now: NOW, fleet, feedSeconds: 2 }
    expect(planListing({ ...input, topologyAt: held.topologyAt }).list).toBe(false)
    expect(planListing({ ...input, topologyAt: forgot.topologyAt }).list).toBe(true)
    const plan = planReads({ ...input, readAt: forgot.readAt, attributesReadAt: forgot.attributes.readAt, calls: undefined })
    expect(plan.inRound.map((k) => k.service.id)).toEqual(["srv-0", "srv-1", "srv-2"])
    expect(plan.reads.size).toBe(3)
    expect(plan.attributes.firstReads).toEqual(["srv-0", "srv-1", "srv-2"])
  })
})
