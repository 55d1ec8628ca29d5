/** Watching one process over a window: periodic samples, and the CPU time it used meanwhile. */
import { cpuSeconds } from "./proc.ts"
import { sleep } from "./wait.ts"

export interface ProcessWindow<S> {
  readonly wallSeconds: number
  /** utime + stime used during the window. */
  readonly cpuSeconds: number
  readonly samples: Array<S>
}

/**
 * For `seconds`, takes `sample(secondsSinceStart)` every `everyMs` (the last one at the end of the
 * window). A sample of undefined means the process is gone: the window ends with `gone()`.
 */
export const watchProcess = async <S>(
  pid: number,
  seconds: number,
  everyMs: number,
  sample: (elapsedSeconds: number) => S | undefined,
  gone: () => Error
): Promise<ProcessWindow<S>> => {
  const cpu0 = cpuSeconds(pid)
  const t0 = performance.now()
  const samples: Array<S> = []
  const end = t0 + seconds * 1000
  while (performance.now() < end) {
    await sleep(Math.min(everyMs, Math.max(0, end - performance.now())))
    const s = sample(Math.round((performance.now() - t0) / 1000))
    if (s === undefined) throw gone()
    samples.push(s)
  }
  const wallSeconds = (performance.now() - t0) / 1000
  return { wallSeconds, cpuSeconds: cpuSeconds(pid) - cpu0, samples }
}
