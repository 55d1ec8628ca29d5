import { describe, expect, it } from "vitest"
import { secondsFor, takeToken } from "../../src/cloudmap/rate-limiter.ts"

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

  it("a lowered rate's wait counts the recovery meanwhile (not the lowered rate throughout)", () => {
    // Floor 20/s of 400: 100 tokens take 5 s at 20/s; with +80/s a second, 20t + 40t² = 100.
    const r = takeToken({ tokens: 0, rate: 20, at: 0, target: 400 }, 0, 100)
    expect(r.waitMs).toBeCloseTo(((Math.sqrt(400 + 16_000) - 20) / 80) * 1000, 3)
    expect(r.waitMs).toBeLessThan(1400)
    // Beyond the recovery: the rest at the full rate.
    expect(secondsFor(10_000, 20, 400)).toBeCloseTo(4.75 + (10_000 - (20 * 4.75 + 40 * 4.75 * 4.75)) / 400, 6)
    // At the target: deficit / rate, as before.
    expect(secondsFor(100, 400, 400)).toBe(0.25)
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
