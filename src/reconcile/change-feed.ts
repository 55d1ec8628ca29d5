/**
 * The change feed's state, pure: Cloud Map's instance operations (RegisterInstance,
 * DeregisterInstance) as a record of which services changed. Each round lists the operations
 * whose status changed in a window that overlaps the last one, so an operation is listed several
 * times: it counts once when it is first listed (its service comes from GetOperation) and again
 * each time its status changes (SUBMITTED, PENDING, then SUCCESS or FAIL: an unfinished operation
 * is looked at again until it ends). ./feed-round.ts makes the calls; this file decides.
 *
 * Nothing about routing depends on the feed being right: it names services to read sooner. The
 * sweep (every service read every REFRESH_RATE) repairs whatever it missed.
 */
import type { DateUnit, OperationSummary } from "../cloudmap/client.ts"
import type { Tail } from "./feed-tail.ts"
import { activeFrom, initialVerifyState, type VerifyState } from "./feed-verify.ts"

/**
 * Why the feed is not used: the agent polls revisions meanwhile and tries the feed again later.
 * `misses`: the reads found changes that no operation named (./feed-verify.ts).
 */
export type FeedProblem = "denied" | "throttled" | "pages" | "failing" | "misses"

export type FeedMode =
  | { readonly _tag: "Off" }
  | { readonly _tag: "Active" }
  | {
    readonly _tag: "Unavailable"
    readonly problem: FeedProblem
    readonly detail: string
    /** When the feed became unavailable (epoch ms). */
    readonly since: number
    /** When the feed is tried again (epoch ms). */
    readonly retryAt: number
  }

export interface SeenOperation {
  readonly status: string
  /**
   * The service it changed: Targets.SERVICE, or the service its instance was read in; undefined:
   * not known (GetOperation named neither, or answered OperationNotFound): each status change
   * then makes the round check every revision.
   */
  readonly serviceId: string | undefined
  /** Targets.INSTANCE, when GetOperation answered: placed by the reads later if the service is unknown. */
  readonly instanceId: string | undefined
  /** When it was last listed (epoch ms): forgotten SEEN_FOR_MS later. */
  readonly listedAt: number
  /** When it was first listed (epoch ms): a resumed listing follows it until FOLLOW_MS later (./feed-tail.ts). */
  readonly firstListedAt: number
}

export interface FeedState {
  readonly mode: FeedMode
  /** Where the next window starts (before the overlap): the start of the last round that walked every page. */
  readonly since: number | undefined
  readonly seen: ReadonlyMap<string, SeenOperation>
  /** Rounds in a row whose walk failed with a transient error. */
  readonly failuresInARow: number
  /** How UPDATE_DATE is sent: seconds until the reads show that Cloud Map reads milliseconds. */
  readonly unit: DateUnit
  /** The feed checked against the reads. */
  readonly verify: VerifyState
  /** Operations listed since start (what a blind feed's report says it did see). */
  readonly listedTotal: number
  /** The resumed listing, once the window had more than CHANGE_FEED_MAX_PAGES pages (./feed-tail.ts). */
  readonly tail: Tail | undefined
}

/** What a round found out about one operation (GetOperation, then the reads' instance index). */
export interface PlacedOperation {
  readonly serviceId: string | undefined
  readonly instanceId: string | undefined
}

export interface FeedSettings {
  readonly periodSeconds: number
  readonly maxPages: number
  readonly maxOperations: number
  readonly retrySeconds: number
}

/**
 * How far before the last round's start a window begins: the same operation is listed again for
 * this long (and de-duplicated), so a status change that Cloud Map lists late, or a clock that
 * differs from Cloud Map's by less than this, loses nothing.
 */
export const OVERLAP_MS = 30_000
/** How far after now a window ends (Cloud Map's clock may be ahead of ours). */
export const AHEAD_MS = 60_000
/** An operation not listed for this long is forgotten (it left every window). */
export const SEEN_FOR_MS = OVERLAP_MS + 60_000
/** Transient failures in a row before the feed counts as unavailable ("failing"). */
export const FAILURES_BEFORE_FALLBACK = 3

export const initialFeedState = (on: boolean, now = 0): FeedState => ({
  mode: on ? { _tag: "Active" } : { _tag: "Off" },
  since: undefined,
  seen: new Map(),
  failuresInARow: 0,
  unit: "seconds",
  verify: initialVerifyState(now),
  listedTotal: 0,
  tail: undefined
})

/** The window a round lists, from `now` (epoch ms), in the unit the feed sends. */
export const windowAt = (state: FeedState, now: number): { readonly from: number; readonly to: number; readonly unit: DateUnit } => ({
  from: (state.since ?? now) - OVERLAP_MS,
  to: now + AHEAD_MS,
  unit: state.unit
})

export const otherUnit = (unit: DateUnit): DateUnit => (unit === "seconds" ? "milliseconds" : "seconds")

/** Whether this round asks Cloud Map's operations (active, or unavailable and due for a retry). */
export const feedDue = (state: FeedState, now: number): boolean =>
  state.mode._tag === "Active" || (state.mode._tag === "Unavailable" && now >= state.mode.retryAt)

export interface Listing {
  /** Listed for the first time: their service comes from GetOperation. */
  readonly fresh: ReadonlyArray<OperationSummary>
  /** Listed before with another status: the services known for them changed again. */
  readonly statusChanged: ReadonlyArray<{ readonly id: string; readonly status: string } & PlacedOperation>
}

/** Sorts a round's operations into first sightings and status changes (repeats are dropped). */
export const classifyListing = (state: FeedState, operations: ReadonlyArray<OperationSummary>): Listing => {
  const fresh: Array<OperationSummary> = []
  const statusChanged: Array<{ id: string; status: string } & PlacedOperation> = []
  const inRound = new Set<string>()
  for (const op of operations) {
    if (inRound.has(op.id)) continue
    inRound.add(op.id)
    const before = state.seen.get(op.id)
    if (before === undefined) fresh.push(op)
    else if (before.status !== op.status) {
      statusChanged.push({ id: op.id, status: op.status, serviceId: before.serviceId, instanceId: before.instanceId })
    }
  }
  return { fresh, statusChanged }
}

/**
 * The state after a round that walked every page at `now`: every listed operation recorded with
 * its status (and what is known of it: `placed` by operation id, else what was known before),
 * operations not listed for SEEN_FOR_MS forgotten, the next window from `now`, and the feed active.
 */
export const afterWalk = (
  state: FeedState,
  now: number,
  operations: ReadonlyArray<OperationSummary>,
  placed: ReadonlyMap<string, PlacedOperation>,
  /** Operations not looked up (their lookup failed, or over the round's budget): not recorded, so a later round looks them up. */
  skipped: ReadonlySet<string>
): FeedState => {
  const seen = new Map<string, SeenOperation>()
  for (const [id, op] of state.seen) if (now - op.listedAt < SEEN_FOR_MS) seen.set(id, op)
  for (const op of operations) {
    if (skipped.has(op.id)) continue
    const before = state.seen.get(op.id)
    const known = placed.get(op.id) ?? before
    seen.set(op.id, {
      status: op.status,
      serviceId: known?.serviceId,
      instanceId: known?.instanceId,
      listedAt: now,
      firstListedAt: before?.firstListedAt ?? now
    })
  }
  const wasActive = state.mode._tag === "Active"
  return {
    ...state,
    mode: state.mode._tag === "Off" ? state.mode : { _tag: "Active" },
    since: now,
    seen,
    failuresInARow: 0,
    verify: wasActive ? state.verify : activeFrom(state.verify, now),
    listedTotal: state.listedTotal + operations.length
  }
}

/** The state after a failed round: unavailable at once for `problem`, or after FAILURES_BEFORE_FALLBACK transient ones. */
export const afterFailure = (
  state: FeedState,
  now: number,
  failure: { readonly problem: FeedProblem | "transient"; readonly detail: string },
  settings: Pick<FeedSettings, "retrySeconds">
): FeedState => {
  const failuresInARow = failure.problem === "transient" ? state.failuresInARow + 1 : state.failuresInARow
  const problem: FeedProblem | undefined = failure.problem !== "transient"
    ? failure.problem
    : failuresInARow >= FAILURES_BEFORE_FALLBACK || state.mode._tag === "Unavailable"
    ? "failing"
    : undefined
  if (problem === undefined) return { ...state, failuresInARow }
  const since = state.mode._tag === "Unavailable" ? state.mode.since : now
  return {
    ...state,
    // Tried again later from a window, as at start.
    tail: undefined,
    failuresInARow,
    mode: { _tag: "Unavailable", problem, detail: failure.detail, since, retryAt: now + settings.retrySeconds * 1000 }
  }
}

/** Where an operation stands once its service is looked for in the reads' instance index. */
export const placeByInstance = (op: PlacedOperation, serviceOfInstance: (instanceId: string) => string | undefined): PlacedOperation =>
  op.serviceId !== undefined || op.instanceId === undefined ? op : { ...op, serviceId: serviceOfInstance(op.instanceId) }

/** What a CloudMapError means for the feed (branching on its kind). */
export const problemOf = (kind: "throttled" | "transient" | "denied" | "notFound" | "invalid"): FeedProblem | "transient" =>
  kind === "denied" ? "denied" : kind === "throttled" ? "throttled" : kind === "transient" ? "transient" : "failing"
