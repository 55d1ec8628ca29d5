import { describe, expect, it } from "vitest"
import {
  activeFrom,
  blind,
  confirmMisses,
  graceMs,
  initialVerifyState,
  MISS_WINDOW_MS,
  named,
  namedAll,
  readsFound
} from "../../src/reconcile/feed-verify.ts"

const web = (revision: number | undefined) => ({ serviceId: "srv-web", name: "web", revision })
const api = (revision: number | undefined) => ({ serviceId: "srv-api", name: "api", revision })
const GRACE = graceMs(2)

describe("the change feed checked against the reads", () => {
  it("a revision that changed with no operation naming the service is a miss once the grace has passed", () => {
    let v = readsFound(initialVerifyState(0), [web(1), api(1)], 1_000, true)
    v = readsFound(v, [web(2), api(1)], 31_000, true)
    expect([...v.candidates.keys()]).toEqual(["srv-web"])
    expect(confirmMisses(v, 31_000 + GRACE - 1, GRACE).confirmed).toEqual([])
    const { state, confirmed } = confirmMisses(v, 31_000 + GRACE, GRACE)
    expect(confirmed).toEqual([{ serviceId: "srv-web", name: "web", since: 1_000, foundAt: 31_000 }])
    expect(state.missesTotal).toBe(1)
    expect(state.candidates.size).toBe(0)
  })

  it("no miss when the feed named the service since its last read, before or within the grace after the read", () => {
    let v = readsFound(initialVerifyState(0), [web(1)], 1_000, true)
    v = named(v, ["srv-web"], 2_000)
    v = readsFound(v, [web(2)], 3_000, true)
    expect(v.candidates.size).toBe(0)
    // Listed a little late: the read came first, the operation within the grace.
    v = readsFound(v, [web(3)], 10_000, true)
    expect(v.candidates.size).toBe(1)
    v = named(v, ["srv-web"], 11_000)
    expect(confirmMisses(v, 10_000 + GRACE, GRACE).confirmed).toEqual([])
  })

  it("an unchanged revision (a health change) is never a miss; nor is a service read for the first time", () => {
    let v = readsFound(initialVerifyState(0), [web(1)], 1_000, true)
    v = readsFound(v, [web(1), api(7)], 31_000, true)
    expect(v.candidates.size).toBe(0)
  })

  it("a round that checked every revision because of an operation it could not place explains every change", () => {
    let v = readsFound(initialVerifyState(0), [web(1), api(1)], 1_000, true)
    v = namedAll(v, 2_000)
    v = readsFound(v, [web(2), api(2)], 2_500, true)
    expect(v.candidates.size).toBe(0)
  })

  it("reads while the feed is not active, or from before it became active, are not held against it", () => {
    let v = readsFound(initialVerifyState(0), [web(1)], 1_000, false)
    v = readsFound(v, [web(2)], 2_000, false)
    expect(v.candidates.size).toBe(0)
    v = activeFrom(v, 5_000)
    v = readsFound(v, [web(3)], 6_000, true)
    expect(v.candidates.size).toBe(0)
    v = readsFound(v, [web(4)], 7_000, true)
    expect(v.candidates.size).toBe(1)
  })

  it("blind: one miss with no hit in the window, or two since the last hit; a hit starts the count anew", () => {
    let v = readsFound(initialVerifyState(0), [web(1), api(1)], 0, true)
    const miss = (s: typeof v, at: number, read: ReturnType<typeof web>) => confirmMisses(readsFound(s, [read], at, true), at + GRACE, GRACE).state
    v = miss(v, 10_000, web(2))
    expect(blind(v, 10_000 + GRACE)).toBe(true)
    // A hit: one miss is no longer enough.
    v = named(v, ["srv-api"], 20_000)
    expect(v.misses).toEqual([])
    v = miss(v, 30_000, web(3))
    expect(blind(v, 30_000 + GRACE)).toBe(false)
    v = miss(v, 40_000, web(4))
    expect(blind(v, 40_000 + GRACE)).toBe(true)
    // Misses older than the window are forgotten.
    expect(confirmMisses(v, 40_000 + MISS_WINDOW_MS, GRACE).state.misses).toEqual([])
  })

  it("naming a service that was never read (another namespace's) is no hit", () => {
    let v = readsFound(initialVerifyState(0), [web(1)], 0, true)
    v = confirmMisses(readsFound(v, [web(2)], 10_000, true), 10_000 + GRACE, GRACE).state
    v = named(v, ["srv-foreign"], 20_000)
    expect(v.misses).toHaveLength(1)
    expect(v.lastHitAt).toBeUndefined()
  })
})
