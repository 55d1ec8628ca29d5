/**
 * One round of the change feed, with its calls: ListOperations over the window (every page, up
 * to CHANGE_FEED_MAX_PAGES; beyond that, the listing resumed where each round ended instead:
 * ./feed-tail.ts), then GetOperation for operations listed for the first time (up to
 * CHANGE_FEED_MAX_OPERATIONS a round; the others wait for the next round, and a backlog of more
 * than three rounds makes this round check every revision instead). An operation whose service
 * GetOperation does not name is placed by its instance (the reads' index); one that cannot be
 * placed makes the round check every revision: latency and cost, never silence.
 * The feed is checked against the reads (./feed-verify.ts): changes it never named are misses;
 * misses with no hit first make it try the other unit of UPDATE_DATE, then make it unavailable.
 * Denied, throttled, too many pages, failing rounds or misses make the feed unavailable: that is
 * said once (log, /status changeFeed, cloudmap_haproxy_change_feed_active and _unavailable_total),
 * revision polling runs, and the feed is tried again after CHANGE_FEED_RETRY. The decisions are
 * in ./change-feed.ts and ./feed-verify.ts.
 */
import { Clock, Effect, Metric, Ref } from "effect"
import { CloudMap, type CloudMapError, type OperationSummary, type OperationWindow } from "../cloudmap/client.ts"
import * as M from "../observability/metrics.ts"
import {
  afterFailure,
  afterWalk,
  classifyListing,
  feedDue,
  type FeedMode,
  type FeedProblem,
  type FeedSettings,
  type FeedState,
  initialFeedState,
  OVERLAP_MS,
  otherUnit,
  type PlacedOperation,
  placeByInstance,
  problemOf,
  windowAt,
  AHEAD_MS
} from "./change-feed.ts"
import { follow, lookUp } from "./feed-lookups.ts"
import { afterTailPages, startTail, type Tail, toFollow } from "./feed-tail.ts"
import { makeInstanceIndex } from "./instance-index.ts"
import type { ServiceUpdate } from "./snapshot-update.ts"
import { activeFrom, blind, confirmMisses, describeMisses, graceMs, named, namedAll, readsFound, type ServiceRead } from "./feed-verify.ts"
import type { ChangeFeedState, Status } from "../status/status.ts"

/** What a round of the feed tells the polling round. */
export type FeedOutcome =
  /**
   * Read these services (by service id) now; `checkAll`: an operation could not be placed (or too
   * many wait for a lookup), so every service's revision is checked as well.
   */
  | { readonly _tag: "Changes"; readonly serviceIds: ReadonlySet<string>; readonly checkAll: boolean }
  /** The feed is off or unavailable: a revision polling round. */
  | { readonly _tag: "Polling" }
  /** This round's walk failed (transient): the next window still covers it. */
  | { readonly _tag: "Missed" }

/** Operations waiting for a lookup beyond this many rounds' budget: the round checks every revision instead. */
const BACKLOG_ROUNDS = 3

const advice: Record<FeedProblem, string> = {
  denied: "grant servicediscovery:ListOperations and servicediscovery:GetOperation to the task role, or set CHANGE_FEED=false",
  throttled: "the account's ListOperations/GetOperation quota is used up by something else; raise it or set CHANGE_FEED=false",
  pages: "the account adds operations faster than CHANGE_FEED_MAX_PAGES pages a round can follow (Cloud Map pages before it filters); raise CHANGE_FEED_MAX_PAGES or set CHANGE_FEED=false",
  failing: "ListOperations keeps failing",
  misses: "Cloud Map did not list operations for changes the reads found (with UPDATE_DATE in seconds and in milliseconds): revision polling finds them; if it lasts, set CHANGE_FEED=false"
}

const statusOf = (state: FeedState, lastRound: ChangeFeedState["lastRound"]): ChangeFeedState => {
  const mode = state.mode
  const checked = {
    misses: state.verify.missesTotal,
    updateDateUnit: state.unit,
    ...(state.tail === undefined ? {} : { resumed: { since: state.tail.since, caughtUp: state.tail.caughtUp } }),
    ...(lastRound === undefined ? {} : { lastRound })
  }
  return mode._tag === "Off"
    ? { state: "off" }
    : mode._tag === "Active"
    ? { state: "active", ...checked }
    : { state: "unavailable", problem: mode.problem, detail: mode.detail, since: mode.since, retryAt: mode.retryAt, ...checked }
}

interface WalkFailed {
  readonly problem: FeedProblem | "transient"
  readonly detail: string
  /** Cloud Map refused the request as invalid (a resumed listing's token it no longer takes). */
  readonly invalid?: boolean
}

const walkFailed = (problem: FeedProblem | "transient", detail: string): WalkFailed => ({ problem, detail })
const failedCall = (e: CloudMapError): WalkFailed => ({ ...walkFailed(problemOf(e.kind), e.message), invalid: e.kind === "invalid" })

/** A round's listing: its operations, the pages it took, and the resumed listing after it (if one is followed). */
interface Listed {
  readonly operations: ReadonlyArray<OperationSummary>
  readonly pages: number
  readonly tail: Tail | undefined
}

/** Settings of a feed that is off: never read, an off feed is never due. */
const OFF: FeedSettings = { periodSeconds: 0, maxPages: 0, maxOperations: 0, retrySeconds: 0 }

/** The change feed; `undefined` settings: CHANGE_FEED=false (off: every round is a polling round). */
export const makeChangeFeed = (
  feedSettings: FeedSettings | undefined,
  updateStatus: (f: (s: Status) => Status) => Effect.Effect<void>
) =>
  Effect.gen(function*() {
    const on = feedSettings !== undefined
    const settings = feedSettings ?? OFF
    const state = yield* Ref.make<FeedState>(initialFeedState(on, yield* Clock.currentTimeMillis))
    let lastRound: ChangeFeedState["lastRound"]
    const instances = makeInstanceIndex()
    yield* Metric.update(M.changeFeedActive, on ? 1 : 0)
    // Exported from the start (0 misses), so a dashboard or a bench sees a healthy feed as 0, not as absent.
    if (on) yield* Metric.update(M.changeFeedMisses, 0)
    yield* updateStatus((s) => ({ ...s, changeFeed: on ? { state: "active", misses: 0, updateDateUnit: "seconds" } : { state: "off" } }))

    /** Stores the next state and says what changed about the feed's availability (once). */
    const commit = (before: FeedState, next: FeedState) =>
      Effect.gen(function*() {
        yield* Ref.set(state, next)
        const was = before.mode
        const now = next.mode
        if (now._tag === "Unavailable" && was._tag !== "Unavailable") {
          yield* Effect.logWarning("change feed unavailable; polling revisions instead", {
            problem: now.problem,
            error: now.detail,
            fix: advice[now.problem],
            retryInSeconds: settings.retrySeconds
          })
          yield* Metric.update(Metric.withAttributes(M.changeFeedUnavailable, { problem: now.problem }), 1)
        } else if (now._tag === "Active" && was._tag === "Unavailable") {
          yield* Effect.logInfo("change feed available again", { unavailableFor: was.problem })
        }
        if (next.unit !== before.unit) {
          yield* Effect.logWarning("change feed: Cloud Map reads UPDATE_DATE in " + next.unit + "; the feed sends it so from now on", {
            found: "operations listed only with this unit, for changes the reads found"
          })
        }
        yield* Metric.update(M.changeFeedActive, now._tag === "Active" ? 1 : 0)
        yield* updateStatus((s) => ({ ...s, changeFeed: statusOf(next, lastRound) }))
      })

    /** Every page of the window, or why not. */
    const walk = (cloudMap: CloudMap["Service"], window: OperationWindow) =>
      Effect.gen(function*() {
        const operations: Array<OperationSummary> = []
        let token: string | undefined
        for (let pages = 1;; pages++) {
          const page = yield* cloudMap.listOperationsPage(window, token).pipe(Effect.mapError(failedCall))
          operations.push(...page.operations)
          token = page.nextToken
          if (token === undefined) return { operations, pages, tail: undefined } satisfies Listed
          if (pages >= settings.maxPages) {
            return yield* Effect.fail(
              walkFailed("pages", `ListOperations had more than ${settings.maxPages} pages in one round (CHANGE_FEED_MAX_PAGES)`)
            )
          }
        }
      })

    const pagesPerTailRound = Math.max(settings.maxPages, 2)
    /**
     * The resumed listing's next pages: from where the last round ended, CHANGE_FEED_MAX_PAGES at
     * most but never fewer than two (the last page again, and the one it filled up into).
     */
    const walkTail = (cloudMap: CloudMap["Service"], tail: Tail) =>
      Effect.gen(function*() {
        const operations: Array<OperationSummary> = []
        let token = tail.token
        for (let pages = 1;; pages++) {
          const page = yield* cloudMap.listOperationsPage(tail.window, token).pipe(Effect.mapError(failedCall))
          operations.push(...page.operations)
          if (page.nextToken === undefined || pages >= pagesPerTailRound) {
            return { operations, pages, tail: afterTailPages(tail, token, page.nextToken) } satisfies Listed
          }
          token = page.nextToken
        }
      })

    /**
     * A round that starts (or starts again) the resumed listing: it lists nothing new, so every
     * revision is checked. Said once each time.
     */
    const resume = (before: FeedState, now: number, tail: Tail, why: string) =>
      Effect.gen(function*() {
        yield* Effect.logWarning("change feed: " + why + "; each round now goes on from the page the last one ended on, and every revision is checked until it has caught up", {
          pagesPerRound: pagesPerTailRound
        })
        lastRound = { at: now, pages: 0, operations: 0, new: 0, services: 0, checkedAll: true }
        const active = before.mode._tag === "Active"
        const verify = namedAll(active ? before.verify : activeFrom(before.verify, now), now)
        yield* commit(before, { ...before, mode: before.mode._tag === "Off" ? before.mode : { _tag: "Active" }, tail, verify })
        return { _tag: "Changes", serviceIds: new Set<string>(), checkAll: true } as const
      })

    /**
     * Whether the window's first CHANGE_FEED_MAX_PAGES pages list an operation `unseen` accepts:
     * found at the first one (proof enough: a busy account's long window is not walked to its end);
     * otherwise `why` says whether the window ended without one or could not be walked.
     */
    const probe = (cloudMap: CloudMap["Service"], window: OperationWindow, unseen: (op: OperationSummary) => boolean) =>
      Effect.gen(function*() {
        let token: string | undefined
        for (let pages = 1; pages <= settings.maxPages; pages++) {
          const page = yield* cloudMap.listOperationsPage(window, token)
          if (page.operations.some(unseen)) return { found: true } as const
          token = page.nextToken
          if (token === undefined) return { found: false, why: `UPDATE_DATE in ${window.unit} lists none of them either` } as const
        }
        return { found: false, why: `UPDATE_DATE in ${window.unit} could not be tried: the window had more than ${settings.maxPages} pages (CHANGE_FEED_MAX_PAGES)` } as const
      }).pipe(Effect.catch((e) => Effect.succeed({ found: false, why: `UPDATE_DATE in ${window.unit} could not be tried: ${failedCall(e).detail}` } as const)))

    /**
     * The feed is blind by its misses: try the other unit of UPDATE_DATE over the missed changes'
     * time. Operations it lists that the feed never saw: that unit is Cloud Map's (the round goes
     * on with it, from the first missed change on). Otherwise the feed is unavailable (`misses`),
     * its detail saying what the other unit gave.
     */
    const recheck = (cloudMap: CloudMap["Service"], before: FeedState, now: number) =>
      Effect.gen(function*() {
        const from = Math.min(...before.verify.misses.map((m) => m.since))
        const unit = otherUnit(before.unit)
        const probed = yield* probe(cloudMap, { from: from - OVERLAP_MS, to: now + AHEAD_MS, unit }, (op) => !before.seen.has(op.id))
        if (probed.found) {
          const next: FeedState = { ...before, unit, since: from, tail: undefined, verify: { ...before.verify, misses: [], candidates: new Map() } }
          yield* commit(before, next)
          return next
        }
        const detail = `${describeMisses(before.verify.misses, before.listedTotal)}; ${probed.why}`
        yield* commit(before, afterFailure(before, now, { problem: "misses", detail }, settings))
        return undefined
      })

    /** Misses confirmed by now; a blind feed is rechecked (and maybe given up). Undefined: give up this round. */
    const verified = (cloudMap: CloudMap["Service"], before: FeedState, now: number) =>
      Effect.gen(function*() {
        if (before.mode._tag !== "Active") return before
        const { state: verify, confirmed } = confirmMisses(before.verify, now, graceMs(settings.periodSeconds))
        if (confirmed.length === 0) return before
        yield* Metric.update(M.changeFeedMisses, confirmed.length)
        yield* Effect.logWarning("change feed missed changes: the reads found them, no operation named them", {
          services: confirmed.map((m) => m.name),
          unit: before.unit
        })
        const next = { ...before, verify }
        yield* commit(before, next)
        return blind(verify, now) ? yield* recheck(cloudMap, next, now) : next
      })

    /**
     * The feed's part of a polling round at `now`. `serviceOfInstance`: the reads' instance index
     * (tests give their own); `isForeign`: services known to be in no mapped namespace (their
     * unfinished operations are not followed).
     */
    const round = (
      serviceOfInstance: (instanceId: string) => string | undefined = instances.serviceOf,
      isForeign: (serviceId: string) => boolean = () => false
    ): Effect.Effect<FeedOutcome, never, CloudMap> =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const due = yield* Ref.get(state)
        if (!feedDue(due, now)) return { _tag: "Polling" } as const
        const cloudMap = yield* CloudMap
        const before = yield* verified(cloudMap, due, now)
        if (before === undefined) return { _tag: "Polling" } as const
        const tail = before.tail
        const listOperations: Effect.Effect<Listed, WalkFailed> = tail === undefined ? walk(cloudMap, windowAt(before, now)) : walkTail(cloudMap, tail)
        const listed = yield* Effect.result(listOperations)
        if (listed._tag === "Failure") {
          const failure = listed.failure
          if (failure.problem === "pages" && tail === undefined) {
            const why = `the window had more than ${settings.maxPages} pages (CHANGE_FEED_MAX_PAGES: Cloud Map pages through the operations it keeps before it filters)`
            return yield* resume(before, now, startTail(windowAt(before, now).from, now, before.unit), why)
          }
          if (failure.invalid === true && tail?.token !== undefined) {
            const why = `Cloud Map refused the resumed listing's token (${failure.detail}); starting it again`
            return yield* resume(before, now, startTail(tail.window.from, now, tail.window.unit), why)
          }
          const next = afterFailure(before, now, failure, settings)
          yield* commit(before, next)
          if (next.mode._tag === "Unavailable") return { _tag: "Polling" } as const
          yield* Effect.logDebug("change feed round failed; the next window covers it", { error: failure.detail })
          return { _tag: "Missed" } as const
        }
        const { operations, pages, tail: resumed } = listed.success
        const listing = classifyListing(before, operations)
        yield* Metric.update(M.changeFeedOperations, listing.fresh.length)
        // A resumed listing passes an operation's page before its status is final: follow it.
        const followIds = resumed === undefined
          ? []
          : toFollow(before.seen, new Set(operations.map((op) => op.id)), isForeign, now, Math.ceil(settings.maxOperations / 2))
        // A backlog of more than a few rounds: this round checks every revision and records them all.
        const backlog = listing.fresh.length > BACKLOG_ROUNDS * settings.maxOperations
        const looked = backlog
          ? { placed: new Map(listing.fresh.map((op) => [op.id, { serviceId: undefined, instanceId: undefined }])), skipped: new Set<string>(), unplaced: listing.fresh.length, refused: undefined }
          : yield* lookUp(cloudMap, listing.fresh, serviceOfInstance, settings.maxOperations - followIds.length)
        const followed = yield* follow(cloudMap, before.seen, followIds, serviceOfInstance)
        const placed = new Map([...looked.placed, ...followed.placed])
        const serviceIds = new Set<string>(followed.serviceIds)
        for (const op of looked.placed.values()) if (op.serviceId !== undefined) serviceIds.add(op.serviceId)
        let unplaced = looked.unplaced + followed.unplaced
        for (const op of listing.statusChanged) {
          const at = placeByInstance(op, serviceOfInstance)
          if (at.serviceId !== undefined) serviceIds.add(at.serviceId)
          else unplaced++
        }
        const catchingUp = resumed !== undefined && !resumed.caughtUp
        const checkAll = unplaced > 0 || catchingUp
        lastRound = { at: now, pages, operations: operations.length, new: listing.fresh.length, services: serviceIds.size, checkedAll: checkAll }
        const walkedState = afterWalk(before, now, [...operations, ...followed.operations], placed, looked.skipped)
        const verify = named(checkAll ? namedAll(walkedState.verify, now) : walkedState.verify, serviceIds, now)
        const next = { ...walkedState, verify, tail: resumed }
        if (resumed?.caughtUp === true && tail?.caughtUp !== true) {
          yield* Effect.logInfo("change feed: the resumed listing has caught up; changes are seen within CHANGE_FEED_RATE again", {
            rounds: "each goes on from the page the last one ended on"
          })
        }
        // GetOperation refused (a policy with ListOperations only): this round checks everything.
        // A resumed listing that has not caught up within CHANGE_FEED_RETRY: the account adds
        // operations faster than CHANGE_FEED_MAX_PAGES pages a round can follow.
        const behind = catchingUp && now - resumed.since >= settings.retrySeconds * 1000
        const refused = looked.refused ??
          (behind ? walkFailed("pages", `the resumed listing did not reach its last page within ${settings.retrySeconds} s (CHANGE_FEED_RETRY) at ${settings.maxPages} pages a round (CHANGE_FEED_MAX_PAGES)`) : undefined)
        yield* commit(before, refused === undefined ? next : afterFailure(next, now, refused, settings))
        return { _tag: "Changes", serviceIds, checkAll } as const
      })

    /** Reads just made (sweep, SIGHUP, start): their instances indexed, their revisions checked against what the feed named. */
    const reads = (found: ReadonlyArray<ServiceUpdate>) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        instances.remember(found, now)
        const ok = found.flatMap(({ service }): Array<ServiceRead> =>
          service._tag === "Ok" ? [{ serviceId: service.id, name: service.name, revision: service.revision }] : []
        )
        yield* Ref.update(state, (s) => ({ ...s, verify: readsFound(s.verify, ok, now, s.mode._tag === "Active") }))
      })

    return {
      round,
      reads,
      /** The first full read started at `at`: the first window starts there. */
      startAt: (at: number) => Ref.update(state, (s) => ({ ...s, since: s.since ?? at })),
      /** CHANGE_FEED_RATE while the feed is used (changes are seen within it); undefined: revision polling. */
      periodSeconds: Effect.map(Ref.get(state), (s) => (s.mode._tag === "Active" ? settings.periodSeconds : undefined))
    }
  })
