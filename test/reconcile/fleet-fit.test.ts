/** Whether the polling settings fit the fleet (the README's sizing formula). */
import { describe, expect, it } from "vitest"
import { cadenceOf } from "../../src/reconcile/cadence.ts"
import { type FleetSettings, fleetFit as fitWith } from "../../src/reconcile/fleet-fit.ts"

const DEFAULTS = { revisionPollSeconds: 3.6, revisionCheckBudget: 1500, refreshSeconds: 30, serviceListSeconds: 10, requestsPerSecond: 400, readsPerSecond: 100, serviceAttributesSeconds: 90 }

/** The fit with the cadence the rounds would use (revision polling, or the feed every `feedSeconds`). */
const fleetFit = (services: number, namespaces: number, s: FleetSettings, feedSeconds?: number) =>
  fitWith(services, namespaces, s, cadenceOf(services, s, feedSeconds))

describe("fleet fit", () => {
  it("at the defaults, 100 and 1,000 services are checked every REVISION_POLL_RATE and read every REFRESH_RATE", () => {
    const small = fleetFit(100, 1, DEFAULTS)
    expect(small).toMatchObject({ roundSeconds: 3.6, refreshSeconds: 30, problems: [] })
    expect(Math.round(small.callsPerMinute)).toBe(1_745) // 100 × 60 / 3.6 + 2 × 6 + 100 × 60 / 90
    expect(fleetFit(1_000, 1, DEFAULTS).problems).toEqual([])
  })

  it("polls a fleet smaller than the check budget more often (cadence.ts)", () => {
    const churn = fleetFit(45, 1, DEFAULTS)
    expect(churn.roundSeconds).toBeCloseTo(1.8)
    expect(Math.round(churn.callsPerMinute)).toBe(1_542) // 1,500 checks + 12 listings + 45 × 60 / 90 attribute reads
  })

  it("says which settings would fit when the fleet needs more calls than the rate limit allows", () => {
    const big = fleetFit(3_000, 1, DEFAULTS)
    expect(big.roundSeconds).toBe(7.5)
    expect(big.refreshSeconds).toBe(30)
    expect(big.problems).toEqual([
      "REVISION_POLL_RATE=3.6 cannot be met for 3000 services at CLOUDMAP_RATE_LIMIT=400: each service is checked every 7.5 s. " +
      "Raise CLOUDMAP_RATE_LIMIT to 834 (within the account's DiscoverInstancesRevision quota, shared by every replica) or set REVISION_POLL_RATE=8"
    ])
    expect(fleetFit(5_000, 1, DEFAULTS).problems[1]).toBe(
      "REFRESH_RATE=30 cannot be met for 5000 services at CLOUDMAP_READ_RATE_LIMIT=100: each service is re-read every 50 s. " +
      "Raise CLOUDMAP_READ_RATE_LIMIT to 167 or set REFRESH_RATE=50"
    )
  })

  it("with the feed: a round every CHANGE_FEED_RATE, the listing every REFRESH_RATE", () => {
    const fit = fleetFit(100, 1, DEFAULTS, 5)
    expect(fit).toMatchObject({ roundSeconds: 5, refreshSeconds: 30, problems: [] })
    // 100 reads every 30 s + 12 feed pages + 2 listings every 30 s + 100 × 60 / 90 attribute reads
    expect(Math.round(fit.callsPerMinute)).toBe(Math.round(200 + 12 + 4 + 6000 / 90))
  })
})
