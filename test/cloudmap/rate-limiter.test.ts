import { describe, expect, it } from "vitest"
import { takeToken } from "../../src/cloudmap/rate-limiter.ts"

describe("token bucket", () => {
  it("lets a burst through, then spaces requests at the rate", () => {
    let bucket = { tokens: 5, rate: 5, at: 0, target: 5 }
    const waits: Array<number> = []
    for (let i = 0; i < 8; i++) {
      const r = takeToken(bucket, 0)
      bucket = r.bucket
      waits.push(Math.round(r.waitMs))
    }
    expect(waits).toEqual([0, 0, 0, 0, 0, 200, 400, 600])
  })

  it("refills over time and never above the burst", () => {
    const r = takeToken({ tokens: 0, rate: 10, at: 0, target: 10 }, 60_000)
    expect(r.bucket.tokens).toBe(9)
    expect(r.waitMs).toBe(0)
  })

  it("recovers a lowered rate additively", () => {
    const r = takeToken({ tokens: 0, rate: 5, at: 0, target: 10 }, 2_000)
    expect(r.bucket.rate).toBeCloseTo(9, 5)
  })

  it("runs at the start-up rate until it settles, then at the steady rate", async () => {
    const { Effect } = await import("effect")
    const { TestClock } = await import("effect/testing")
    const { makeRateLimiter } = await import("../../src/cloudmap/rate-limiter.ts")
    const rates = await Effect.runPromise(Effect.gen(function*() {
      const limiter = yield* makeRateLimiter(100, 1000)
      const before = yield* limiter.currentRate
      yield* limiter.settle
      return [before, yield* limiter.currentRate]
    }).pipe(Effect.provide(TestClock.layer())))
    expect(rates).toEqual([1000, 100])
  })
})
