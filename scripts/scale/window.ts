/**
 * The steady window of one size, right after ready: the mock's call counters are zeroed, the
 * agent's CPU time (utime + stime of its own process, not its children) is read at the start and
 * at the end, RSS of the agent and of its HAProxy (master + workers) is sampled every
 * RSS_SAMPLE_MS, and the calls are read at the end. Whatever runs alongside (the registrations)
 * starts with the window and may end after it.
 */
import { mockCalls, type MockCloudMapHandle, resetMockCalls } from "../bench/adapters/mock-cloudmap.ts"
import { haproxyServingPidsFor, rssBytes, rssBytesOf } from "../bench/proc.ts"
import { watchProcess } from "../bench/sampling.ts"
import type { ScaleAgent } from "./agent.ts"
import { RSS_SAMPLE_MS } from "./params.ts"
import type { SizeResult } from "./results.ts"

/** Operations the bench itself sends to the mock during the window; not the agent's calls. */
export const BENCH_OPERATIONS: ReadonlyArray<string> = ["RegisterInstance"]

export interface WindowMeasures {
  readonly window: SizeResult["window"]
  readonly agentRss: { readonly endBytes: number | undefined; readonly maxBytes: number | undefined }
  readonly haproxyRss: SizeResult["haproxyRss"]
  readonly rssSamples: SizeResult["rssSamples"]
}

const maxOf = (xs: ReadonlyArray<number>) => (xs.length === 0 ? undefined : Math.max(...xs))

export const steadyWindow = async <R>(
  agent: ScaleAgent,
  mock: MockCloudMapHandle,
  seconds: number,
  alongside: (windowStart: number) => Promise<R>
): Promise<{ readonly measures: WindowMeasures; readonly alongside: Promise<R> }> => {
  await resetMockCalls(mock)
  const callsFrom = performance.now()
  const running = alongside(callsFrom)
  // Settled later by the caller; a failure while the window runs must not go unhandled meanwhile.
  running.catch(() => undefined)
  const watched = await watchProcess(
    agent.pid,
    seconds,
    RSS_SAMPLE_MS,
    (s) => {
      const agentBytes = rssBytes(agent.pid)
      return agentBytes === undefined ? undefined : { seconds: s, agentBytes, haproxyBytes: rssBytesOf(haproxyServingPidsFor(agent.configDir)) }
    },
    () => new Error(`the agent died during the window:\n${agent.log.lastLines()}`)
  )
  const read = await mockCalls(mock)
  const callsSeconds = (performance.now() - callsFrom) / 1000
  const calls: Record<string, number> = {}
  const benchCalls: Record<string, number> = {}
  for (const [op, v] of Object.entries(read.operations)) {
    if (BENCH_OPERATIONS.includes(op)) benchCalls[op] = v.total
    else calls[op] = v.total
  }
  const callsTotal = Object.values(calls).reduce((a, b) => a + b, 0)
  const perMinute = (n: number) => (n * 60) / callsSeconds
  const haproxyAtEnd = haproxyServingPidsFor(agent.configDir)
  const samples = watched.samples
  const measures: WindowMeasures = {
    window: {
      seconds: watched.wallSeconds,
      callsSeconds,
      agentCpuSeconds: watched.cpuSeconds,
      agentCpuPercent: (watched.cpuSeconds / watched.wallSeconds) * 100,
      calls,
      callsTotal,
      callsPerMinute: Object.fromEntries(Object.entries(calls).map(([op, n]) => [op, perMinute(n)])),
      callsPerMinuteTotal: perMinute(callsTotal),
      benchCalls,
      cpuMsPerCall: callsTotal === 0 ? undefined : (watched.cpuSeconds * 1000) / callsTotal
    },
    agentRss: { endBytes: samples.at(-1)?.agentBytes, maxBytes: maxOf(samples.map((s) => s.agentBytes)) },
    haproxyRss: {
      endBytes: samples.at(-1)?.haproxyBytes,
      maxBytes: maxOf(samples.map((s) => s.haproxyBytes)),
      processesAtEnd: haproxyAtEnd.length
    },
    rssSamples: samples
  }
  return { measures, alongside: running }
}
