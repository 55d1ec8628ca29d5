/**
 * What a polling round reads, decided from plain data (pure; ./reconciler.ts runs it): the
 * services the change feed named go first; then the others whose read is due (./read-schedule.ts),
 * or every one when every service must be checked; at most what the read rate allows in one
 * period, the longest unread first, so the sweep never makes a round outlast its period; none of
 * them while Cloud Map throttles the agent (they stay due: the quota goes to changes). And how long
 * the round spreads its calls over.
 */
import type { Cadence } from "./cadence.ts"
import type { KnownService } from "./check-chunk.ts"
import { isDue } from "./read-schedule.ts"
import { serviceKey } from "./snapshot-update.ts"

export interface RoundInput {
  /** Every listed service. */
  readonly known: ReadonlyArray<KnownService>
  /** Ids of the services the change feed named this round. */
  readonly named: ReadonlySet<string>
  /** Every service is checked (revision polling, or more operations than the feed looks up). */
  readonly checkEvery: boolean
  /** Cloud Map throttled the agent lately (../cloudmap/activity.ts). */
  readonly throttled: boolean
  /** When each service was last read, by serviceKey. */
  readonly readAt: ReadonlyMap<string, number>
  readonly now: number
  readonly cadence: Cadence
  /** CLOUDMAP_READ_RATE_LIMIT and CLOUDMAP_RATE_LIMIT, per second. */
  readonly readsPerSecond: number
  readonly requestsPerSecond: number
}

export interface RoundPlan {
  /** The named services' keys: read now, ahead of the others in the token buckets. */
  readonly first: ReadonlySet<string>
  /** The services this round checks: the named ones first, then the sweep. */
  readonly inRound: ReadonlyArray<KnownService>
  /** The round's calls are spread over this long (ms): 80 % of the period, or longer at the rate limit. */
  readonly spreadMs: number
}

export const planRound = (r: RoundInput): RoundPlan => {
  const first = new Set<string>()
  const named: Array<KnownService> = []
  const rest: Array<KnownService> = []
  for (const k of r.known) {
    const key = serviceKey(k.mapping, k.service.id)
    if (r.named.has(k.service.id)) {
      first.add(key)
      named.push(k)
    } else if (r.checkEvery || isDue(r.readAt.get(key), r.now, r.cadence.rereadAfterMs)) rest.push(k)
  }
  const sweepCap = r.checkEvery ? rest.length : r.throttled ? 0 : Math.ceil(r.readsPerSecond * r.cadence.periodSeconds)
  if (rest.length > sweepCap) {
    const readAtOf = (k: KnownService) => r.readAt.get(serviceKey(k.mapping, k.service.id)) ?? 0
    rest.sort((a, b) => readAtOf(a) - readAtOf(b)).length = sweepCap
  }
  const inRound = [...named, ...rest]
  return {
    first,
    inRound,
    spreadMs: Math.max(0.8 * r.cadence.periodSeconds, inRound.length / r.requestsPerSecond) * 1000
  }
}
