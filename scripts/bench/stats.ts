/** Order statistics of measured values. */

/** Nearest-rank percentile of an ascending array; undefined when it is empty. */
export const percentile = (sorted: ReadonlyArray<number>, p: number): number | undefined => {
  if (sorted.length === 0) return undefined
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i]
}

/** Median (the mean of the two middle values for an even count). */
export const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

export interface Summary {
  readonly n: number
  /** Values that never came (undefined): a measurement that timed out. */
  readonly timeouts: number
  readonly p50: number | undefined
  readonly p95: number | undefined
  readonly max: number | undefined
}

export const summarize = (values: ReadonlyArray<number | undefined>): Summary => {
  const done = values.filter((v): v is number => v !== undefined).sort((a, b) => a - b)
  return {
    n: values.length,
    timeouts: values.length - done.length,
    p50: percentile(done, 50),
    p95: percentile(done, 95),
    max: done[done.length - 1]
  }
}
