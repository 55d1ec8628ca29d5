/** Waiting, always bounded: a plain sleep, and polling until something is there or a deadline passes. */

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

export interface WaitOptions {
  readonly timeoutMs: number
  /** Pause between two probes. */
  readonly intervalMs: number
  /** The error at the deadline. */
  readonly timeout: () => Error
  /** Checked after every unsuccessful probe: an error ends the wait at once (the process died, say). */
  readonly abort?: () => Error | undefined
}

/**
 * Calls `probe` until it returns something other than undefined, and returns that. A probe that
 * throws counts as "not yet". The clock is `performance.now()`.
 */
export const waitFor = async <A>(probe: () => Promise<A | undefined>, options: WaitOptions): Promise<A> => {
  const deadline = performance.now() + options.timeoutMs
  while (performance.now() < deadline) {
    let value: A | undefined
    try {
      value = await probe()
    } catch {
      value = undefined
    }
    if (value !== undefined) return value
    const aborted = options.abort?.()
    if (aborted !== undefined) throw aborted
    await sleep(options.intervalMs)
  }
  throw options.timeout()
}
