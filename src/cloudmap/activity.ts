/**
 * What the agent's Cloud Map calls met lately: every attempt's outcome counted in one-second
 * buckets over the last WINDOW_SECONDS, and when the last attempt ended. The client records
 * (./client.ts); the polling loop reads it for liveness (the loop makes progress while its calls
 * end, whatever Cloud Map answers) and for `degraded` (a throttling storm shows within a round,
 * not only once a round fails).
 */
import { Context, Layer } from "effect"

/** The calls counted, seconds back from now. */
export const WINDOW_SECONDS = 5

export interface ActivitySummary {
  readonly windowSeconds: number
  readonly calls: number
  readonly throttled: number
  /** Failed otherwise: errors, timeouts, malformed answers, denied. */
  readonly failed: number
  /** When the last attempt ended (epoch ms), whatever its outcome. */
  readonly lastAttemptAt: number | undefined
}

/** Cloud Map throttles the agent: at least 2 calls, and 10 % of the window's calls, were throttled. */
export const isThrottling = (s: ActivitySummary): boolean => s.throttled >= 2 && s.throttled >= 0.1 * s.calls

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
    if (outcome === "throttled") b.throttled += count
    else if (outcome !== "ok" && outcome !== "interrupted") b.failed += count
    lastAttemptAt = lastAttemptAt === undefined ? now : Math.max(lastAttemptAt, now)
  }
  const summary = (now: number): ActivitySummary => {
    const second = Math.floor(now / 1000)
    let calls = 0
    let throttled = 0
    let failed = 0
    for (const b of buckets) {
      if (b.second > second - windowSeconds && b.second <= second) {
        calls += b.calls
        throttled += b.throttled
        failed += b.failed
      }
    }
    return { windowSeconds, calls, throttled, failed, lastAttemptAt }
  }
  return { record, summary }
}

export class CloudMapActivity extends Context.Service<CloudMapActivity, ReturnType<typeof makeCallWindow>>()("cloudmap/CloudMapActivity") {
  static readonly layer = Layer.sync(CloudMapActivity, () => makeCallWindow())
}
