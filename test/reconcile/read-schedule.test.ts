import { describe, expect, it } from "vitest"
import { isDue, rereadAfterMs, spreadReadAt } from "../../src/reconcile/read-schedule.ts"

describe("read schedule", () => {
  it("re-reads early enough that the next round (up to 1.05 × the poll period away) stays within REFRESH_RATE", () => {
    expect(rereadAfterMs(5000, 2000)).toBe(2900)
    expect(rereadAfterMs(30_000, 2000)).toBe(27_900)
  })

  it("reads every service in every round when REFRESH_RATE is not longer than a round", () => {
    expect(rereadAfterMs(1000, 2000)).toBe(0)
    expect(isDue(10_000, 10_000, 0)).toBe(true)
  })

  it("is due when never read, or when the last read is at least the threshold old", () => {
    expect(isDue(undefined, 0, 2600)).toBe(true)
    expect(isDue(1000, 3599, 2600)).toBe(false)
    expect(isDue(1000, 3600, 2600)).toBe(true)
  })

  it("spreads a burst of reads over the threshold, never into the future", () => {
    expect(spreadReadAt(10_000, 2600, 0)).toBe(10_000)
    expect(spreadReadAt(10_000, 2600, 0.5)).toBe(8700)
    expect(spreadReadAt(10_000, 2600, 0.999)).toBeGreaterThan(10_000 - 2600)
  })

  it("with 2 s rounds and REFRESH_RATE 5, a service is read every second round, never more than 5 s apart", () => {
    const after = rereadAfterMs(5000, 2000)
    for (const period of [1600, 2000, 2400]) {
      let readAt = 0
      const gaps: Array<number> = []
      for (let t = period; t < 60_000; t += period) {
        if (isDue(readAt, t, after)) {
          gaps.push(t - readAt)
          readAt = t
        }
      }
      expect(Math.max(...gaps)).toBeLessThanOrEqual(5000)
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(2 * period)
    }
  })
})
