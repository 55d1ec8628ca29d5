/**
 * Whether the polling settings fit the fleet: how often each service can really be checked and
 * re-read, how many calls a minute that costs one replica, and which settings would fit when
 * the configured ones cannot be met. Pure; the README's sizing section gives the same formula.
 *
 *   round     = max(REVISION_POLL_RATE, services / CLOUDMAP_RATE_LIMIT)
 *   refresh   = max(REFRESH_RATE, services / CLOUDMAP_READ_RATE_LIMIT)
 *   calls/min = 60 × services / round  (a due read replaces that round's revision check)
 *             + 60 × (namespaces + 1) / SERVICE_LIST_RATE
 */
export interface FleetSettings {
  readonly revisionPollSeconds: number
  readonly refreshSeconds: number
  readonly serviceListSeconds: number
  readonly requestsPerSecond: number
  readonly readsPerSecond: number
}

export interface FleetFit {
  /** Seconds between two revision checks of one service. */
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

export const fleetFit = (services: number, namespaces: number, s: FleetSettings): FleetFit => {
  // A round spreads its calls over 80 % of REVISION_POLL_RATE, or longer at CLOUDMAP_RATE_LIMIT
  // (reconciler.ts); the next one starts when both REVISION_POLL_RATE and the round are over.
  const roundSeconds = Math.max(s.revisionPollSeconds, services / s.requestsPerSecond)
  const refreshSeconds = Math.max(s.refreshSeconds, services / s.readsPerSecond)
  const readsPerMinute = (60 * services) / refreshSeconds
  const callsPerMinute = (60 * services) / roundSeconds + (60 * (namespaces + 1)) / s.serviceListSeconds
  const problems: Array<string> = []
  if (roundSeconds > s.revisionPollSeconds * 1.05) {
    problems.push(
      `REVISION_POLL_RATE=${s.revisionPollSeconds} cannot be met for ${services} services at CLOUDMAP_RATE_LIMIT=${s.requestsPerSecond}: ` +
        `each service is checked every ${round1(roundSeconds)} s. Raise CLOUDMAP_RATE_LIMIT to ${Math.ceil(services / s.revisionPollSeconds)} ` +
        `(within the account's DiscoverInstancesRevision quota, shared by every replica) or set REVISION_POLL_RATE=${Math.ceil(roundSeconds)}`
    )
  }
  if (refreshSeconds > s.refreshSeconds * 1.05) {
    problems.push(
      `REFRESH_RATE=${s.refreshSeconds} cannot be met for ${services} services at CLOUDMAP_READ_RATE_LIMIT=${s.readsPerSecond}: ` +
        `each service is re-read every ${round1(refreshSeconds)} s. Raise CLOUDMAP_READ_RATE_LIMIT to ${Math.ceil(services / s.refreshSeconds)} ` +
        `or set REFRESH_RATE=${Math.ceil(refreshSeconds)}`
    )
  }
  return { roundSeconds, refreshSeconds, callsPerMinute, readsPerMinute, problems }
}
