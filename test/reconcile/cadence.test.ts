/** The rounds' cadence (src/reconcile/cadence.ts): one value that polling, the sweep, the listing and the sizing report read. */
import { describe, expect, it } from "vitest"
import { cadenceOf, nextRoundDelayMs, pollPeriodSeconds } from "../../src/reconcile/cadence.ts"
import { isDue } from "../../src/reconcile/read-schedule.ts"

const DEFAULTS = { revisionPollSeconds: 3.6, revisionCheckBudget: 1500, refreshSeconds: 30, serviceListSeconds: 10 }

describe("cadence", () => {
  it("polls a fleet smaller than the check budget more often, at least a second apart", () => {
    expect(pollPeriodSeconds(0, DEFAULTS)).toBe(3.6)
    expect(pollPeriodSeconds(10, DEFAULTS)).toBe(1)
    expect(pollPeriodSeconds(45, DEFAULTS)).toBeCloseTo(1.8)
    expect(pollPeriodSeconds(90, DEFAULTS)).toBeCloseTo(3.6)
    expect(pollPeriodSeconds(100, DEFAULTS)).toBe(3.6)
    expect(cadenceOf(45, DEFAULTS, undefined).periodSeconds).toBeCloseTo(1.8)
  })

  it("follows CHANGE_FEED_RATE while the feed is used, whatever the fleet", () => {
    expect(cadenceOf(45, DEFAULTS, 5)).toMatchObject({ feed: true, periodSeconds: 5 })
    expect(cadenceOf(3_000, DEFAULTS, 5)).toMatchObject({ feed: true, periodSeconds: 5 })
    expect(cadenceOf(3_000, DEFAULTS, undefined)).toMatchObject({ feed: false, periodSeconds: 3.6 })
  })

  it("lists every SERVICE_LIST_RATE while polling revisions, every REFRESH_RATE (when longer) with the feed", () => {
    expect(cadenceOf(100, DEFAULTS, undefined).listIntervalMs).toBe(10_000)
    expect(cadenceOf(100, DEFAULTS, 5).listIntervalMs).toBe(30_000)
    expect(cadenceOf(100, { ...DEFAULTS, serviceListSeconds: 60 }, 5).listIntervalMs).toBe(60_000)
  })

  it("re-reads early enough that the next round (up to a period plus its jitter away) stays within REFRESH_RATE", () => {
    const s = { ...DEFAULTS, revisionPollSeconds: 2, refreshSeconds: 5 }
    expect(cadenceOf(100, s, undefined).rereadAfterMs).toBe(2900)
    expect(cadenceOf(100, { ...s, refreshSeconds: 30 }, undefined).rereadAfterMs).toBe(27_900)
    expect(cadenceOf(100, DEFAULTS, 2).rereadAfterMs).toBe(27_900)
  })

  it("reads every service in every round when REFRESH_RATE is not longer than a round", () => {
    expect(cadenceOf(100, { ...DEFAULTS, refreshSeconds: 1 }, 2).rereadAfterMs).toBe(0)
  })

  it("with 2 s rounds and REFRESH_RATE 5, a service is read every second round, never more than 5 s apart", () => {
    const cadence = cadenceOf(100, { ...DEFAULTS, revisionPollSeconds: 2, refreshSeconds: 5 }, undefined)
    for (const random of [0, 0.5, 0.999]) {
      const period = Math.round(nextRoundDelayMs(cadence, random, 0))
      let readAt = 0
      const gaps: Array<number> = []
      for (let t = period; t < 60_000; t += period) {
        if (isDue(readAt, t, cadence.rereadAfterMs)) {
          gaps.push(t - readAt)
          readAt = t
        }
      }
      expect(Math.max(...gaps)).toBeLessThanOrEqual(5000)
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(2 * period)
    }
  })

  it("starts rounds a period ± 5 % apart, less what the round took, at least 50 ms", () => {
    const cadence = cadenceOf(100, { ...DEFAULTS, revisionPollSeconds: 2 }, undefined)
    expect(nextRoundDelayMs(cadence, 0, 0)).toBeCloseTo(1900)
    expect(nextRoundDelayMs(cadence, 0.5, 0)).toBeCloseTo(2000)
    expect(nextRoundDelayMs(cadence, 0.999999, 0)).toBeCloseTo(2100)
    expect(nextRoundDelayMs(cadence, 0.5, 500)).toBeCloseTo(1500)
    expect(nextRoundDelayMs(cadence, 0.5, 5000)).toBe(50)
  })
})
