/**
 * One round of the change feed, with its calls: ListOperations over the window (every page, up
 * to CHANGE_FEED_MAX_PAGES), then GetOperation for each operation listed for the first time (up
 * to CHANGE_FEED_MAX_OPERATIONS; more: every revision is checked instead). Denied, throttled,
 * too many pages or failing rounds make the feed unavailable: that is said once (log, /status
 * changeFeed, cloudmap_haproxy_change_feed_active and _unavailable_total), revision polling runs,
 * and the feed is tried again after CHANGE_FEED_RETRY. The decisions are in ./change-feed.ts.
 */
import { Clock, Effect, Metric, Ref } from "effect"
import { CloudMap, type CloudMapError, type OperationSummary } from "../cloudmap/client.ts"
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
  problemOf,
  windowAt
} from "./change-feed.ts"
import type { ChangeFeedState, Status } from "./status.ts"

/** What a round of the feed tells the polling round. */
export type FeedOutcome =
  /** Read these services (by service id) now; none: nothing changed. */
  | { readonly _tag: "Changes"; readonly serviceIds: ReadonlySet<string> }
  /** Too many new operations to look up: check every service's revision. */
  | { readonly _tag: "CheckAll" }
  /** The feed is off or unavailable: a revision polling round. */
  | { readonly _tag: "Polling" }
  /** This round's walk failed (transient): the next window still covers it. */
  | { readonly _tag: "Missed" }

/** GetOperation calls in flight at most. */
const LOOKUPS_IN_FLIGHT = 4

const advice: Record<FeedProblem, string> = {
  denied: "grant servicediscovery:ListOperations and servicediscovery:GetOperation to the task role, or set CHANGE_FEED=false",
  throttled: "the account's ListOperations/GetOperation quota is used up by something else; raise it or set CHANGE_FEED=false",
  pages: "the account keeps more operations than CHANGE_FEED_MAX_PAGES pages hold (Cloud Map pages before it filters); raise CHANGE_FEED_MAX_PAGES or set CHANGE_FEED=false",
  failing: "ListOperations keeps failing"
}

const statusOf = (mode: FeedMode, lastRound: ChangeFeedState["lastRound"]): ChangeFeedState =>
  mode._tag === "Off"
    ? { state: "off" }
    : mode._tag === "Active"
    ? { state: "active", ...(lastRound === undefined ? {} : { lastRound }) }
    : { state: "unavailable", problem: mode.problem, detail: mode.detail, since: mode.since, retryAt: mode.retryAt, ...(lastRound === undefined ? {} : { lastRound }) }

interface WalkFailed {
  readonly problem: FeedProblem | "transient"
  readonly detail: string
}

const walkFailed = (problem: FeedProblem | "transient", detail: string): WalkFailed => ({ problem, detail })
const failedCall = (e: CloudMapError) => walkFailed(problemOf(e.kind), e.message)

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
    const state = yield* Ref.make<FeedState>(initialFeedState(on))
    let lastRound: ChangeFeedState["lastRound"]
    yield* Metric.update(M.changeFeedActive, on ? 1 : 0)
    yield* updateStatus((s) => ({ ...s, changeFeed: statusOf(on ? { _tag: "Active" } : { _tag: "Off" }, undefined) }))

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
        yield* Metric.update(M.changeFeedActive, now._tag === "Active" ? 1 : 0)
        yield* updateStatus((s) => ({ ...s, changeFeed: statusOf(now, lastRound) }))
      })

    /** Every page of the window, or why not. */
    const walk = (cloudMap: CloudMap["Service"], window: { readonly from: number; readonly to: number }) =>
      Effect.gen(function*() {
        const operations: Array<OperationSummary> = []
        let token: string | undefined
        for (let pages = 1;; pages++) {
          const page = yield* cloudMap.listOperationsPage(window, token).pipe(Effect.mapError(failedCall))
          operations.push(...page.operations)
          token = page.nextToken
          if (token === undefined) return { operations, pages }
          if (pages >= settings.maxPages) {
            return yield* Effect.fail(
              walkFailed("pages", `ListOperations had more than ${settings.maxPages} pages in one round (CHANGE_FEED_MAX_PAGES)`)
            )
          }
        }
      })

    /** The feed's part of a polling round at `now`. */
    const round: Effect.Effect<FeedOutcome, never, CloudMap> = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const before = yield* Ref.get(state)
      if (!feedDue(before, now)) return { _tag: "Polling" } as const
      const cloudMap = yield* CloudMap
      const walked = yield* Effect.result(walk(cloudMap, windowAt(before, now)))
      if (walked._tag === "Failure") {
        const next = afterFailure(before, now, walked.failure, settings)
        yield* commit(before, next)
        if (next.mode._tag === "Unavailable") return { _tag: "Polling" } as const
        yield* Effect.logDebug("change feed round failed; the next window covers it", { error: walked.failure.detail })
        return { _tag: "Missed" } as const
      }
      const { operations, pages } = walked.success
      const listing = classifyListing(before, operations)
      yield* Metric.update(M.changeFeedOperations, listing.fresh.length)
      if (listing.fresh.length > settings.maxOperations) {
        lastRound = { at: now, pages, operations: operations.length, new: listing.fresh.length, services: 0, checkedAll: true }
        yield* commit(before, afterWalk(before, now, operations, new Map(listing.fresh.map((op) => [op.id, undefined])), new Set()))
        return { _tag: "CheckAll" } as const
      }
      const looked = yield* Effect.forEach(listing.fresh, (op) => Effect.result(cloudMap.getOperation(op.id)), {
        concurrency: LOOKUPS_IN_FLIGHT
      })
      const services = new Map<string, string | undefined>()
      const unresolved = new Set<string>()
      let refused: WalkFailed | undefined
      looked.forEach((r, i) => {
        const id = listing.fresh[i]!.id
        if (r._tag === "Success") services.set(id, r.success.serviceId)
        else if (r.failure.kind === "notFound") services.set(id, undefined)
        else {
          unresolved.add(id)
          const problem = problemOf(r.failure.kind)
          if (problem !== "transient") refused ??= walkFailed(problem, r.failure.message)
        }
      })
      const serviceIds = new Set<string>()
      for (const id of services.values()) if (id !== undefined) serviceIds.add(id)
      for (const op of listing.statusChanged) if (op.serviceId !== undefined) serviceIds.add(op.serviceId)
      lastRound = { at: now, pages, operations: operations.length, new: listing.fresh.length, services: serviceIds.size, checkedAll: unresolved.size > 0 }
      const walkedState = afterWalk(before, now, operations, services, unresolved)
      if (refused !== undefined) {
        // GetOperation refused (a policy with ListOperations only): this round checks everything.
        yield* commit(before, afterFailure(walkedState, now, refused, settings))
        return { _tag: "CheckAll" } as const
      }
      yield* commit(before, walkedState)
      // A lookup that failed for now: its service is unknown, so every revision is checked.
      return unresolved.size > 0 ? { _tag: "CheckAll" } as const : { _tag: "Changes", serviceIds } as const
    })

    return {
      round,
      /** The first full read started at `at`: the first window starts there. */
      startAt: (at: number) => Ref.update(state, (s) => ({ ...s, since: s.since ?? at })),
      /** CHANGE_FEED_RATE while the feed is used (changes are seen within it); undefined: revision polling. */
      periodSeconds: Effect.map(Ref.get(state), (s) => (s.mode._tag === "Active" ? settings.periodSeconds : undefined))
    }
  })
