/**
 * What the agent's Cloud Map calls met lately: every attempt's outcome counted in one-second
 * buckets over the last WINDOW_SECONDS, and when the last attempt ended. The client records
 * (./client.ts); the polling loop reads it for liveness (the loop makes progress while its calls
 * end, whatever Cloud Map answers) and for `degraded` (a throttling storm shows within a round,
 * not only once a round fails).
 */
import { Context, Layer } from "effect"
import type { ActivitySummary } from "../status/status.ts"

export type { ActivitySummary }

/** The calls counted, seconds back from now. */
export const WINDOW_SECONDS = 5

/**
 * A round spends its quota on changes only (reconcile/round-plan.ts) while any call was throttled
 * in the last this many ms: steadier than the share above once the agent has slowed down to a few
 * calls a second, and a single throttle only delays the safety-net reads by a round or a few.
 */
export const THROTTLED_LATELY_MS = 10_000
export const throttledLately = (s: ActivitySummary, now: number): boolean =>
  s.lastThrottledAt !== undefined && now - s.lastThrottledAt < THROTTLED_LATELY_MS

interface Bucket {
  second: number
  calls: number
  throttled: number
  failed: number
}

/** The window, as plain mutable buckets (the hot path records without allocating). */
export const makeCallWindow = (windowSeconds = WINDOW_SECONDS) => {
  const buckets: Array<Bucket> = Array.from({ length: windowSeconds }, () => ({ second: -1, calls: 0, throttled: 0, failed: 0 }))
  let lastAttemptAt: number | undefined
  let lastThrottledAt: number | undefined
  const record = (outcome: string, count: number, now: number): void => {
    const second = Math.floor(now / 1000)
    const b = buckets[second % windowSeconds]!
    if (b.second !== second) {
      b.second = second
      b.calls = 0
      b.throttled = 0
      b.failed = 0
    }
    b.calls += count
    if (outcome === "throttled") {
      b.throttled += count
      lastThrottledAt = lastThrottledAt === undefined ? now : Math.max(lastThrottledAt, now)
    }    else if (outcome !== "ok" && outcome !== "interrupted") b.failed += count
    lastAttemptAt = lastAttemptAt === undefined ? now : Math.max(lastAttemptAt, now)
  }
  const summary = (now: number): ActivitySummary => {
    const second = Math.floor(now / 1000)
    let calls = 0
    let throttled = 0
    let failed = 0
    let firstThrottled: number | undefined
    for (const b of buckets) {
      if (b.second > second - windowSeconds && b.second <= second) {
        calls += b.calls
        throttled += b.throttled
        failed += b.failed
        if (b.throttled > 0 && (firstThrottled === undefined || b.second < firstThrottled)) firstThrottled = b.second
      }
    }
    // Without a throttled call every second counts; with one, from its second on.
    const from = firstThrottled ?? second - windowSeconds + 1
    let callsSinceThrottled = 0
    for (const b of buckets) if (b.second >= from && b.second <= second) callsSinceThrottled += b.calls
    return { windowSeconds, calls, throttled, failed, lastAttemptAt, lastThrottledAt, callsSinceThrottled }
  }
  return { record, summary }
}

export class CloudMapActivity extends Context.Service<CloudMapActivity, ReturnType<typeof makeCallWindow>>()("cloudmap/CloudMapActivity") {
  static readonly layer = Layer.sync(CloudMapActivity, () => makeCallWindow())
}
