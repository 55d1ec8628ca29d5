/**
 * The change feed checked against what the reads find, pure. Every read of a service (sweep,
 * SIGHUP, start) is compared with the last one: a changed InstancesRevision that no operation of
 * the feed named in between is a candidate miss (health changes leave revisions alone, so they are
 * never one). A candidate becomes a miss when the feed still has not named the service GRACE after
 * the read (an operation Cloud Map lists a little late is no miss). Misses with no hit of the feed
 * (a named service) since show a feed that is blind without failing: ./feed-round.ts first tries
 * the other reading of UPDATE_DATE, then makes the feed unavailable (`misses`).
 */
export interface Candidate {
  readonly serviceId: string
  /** The service's name (for the log and /status). */
  readonly name: string
  /** When the service was read before (epoch ms): the feed should have named it since. */
  readonly since: number
  /** When the read found the change. */
  readonly foundAt: number
}

export interface Miss {
  readonly serviceId: string
  readonly name: string
  readonly since: number
  readonly foundAt: number
}

export interface VerifyState {
  /** The last read of each service: when, and the revision it found. */
  readonly lastRead: ReadonlyMap<string, { readonly at: number; readonly revision: number | undefined }>
  /** When the feed last named each service. */
  readonly namedAt: ReadonlyMap<string, number>
  /** When a round last checked every revision because of an operation it could not place. */
  readonly allNamedAt: number
  readonly candidates: ReadonlyMap<string, Candidate>
  /** Misses since the last hit, within MISS_WINDOW_MS. */
  readonly misses: ReadonlyArray<Miss>
  /** Every miss since start (the metric and /status count). */
  readonly missesTotal: number
  /** When the feed last named a service that was read (a hit). */
  readonly lastHitAt: number | undefined
  /** Reads before this time (epoch ms) are not held against the feed: it was not active then. */
  readonly activeSince: number
}

/** How long misses count (older ones are forgotten). */
export const MISS_WINDOW_MS = 600_000
/** Misses since the last hit that make the feed unavailable; one when it never had a hit in the window. */
export const MISSES_BEFORE_FALLBACK = 2
/** A service not read for this long is forgotten (deleted, or no longer mapped). */
const FORGET_READ_MS = 3_600_000

/** How long after a read the feed may still name the change it found: three rounds and 5 s. */
export const graceMs = (periodSeconds: number): number => 3 * periodSeconds * 1000 + 5_000

export const initialVerifyState = (now: number): VerifyState => ({
  lastRead: new Map(),
  namedAt: new Map(),
  allNamedAt: Number.NEGATIVE_INFINITY,
  candidates: new Map(),
  misses: [],
  missesTotal: 0,
  lastHitAt: undefined,
  activeSince: now
})

/** The feed named these services at `now`: their candidates are explained; any named service is a hit. */
export const named = (v: VerifyState, serviceIds: Iterable<string>, now: number): VerifyState => {
  const namedAt = new Map(v.namedAt)
  const candidates = new Map(v.candidates)
  let hit = false
  for (const id of serviceIds) {
    namedAt.set(id, now)
    candidates.delete(id)
    if (v.lastRead.has(id)) hit = true
  }
  return hit ? { ...v, namedAt, candidates, misses: [], lastHitAt: now } : { ...v, namedAt, candidates }
}

/** A round checked every revision because of operations it could not place: every change up to now is explained. */
export const namedAll = (v: VerifyState, now: number): VerifyState => ({ ...v, allNamedAt: now, candidates: new Map() })

export interface ServiceRead {
  readonly serviceId: string
  readonly name: string
  readonly revision: number | undefined
}

/**
 * Reads made at `now`: a revision that changed since the service's last read, with the feed
 * active all along and no operation naming the service since, is a candidate miss.
 */
export const readsFound = (v: VerifyState, reads: ReadonlyArray<ServiceRead>, now: number, feedActive: boolean): VerifyState => {
  const lastRead = new Map(v.lastRead)
  const candidates = new Map(v.candidates)
  for (const r of reads) {
    const before = v.lastRead.get(r.serviceId)
    lastRead.set(r.serviceId, { at: now, revision: r.revision })
    if (!feedActive || before === undefined || before.revision === r.revision || r.revision === undefined) continue
    if (before.at < v.activeSince || candidates.has(r.serviceId)) continue
    const explained = (v.namedAt.get(r.serviceId) ?? Number.NEGATIVE_INFINITY) >= before.at || v.allNamedAt >= before.at
    if (!explained) candidates.set(r.serviceId, { serviceId: r.serviceId, name: r.name, since: before.at, foundAt: now })
  }
  for (const [id, read] of lastRead) if (now - read.at > FORGET_READ_MS) lastRead.delete(id)
  return { ...v, lastRead, candidates }
}

/** Candidates past their grace become misses; misses older than the window are forgotten. */
export const confirmMisses = (v: VerifyState, now: number, grace: number): { readonly state: VerifyState; readonly confirmed: ReadonlyArray<Miss> } => {
  const candidates = new Map(v.candidates)
  const confirmed: Array<Miss> = []
  for (const [id, c] of v.candidates) {
    if (c.foundAt + grace > now) continue
    candidates.delete(id)
    confirmed.push({ serviceId: c.serviceId, name: c.name, since: c.since, foundAt: c.foundAt })
  }
  const misses = [...v.misses.filter((m) => now - m.foundAt < MISS_WINDOW_MS), ...confirmed]
  return { state: { ...v, candidates, misses, missesTotal: v.missesTotal + confirmed.length }, confirmed }
}

/** Whether the misses show a blind feed: two since the last hit, or one when there was no hit in the window. */
export const blind = (v: VerifyState, now: number): boolean =>
  v.misses.length >= MISSES_BEFORE_FALLBACK ||
  (v.misses.length >= 1 && (v.lastHitAt === undefined || now - v.lastHitAt >= MISS_WINDOW_MS))

/** The feed became active (again) at `now`: reads before are not held against it, misses start anew. */
export const activeFrom = (v: VerifyState, now: number): VerifyState => ({ ...v, activeSince: now, candidates: new Map(), misses: [] })

/** What the misses say, for the log and /status: which services changed without an operation. */
export const describeMisses = (misses: ReadonlyArray<Miss>, listed: number): string => {
  const names = [...new Set(misses.map((m) => m.name))].slice(0, 5).join(", ")
  return `${misses.length} change${misses.length === 1 ? "" : "s"} found by reads that no operation of the feed named (${names}); ` +
    `the feed listed ${listed} operation${listed === 1 ? "" : "s"} meanwhile`
}
