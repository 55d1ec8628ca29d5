import { describe, expect, it } from "vitest"
import { takeToken } from "../../src/cloudmap/rate-limiter.ts"

describe("token bucket", () => {
  it("lets a burst through, then spaces requests at the rate", () => {
    let bucket = { tokens: 5, rate: 5, at: 0 }
    const waits: Array<number> = []
    for (let i = 0; i < 8; i++) {
      const r = takeToken(bucket, 0, 5)
      bucket = r.bucket
      waits.push(Math.round(r.waitMs))
    }
    expect(waits).toEqual([0, 0, 0, 0, 0, 200, 400, 600])
  })

  it("refills over time and never above the burst", () => {
    const r = takeToken({ tokens: 0, rate: 10, at: 0 }, 60_000, 10)
    expect(r.bucket.tokens).toBe(9)
    expect(r.waitMs).toBe(0)
  })

  it("recovers a lowered rate additively", () => {
    const r = takeToken({ tokens: 0, rate: 5, at: 0 }, 2_000, 10)
    expect(r.bucket.rate).toBeCloseTo(6, 5)
  })
})
