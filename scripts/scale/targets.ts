/**
 * The targets of issue 11 ("Fleet-scale cost") per fleet size, and the verdicts a size's results
 * get against them. Sizes without a row have no targets.
 */
import type { SizeResult } from "./results.ts"

export interface SizeTargets {
  readonly readyMs: number
  readonly cpuPercent: number
  /** Agent Cloud Map calls per minute; undefined = no target at this size. */
  readonly callsPerMinute: number | undefined
  readonly agentRssBytes: number
  readonly servingP95Ms: number
}

const MiB = 1024 * 1024

export const TARGETS: ReadonlyMap<number, SizeTargets> = new Map([
  [100, { readyMs: 2_000, cpuPercent: 3, callsPerMinute: 1_800, agentRssBytes: 96 * MiB, servingP95Ms: 5_000 }],
  [1_000, { readyMs: 3_000, cpuPercent: 10, callsPerMinute: undefined, agentRssBytes: 128 * MiB, servingP95Ms: 5_000 }],
  [3_000, { readyMs: 8_000, cpuPercent: 15, callsPerMinute: undefined, agentRssBytes: 192 * MiB, servingP95Ms: 10_000 }]
])

/** Agent CPU per Cloud Map call in the steady window, at every size. */
export const CPU_MS_PER_CALL_TARGET = 0.5

export interface Verdict {
  readonly measure: string
  /** `≤ 2 s` */
  readonly limit: string
  readonly met: boolean
}

/**
 * Every target of this size against its results. Registration → serving p95 is over the served
 * registrations; a miss (not served within the timeout) fails that target on its own.
 */
export const verdicts = (r: SizeResult, p95Ms: number | undefined, misses: number): Array<Verdict> => {
  const out: Array<Verdict> = []
  const t = TARGETS.get(r.services)
  if (t !== undefined) {
    out.push({ measure: "ready", limit: `≤ ${t.readyMs / 1000} s`, met: r.readyMs <= t.readyMs })
    out.push({ measure: "agent CPU", limit: `≤ ${t.cpuPercent} %`, met: r.window.agentCpuPercent <= t.cpuPercent })
    if (t.callsPerMinute !== undefined) {
      out.push({ measure: "calls/min", limit: `≤ ${t.callsPerMinute.toLocaleString("en-US")}`, met: r.window.callsPerMinuteTotal <= t.callsPerMinute })
    }
    out.push({
      measure: "agent RSS (max)",
      limit: `≤ ${t.agentRssBytes / MiB} MiB`,
      met: (r.agentRss.maxBytes ?? Infinity) <= t.agentRssBytes
    })
    out.push({
      measure: "registration → serving p95",
      limit: `≤ ${t.servingP95Ms / 1000} s`,
      met: misses === 0 && p95Ms !== undefined && p95Ms <= t.servingP95Ms
    })
  }
  out.push({
    measure: "CPU per call",
    limit: `≤ ${CPU_MS_PER_CALL_TARGET} ms`,
    met: r.window.cpuMsPerCall !== undefined && r.window.cpuMsPerCall <= CPU_MS_PER_CALL_TARGET
  })
  return out
}
