/**
 * The change feed's resumed listing, pure. Cloud Map "gets MaxResults operations and then filters
 * them", so where it pages through every operation it keeps, a window's walk grows with the whole
 * account's history (other teams' deployments included), not with the window: past
 * CHANGE_FEED_MAX_PAGES pages the feed would be unusable for as long as Cloud Map keeps those
 * operations.
 *
 * There the feed stops walking a moving window from its first page. It fixes one window (from
 * where the feed stood to TAIL_SPAN_MS later, so the listing's tokens stay valid) and each round
 * goes on from the page the last round ended on: that page again (it may have grown) and any new
 * ones. Until it reaches the last page (catching up, CHANGE_FEED_MAX_PAGES a round) every revision
 * is checked as well. An operation listed before whose status is not final is followed with
 * GetOperation, since its page may be behind the listing by the time its status changes.
 *
 * That new operations come after the old ones is not published: if they do not, the reads find
 * changes no operation named (./feed-verify.ts) and the feed becomes unavailable (misses), as any
 * blind feed does. A token Cloud Map refuses starts the resumed listing again.
 */
import type { DateUnit } from "../cloudmap/client.ts"

/** What the feed knows of an operation it listed (./change-feed.ts SeenOperation has these). */
export interface ListedOperation {
  readonly status: string
  readonly serviceId: string | undefined
  readonly firstListedAt: number
}

/** How far ahead of its start the resumed listing's window ends: it is never moved. */
export const TAIL_SPAN_MS = 10 * 365 * 24 * 3600_000
/** An operation whose status is not final is followed for this long after it was first listed. */
export const FOLLOW_MS = 10 * 60_000

export interface Tail {
  /** The fixed window (epoch ms) and its unit: every round lists it, so its tokens stay valid. */
  readonly window: { readonly from: number; readonly to: number; readonly unit: DateUnit }
  /** Where the next round starts: the page the last round ended on, or the next one when it stopped at the page limit. */
  readonly token: string | undefined
  /** The last round reached the listing's last page. */
  readonly caughtUp: boolean
  /** When the resumed listing started (epoch ms). */
  readonly since: number
}

/** A resumed listing from `from` (epoch ms) on, started at `now`: its first rounds catch up. */
export const startTail = (from: number, now: number, unit: DateUnit): Tail => ({
  window: { from, to: now + TAIL_SPAN_MS, unit },
  token: undefined,
  caughtUp: false,
  since: now
})

/**
 * The listing after a round's pages: `lastToken` is the token of the last page read, `next` the
 * token that page gave (undefined: it was the last page, read again next round).
 */
export const afterTailPages = (tail: Tail, lastToken: string | undefined, next: string | undefined): Tail =>
  next === undefined ? { ...tail, token: lastToken, caughtUp: true } : { ...tail, token: next, caughtUp: false }

/** Not final yet: a later status change names its service again. */
export const isPending = (status: string): boolean => status === "SUBMITTED" || status === "PENDING"

/**
 * The operations to follow with GetOperation this round, oldest first, at most `max`: listed
 * before and not final, not listed this round, first listed within FOLLOW_MS, and not of a
 * service known to be in no mapped namespace.
 */
export const toFollow = (
  seen: ReadonlyMap<string, ListedOperation>,
  listed: ReadonlySet<string>,
  isForeign: (serviceId: string) => boolean,
  now: number,
  max: number
): Array<string> => {
  const due: Array<[string, number]> = []
  for (const [id, op] of seen) {
    if (listed.has(id) || !isPending(op.status) || now - op.firstListedAt >= FOLLOW_MS) continue
    if (op.serviceId !== undefined && isForeign(op.serviceId)) continue
    due.push([id, op.firstListedAt])
  }
  return due.sort((a, b) => a[1] - b[1]).slice(0, Math.max(0, max)).map(([id]) => id)
}
