/**
 * Client-side token bucket. Cloud Map's quota is per account and Region and shared with every
 * other consumer, so the agent keeps well under it. Throttling answers are a signal to slow
 * down: `slowDown` halves the rate, which then recovers additively (AIMD) back to the target
 * (RECOVERY_PER_SECOND).
 * The target is the start-up rate until `settle` (the first full read of the fleet), then the
 * steady rate.
 */
import { Clock, Effect, Ref } from "effect"

export interface RateLimiter {
  /** Waits until one request may be sent. */
  readonly acquire: Effect.Effect<void>
  /** Waits until `n` requests may be sent (one wait for a batch). */
  readonly acquireMany: (n: number) => Effect.Effect<void>
  /**
   * Ahead of the others: takes a token without waiting while the bucket owes less than one
   * second of its rate (the debt delays the next ordinary callers, so the rate over time holds).
   */
  readonly acquireFirst: Effect.Effect<void>
  /** Called on a throttling answer. */
  readonly slowDown: Effect.Effect<void>
  /** From the start-up rate to the steady rate. */
  readonly settle: Effect.Effect<void>
  /** The current rate in requests per second. */
  readonly currentRate: Effect.Effect<number>
}

interface Bucket {
  readonly tokens: number
  readonly rate: number
  readonly at: number
  /** The rate the bucket recovers to: the start-up rate, then the steady one. */
  readonly target: number
}

/**
 * After a throttling answer the rate recovers by this share of the target a second: from the
 * floor (a twentieth) to the target in under 5 s. Slower (it was 5 %, 19 s) kept a fleet's first
 * rounds after a throttling storm waiting for tokens the account had again (bench:storm).
 */
const RECOVERY_PER_SECOND = 0.2

/**
 * Pure step: refill since `at`, recover the rate, take `n` tokens; returns the wait in ms.
 * `first`: the wait is only for what goes beyond one second's worth of debt (acquireFirst).
 */
export const takeToken = (bucket: Bucket, now: number, n = 1, first = false): { bucket: Bucket; waitMs: number } => {
  const elapsed = Math.max(0, now - bucket.at) / 1000
  const rate = Math.min(bucket.target, bucket.rate + elapsed * bucket.target * RECOVERY_PER_SECOND)
  const burst = Math.max(1, rate)
  const tokens = Math.min(burst, bucket.tokens + elapsed * rate) - n
  const floor = first ? -burst : 0
  return { bucket: { ...bucket, tokens, rate, at: now }, waitMs: tokens >= floor ? 0 : ((floor - tokens) / rate) * 1000 }
}

export const makeRateLimiter = (requestsPerSecond: number, startupPerSecond = requestsPerSecond): Effect.Effect<RateLimiter> =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeMillis
    const first = Math.max(requestsPerSecond, startupPerSecond)
    const ref = yield* Ref.make<Bucket>({ tokens: Math.max(1, first), rate: first, at: start, target: first })
    const take = (n: number, first: boolean) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const waitMs = yield* Ref.modify(ref, (b) => {
          const next = takeToken(b, now, n, first)
          return [next.waitMs, next.bucket]
        })
        if (waitMs > 0) yield* Effect.sleep(Math.ceil(waitMs))
      })
    const acquireMany = (n: number) => take(n, false)
    const acquire = acquireMany(1)
    const slowDown = Ref.update(ref, (b) => ({ ...b, rate: Math.max(b.target / 20, b.rate / 2, 0.5) }))
    const settle = Ref.update(ref, (b) => ({ ...b, target: requestsPerSecond, rate: Math.min(b.rate, requestsPerSecond), tokens: Math.min(b.tokens, requestsPerSecond) }))
    return { acquire, acquireMany, acquireFirst: take(1, true), slowDown, settle, currentRate: Effect.map(Ref.get(ref), (b) => b.rate) }
  })
