import { describe, expect, it } from "vitest"
import { isDue, spreadReadAt } from "../../src/reconcile/read-schedule.ts"

describe("read schedule", () => {
  it("is due at once when the threshold is 0", () => {
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

})
