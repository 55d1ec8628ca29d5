/**
 * Whether the polling settings fit the fleet: how often each service can really be checked and
 * re-read, how many calls a minute that costs one replica, and which settings would fit when
 * the configured ones cannot be met. Pure; the README's sizing section gives the same formula.
 * The period and the listing interval are the cadence's (./cadence.ts).
 *
 *   refresh   = max(REFRESH_RATE, services / CLOUDMAP_READ_RATE_LIMIT)
 *
 * With the change feed (a change is seen within CHANGE_FEED_RATE; at rest one ListOperations
 * page a round; each change adds a GetOperation and a DiscoverInstances):
 *
 *   calls/min = 60 × services / refresh  (the sweep)
 *             + 60 / CHANGE_FEED_RATE
 *             + 60 × (namespaces + 1) / max(SERVICE_LIST_RATE, REFRESH_RATE)
 *             + 60 × services / SERVICE_ATTRIBUTES_RATE
 *
 * With revision polling (CHANGE_FEED=false, or the feed unavailable):
 *
 *   period    = min(REVISION_POLL_RATE, max(1, 60 × services / REVISION_CHECK_BUDGET))
 *   round     = max(period, services / CLOUDMAP_RATE_LIMIT)
 *   calls/min = 60 × services / round  (a due read replaces that round's revision check)
 *             + 60 × (namespaces + 1) / SERVICE_LIST_RATE
 *             + 60 × services / SERVICE_ATTRIBUTES_RATE
 */
import type { Cadence, CadenceSettings } from "./cadence.ts"

export interface FleetSettings extends CadenceSettings {
  readonly requestsPerSecond: number
  readonly readsPerSecond: number
  readonly serviceAttributesSeconds: number
}

export interface FleetFit {
  /** Seconds between two chances to see a registration: a feed round, or a revision check of each service. */
  readonly roundSeconds: number
  /** Seconds between two DiscoverInstances reads of one service. */
  readonly refreshSeconds: number
  /** Cloud Map calls a minute of one replica, steady state. */
  readonly callsPerMinute: number
  /** Of which DiscoverInstances. */
  readonly readsPerMinute: number
  /** Each setting that cannot be met, with the values that would fit. */
  readonly problems: ReadonlyArray<string>
}

const round1 = (x: number) => Math.round(x * 10) / 10

export const fleetFit = (
  services: number,
  namespaces: number,
  s: FleetSettings,
  /** The rounds' cadence for this fleet (./cadence.ts). */
  cadence: Cadence
): FleetFit => {
  // A round spreads its calls over 80 % of the period, or longer at CLOUDMAP_RATE_LIMIT
  // (round-plan.ts); the next one starts when both the period and the round are over.
  const roundSeconds = cadence.feed ? cadence.periodSeconds : Math.max(cadence.periodSeconds, services / s.requestsPerSecond)
  const refreshSeconds = Math.max(s.refreshSeconds, services / s.readsPerSecond)
  const readsPerMinute = (60 * services) / refreshSeconds
  const findPerMinute = cadence.feed ? readsPerMinute + 60 / cadence.periodSeconds : (60 * services) / roundSeconds
  const listSeconds = cadence.listIntervalMs / 1000
  const callsPerMinute = findPerMinute + (60 * (namespaces + 1)) / listSeconds + (60 * services) / s.serviceAttributesSeconds
  const problems: Array<string> = []
  if (!cadence.feed && roundSeconds > s.revisionPollSeconds * (1 + cadence.jitter)) {
    problems.push(
      `REVISION_POLL_RATE=${s.revisionPollSeconds} cannot be met for ${services} services at CLOUDMAP_RATE_LIMIT=${s.requestsPerSecond}: ` +
        `each service is checked every ${round1(roundSeconds)} s. Raise CLOUDMAP_RATE_LIMIT to ${Math.ceil(services / s.revisionPollSeconds)} ` +
        `(within the account's DiscoverInstancesRevision quota, shared by every replica) or set REVISION_POLL_RATE=${Math.ceil(roundSeconds)}`
    )
  }
  if (refreshSeconds > s.refreshSeconds * (1 + cadence.jitter)) {
    problems.push(
      `REFRESH_RATE=${s.refreshSeconds} cannot be met for ${services} services at CLOUDMAP_READ_RATE_LIMIT=${s.readsPerSecond}: ` +
        `each service is re-read every ${round1(refreshSeconds)} s. Raise CLOUDMAP_READ_RATE_LIMIT to ${Math.ceil(services / s.refreshSeconds)} ` +
        `or set REFRESH_RATE=${Math.ceil(refreshSeconds)}`
    )
  }
  return { roundSeconds, refreshSeconds, callsPerMinute, readsPerMinute, problems }
}
