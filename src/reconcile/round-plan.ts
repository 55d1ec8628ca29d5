/**
 * What a round after the first lists, reads and checks, decided from plain data (pure;
 * ./round-runner.ts executes it). Three steps, because each needs the answer to the one before:
 * 1. `planListing` (after the change feed's round): namespaces and services are listed again once
 *    the last listing is the cadence's listing interval old, or at once when the feed names a
 *    service no listing has that is not known to be another namespace's (the feed lists the whole
 *    account). A service a listing still does not have is such a foreign one for FOREIGN_MS
 *    (`foreignAfterListing`).
 * 2. `planReads` (over what is listed now): the services the feed named go first and are read
 *    (DiscoverInstances); then the others whose read is due (./read-schedule.ts), or every one when
 *    every service must be checked (revision polling, or the feed could not place an operation);
 *    at most what the read rate allows in one period, the longest unread first, so the sweep never
 *    makes a round outlast its period; none of them while Cloud Map throttles the agent (they stay
 *    due: the quota goes to changes). A service in the round is read when named or due, otherwise
 *    its InstancesRevision is checked. The round goes in chunks spread over the period, and reads
 *    the attributes of services never read before it and the due re-reads alongside it.
 * 3. `readTimesAfter` (after the reads): the read times the next round goes by.
 */
import { type ActivitySummary, throttledLately } from "../cloudmap/activity.ts"
import type { Topology } from "../cloudmap/discovery.ts"
import { type Cadence, cadenceOf } from "./cadence.ts"
import type { KnownService } from "./check-chunk.ts"
import type { FeedOutcome } from "./feed-round.ts"
import type { FleetSettings } from "./fleet-fit.ts"
import { isDue, spreadReadAt } from "./read-schedule.ts"
import { dueAttributes, serviceIdsOf } from "./service-attributes.ts"
import { serviceKey } from "./snapshot-update.ts"

/** A service the feed named that no mapped namespace lists is not looked for again for this long. */
export const FOREIGN_MS = 600_000

/**
 * Services checked (and published, when changed) together within a round. A fleet of up to 100
 * is checked at once; a larger one in chunks spread over the round. Not smaller chunks: every
 * pause costs a wake-up, measured at about 0.2–2 ms of CPU each under bun.
 */
export const CHUNK = 100

/** What the rounds follow: the cadence's variables (./cadence.ts) and the rates. */
export interface PlanSettings {
  readonly fleet: FleetSettings
  /** CHANGE_FEED_RATE while the change feed is used; undefined: revision polling (./cadence.ts). */
  readonly feedSeconds: number | undefined
}

/** Whether the feed's service `id` is known to be in no mapped namespace at `now`. */
export const isForeign = (foreign: ReadonlyMap<string, number>, now: number) => (id: string): boolean =>
  (foreign.get(id) ?? 0) > now

// ---------------------------------------------------------------- 1. what to list

export interface ListingInput extends PlanSettings {
  /** What the last listing found. */
  readonly topology: Topology
  /** When the last listing was tried (epoch ms). */
  readonly topologyAt: number
  /** Services the feed named that no mapped namespace lists, until when (epoch ms). */
  readonly foreign: ReadonlyMap<string, number>
  readonly fed: FeedOutcome
  readonly now: number
}

export interface ListingPlan {
  /** List namespaces and services again this round. */
  readonly list: boolean
  /** Services the feed named that no listing has and that are not known to be foreign. */
  readonly unlisted: ReadonlyArray<string>
}

export const planListing = (r: ListingInput): ListingPlan => {
  const listed = new Set(serviceIdsOf(r.topology))
  const foreign = isForeign(r.foreign, r.now)
  const unlisted = r.fed._tag === "Changes" ? [...r.fed.serviceIds].filter((id) => !listed.has(id) && !foreign(id)) : []
  const listIntervalMs = cadenceOf(listed.size, r.fleet, r.feedSeconds).listIntervalMs
  return { list: r.now - r.topologyAt >= listIntervalMs || unlisted.length > 0, unlisted }
}

/**
 * The foreign services after a listing at `now`: those that expired are forgotten, and those the
 * feed named that the listing (`topology`) still does not have are foreign for FOREIGN_MS.
 */
export const foreignAfterListing = (
  foreign: ReadonlyMap<string, number>,
  unlisted: ReadonlyArray<string>,
  topology: Topology,
  now: number
): ReadonlyMap<string, number> => {
  const listed = new Set(serviceIdsOf(topology))
  const next = new Map([...foreign].filter(([, until]) => until > now))
  for (const id of unlisted) if (!listed.has(id)) next.set(id, now + FOREIGN_MS)
  return next
}

// ---------------------------------------------------------------- 2. what to read and check

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

/** The services a round checks, in order, and how long it spreads its calls over. */
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

export interface ReadInput extends PlanSettings {
  /** What is listed now (this round's listing, if it ran and answered). */
  readonly topology: Topology
  /** When each service's instances were last read, by serviceKey. */
  readonly readAt: ReadonlyMap<string, number>
  /** When each service's attributes were last read, by service id. */
  readonly attributesReadAt: ReadonlyMap<string, number>
  readonly fed: FeedOutcome
  /** What the agent's Cloud Map calls met lately; undefined: not recorded (every call counts as answered). */
  readonly calls: ActivitySummary | undefined
  readonly now: number
}

/** A chunk of the round: its services, checked together from `at` (epoch ms) on. */
export interface Chunk {
  readonly services: ReadonlyArray<KnownService>
  readonly at: number
}

export interface ReadPlan extends RoundPlan {
  /** Every listed service, with its namespace. */
  readonly known: ReadonlyArray<KnownService>
  /** The cadence for the fleet listed now. */
  readonly cadence: Cadence
  /** Cloud Map throttled the agent lately: no sweep, no attribute re-read, no read forced by its age. */
  readonly throttled: boolean
  /** Of the services in the round, those read outright (by serviceKey); the others' revisions are checked first. */
  readonly reads: ReadonlySet<string>
  /** The round's services in chunks, each starting a share of `spreadMs` after the one before. */
  readonly chunks: ReadonlyArray<Chunk>
  readonly attributes: {
    /** Every listed service id (the attributes of the others are forgotten). */
    readonly listed: ReadonlyArray<string>
    /** Services whose attributes were never read: read before the round's instances. */
    readonly firstReads: ReadonlyArray<string>
    /** Services whose attributes are due again (SERVICE_ATTRIBUTES_RATE): read alongside the round. */
    readonly rereads: ReadonlyArray<string>
    readonly intervalMs: number
  }
}

export const planReads = (r: ReadInput): ReadPlan => {
  const known: ReadonlyArray<KnownService> = r.topology.flatMap((entry) =>
    entry._tag === "Ok" ? entry.services.map((service) => ({ mapping: entry.mapping, namespace: entry.namespace, service })) : []
  )
  const cadence = cadenceOf(known.length, r.fleet, r.feedSeconds)
  const throttled = r.calls !== undefined && throttledLately(r.calls, r.now)
  const round = planRound({
    known,
    named: r.fed._tag === "Changes" ? r.fed.serviceIds : new Set(),
    checkEvery: r.fed._tag === "Polling" || (r.fed._tag === "Changes" && r.fed.checkAll),
    throttled,
    readAt: r.readAt,
    now: r.now,
    cadence,
    readsPerSecond: r.fleet.readsPerSecond,
    requestsPerSecond: r.fleet.requestsPerSecond
  })
  // Throttled: a service is read by its age only when it was never read.
  const rereadAfterMs = throttled ? Infinity : cadence.rereadAfterMs
  const reads = new Set<string>()
  for (const k of round.inRound) {
    const key = serviceKey(k.mapping, k.service.id)
    if (round.first.has(key) || isDue(r.readAt.get(key), r.now, rereadAfterMs)) reads.add(key)
  }
  const count = Math.ceil(round.inRound.length / CHUNK)
  const chunks = Array.from({ length: count }, (_, i): Chunk => ({
    services: round.inRound.slice(i * CHUNK, (i + 1) * CHUNK),
    at: r.now + i * (round.spreadMs / count)
  }))
  const listed = serviceIdsOf(r.topology)
  const intervalMs = r.fleet.serviceAttributesSeconds * 1000
  return {
    ...round,
    known,
    cadence,
    throttled,
    reads,
    chunks,
    attributes: {
      listed,
      firstReads: dueAttributes(r.attributesReadAt, listed, r.now, intervalMs, "new"),
      rereads: throttled ? [] : dueAttributes(r.attributesReadAt, listed, r.now, intervalMs, "known"),
      intervalMs
    }
  }
}

// ---------------------------------------------------------------- 3. the read times after it

/** A round that read every service (after an outage, say) spreads their next reads again (more than one). */
export const spreadsReads = (plan: ReadPlan, readNow: ReadonlySet<string>): boolean =>
  plan.known.length > 1 && readNow.size === plan.known.length

/**
 * The read times after the round: the services read now (`readNow`, by serviceKey) at `now`, or
 * backdated by `randoms[i]` (in [0, 1), one per listed service) when the round spreads its reads;
 * a named service whose read failed is due at once (its operation was counted); the others keep
 * theirs. Only listed services keep an entry, so deleted ones leave none behind.
 */
export const readTimesAfter = (
  plan: ReadPlan,
  readNow: ReadonlySet<string>,
  previous: ReadonlyMap<string, number>,
  now: number,
  randoms: ReadonlyArray<number> | undefined
): ReadonlyMap<string, number> => {
  const readAt = new Map<string, number>()
  plan.known.forEach(({ mapping, service }, i) => {
    const key = serviceKey(mapping, service.id)
    const at = readNow.has(key)
      ? (randoms === undefined ? now : spreadReadAt(now, plan.cadence.rereadAfterMs, randoms[i]!))
      : plan.first.has(key)
      ? undefined
      : previous.get(key)
    if (at !== undefined) readAt.set(key, at)
  })
  return readAt
}
