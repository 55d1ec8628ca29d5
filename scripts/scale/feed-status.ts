/**
 * The change feed as the agent's `/status` shows it (`changeFeed`): read after each size's
 * registrations (recorded, and noted in the section when it is not what the mode measures), and
 * with `--feed-denied` checked after ready, before the window: the run fails unless the feed is
 * unavailable because it was denied, i.e. the window measures the fallback (revision polling).
 */
import type { AgentProcess } from "../bench/agent.ts"
import { waitFor } from "../bench/wait.ts"
import { FEED_CHECK_INTERVAL_MS, FEED_CHECK_TIMEOUT_MS } from "./params.ts"
import type { ScaleMode } from "./results.ts"

interface StatusFeed {
  readonly state?: string
  readonly problem?: string
  readonly detail?: string
  readonly misses?: number
  readonly updateDateUnit?: string
  readonly resumed?: { readonly caughtUp?: boolean }
  readonly lastRound?: { readonly checkedAll?: boolean }
}

/** What the feed must show for the window to measure the mode: `active`, or `unavailable (denied)`. */
export const EXPECTED_FEED: Record<ScaleMode, string> = {
  "change-feed": "active",
  "feed-denied": "unavailable (denied)",
  "reading-instance": "active",
  "reading-not-found": "active",
  "reading-milliseconds": "active",
  "reading-foreign-churn": "active"
}

const feedText = (feed: StatusFeed | undefined): string =>
  feed?.state === undefined ? "not in /status" : feed.problem === undefined ? feed.state : `${feed.state} (${feed.problem})`

/** `/status` changeFeed, or undefined when /status did not answer. */
const readFeed = async (get: AgentProcess["get"]): Promise<{ readonly text: string; readonly feed: StatusFeed | undefined } | undefined> => {
  const r = await get("/status")
  if (r === undefined || r.status !== 200) return undefined
  let feed: StatusFeed | undefined
  try {
    feed = (JSON.parse(r.body) as { changeFeed?: StatusFeed }).changeFeed
  } catch {
    return { text: "an unreadable /status", feed: undefined }
  }
  return { text: feedText(feed), feed }
}

/** The feed as `/status` shows it now (`no /status answer` when it does not answer). */
export const changeFeedNow = async (get: AgentProcess["get"]): Promise<string> => (await readFeed(get))?.text ?? "no /status answer"

/**
 * `--feed-denied`: reads `/status` every FEED_CHECK_INTERVAL_MS until `changeFeed.state` is
 * "unavailable" with `problem` "denied" (the feed's first round follows the first full read, so
 * right after ready it may still show "active"), and throws with the last state seen when that
 * does not happen within FEED_CHECK_TIMEOUT_MS, or at once when the feed shows another problem.
 */
export const verifyFeedDenied = async (get: AgentProcess["get"], label: string): Promise<string> => {
  const started = performance.now()
  let last = "no /status answer"
  let other: string | undefined
  const seen = await waitFor(async () => {
    const r = await readFeed(get)
    if (r === undefined) return undefined
    last = r.feed?.detail === undefined ? r.text : `${r.text}: ${r.feed.detail}`
    if (r.feed?.state === "unavailable" && r.feed.problem !== "denied") other = last
    return r.feed?.state === "unavailable" && r.feed.problem === "denied" ? r.text : undefined
  }, {
    timeoutMs: FEED_CHECK_TIMEOUT_MS,
    intervalMs: FEED_CHECK_INTERVAL_MS,
    timeout: () => new Error(`${label}: --feed-denied: /status did not show changeFeed unavailable (denied) within ${FEED_CHECK_TIMEOUT_MS / 1000} s; last seen: ${last}`),
    abort: () => (other === undefined ? undefined : new Error(`${label}: --feed-denied: the change feed is unavailable for another reason than denied: ${other}`))
  })
  return `${label}: --feed-denied: /status shows changeFeed ${seen} ${Math.round(performance.now() - started)} ms after ready; revision polling runs`
}

/** `/status` changeFeed's misses and UPDATE_DATE unit now (undefined members when it does not say). */
export const feedCheckNow = async (get: AgentProcess["get"]): Promise<{ readonly misses?: number; readonly unit?: string }> => {
  const feed = (await readFeed(get))?.feed
  return { ...(feed?.misses === undefined ? {} : { misses: feed.misses }), ...(feed?.updateDateUnit === undefined ? {} : { unit: feed.updateDateUnit }) }
}

/**
 * `--reading foreign-churn` (retained scan): ms until `/status` shows the resumed listing caught up
 * and a round after it that did not check every revision (the round that catches up may still
 * hold a backlog of lookups), or a thrown error.
 */
export const waitResumed = async (get: AgentProcess["get"], label: string, timeoutMs: number): Promise<number> => {
  const started = performance.now()
  let last = "no /status answer"
  await waitFor(async () => {
    const r = await readFeed(get)
    if (r !== undefined) last = r.text + (r.feed?.resumed === undefined ? "" : `, resumed (caught up: ${r.feed.resumed.caughtUp})`)
    return r?.feed?.resumed?.caughtUp === true && r.feed.lastRound?.checkedAll === false ? true : undefined
  }, {
    timeoutMs,
    intervalMs: FEED_CHECK_INTERVAL_MS,
    timeout: () => new Error(`${label}: --reading foreign-churn: /status did not show the resumed listing caught up within ${timeoutMs / 1000} s; last seen: ${last}`)
  })
  return performance.now() - started
}

/** `--reading milliseconds`: ms until `/status` shows `updateDateUnit` milliseconds (after `trigger`), or a thrown error. */
export const waitUnitLearnt = async (get: AgentProcess["get"], label: string, timeoutMs: number): Promise<number> => {
  const started = performance.now()
  await waitFor(async () => ((await readFeed(get))?.feed?.updateDateUnit === "milliseconds" ? true : undefined), {
    timeoutMs,
    intervalMs: FEED_CHECK_INTERVAL_MS,
    timeout: () => new Error(`${label}: --reading milliseconds: /status did not show changeFeed.updateDateUnit milliseconds within ${timeoutMs / 1000} s`)
  })
  return performance.now() - started
}
