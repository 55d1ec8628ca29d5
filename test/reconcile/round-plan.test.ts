/** What a polling round reads (src/reconcile/round-plan.ts): pure, from the feed's answer, the read times and the cadence. */
import { describe, expect, it } from "vitest"
import { cadenceOf } from "../../src/reconcile/cadence.ts"
import type { KnownService } from "../../src/reconcile/check-chunk.ts"
import { planRound, type RoundInput } from "../../src/reconcile/round-plan.ts"
import { serviceKey } from "../../src/reconcile/snapshot-update.ts"

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
