/**
 * The footprint phases on the demo fixture (1 namespace, 3 services, 5 instances): start → first
 * applied configuration, idle memory and CPU at default settings, and CPU per full refresh. Each
 * adds its rows to the report and its numbers to the JSON results.
 */
import { mb, ms } from "../bench/format.ts"
import { haproxyPidsFor, rssBreakdown, rssBytes, rssBytesOf } from "../bench/proc.ts"
import { watchProcess } from "../bench/sampling.ts"
import { median } from "../bench/stats.ts"
import { cpuPerRefresh, refreshCount, startAgent, status, waitReady } from "./agent.ts"
import { log } from "./context.ts"
import { BINARY, IDLE_SECONDS, REFRESHES, START_RUNS } from "./params.ts"
import { dropFromPageCache } from "./runtime-floor.ts"

export interface PhaseOutput {
  /** Rows of the `| measure | result | target |` table. */
  readonly rows: Array<string>
  readonly results: Record<string, unknown>
}

/**
 * Idle RSS target: 96 MiB since issue 11 (CPU is the scarce resource on Fargate: one vCPU costs
 * about as much as 9 GB; the earlier 64 MB target had led to running without the JIT).
 */
export const IDLE_RSS_TARGET = 96 * 1024 * 1024
export const verdict = (ok: boolean) => (ok ? "met" : "MISSED")

/** 2. start → first applied config, median of START_RUNS fresh processes. */
export const startPhase = async (out: PhaseOutput, mockUrl: string) => {
  const startRuns: Array<{ readyMs: number; refreshMs: number; applyMs: number; cloudMapMs: number }> = []
  for (let i = 0; i < START_RUNS; i++) {
    const agent = await startAgent(`start-${i}`, mockUrl, {})
    const readyMs = await waitReady(agent, 60_000)
    const s = await status(agent)
    const refreshMs = s.lastRefresh?.durationMs ?? NaN
    const applyMs = s.config.lastApply?.durationMs ?? NaN
    // The apply loop applies what a round publishes: a round's duration is Cloud Map (and
    // planning) only, the apply (haproxy -c and start) is timed apart.
    startRuns.push({ readyMs, refreshMs, applyMs, cloudMapMs: refreshMs })
    log(`start run ${i + 1}/${START_RUNS}: ready ${ms(readyMs)} (first round, Cloud Map ${ms(refreshMs)}; then validate/start HAProxy ${ms(applyMs)})`)
    await agent.stop()
  }
  const start = {
    runs: startRuns,
    medianReadyMs: median(startRuns.map((r) => r.readyMs)),
    medianCloudMapMs: median(startRuns.map((r) => r.cloudMapMs)),
    medianApplyMs: median(startRuns.map((r) => r.applyMs)),
    medianRefreshMs: median(startRuns.map((r) => r.refreshMs))
  }
  out.results["start"] = start
  const budget = 1000 + start.medianCloudMapMs
  out.rows.push(`| start → first applied config (median of ${START_RUNS}) | ${ms(start.medianReadyMs)} (Cloud Map ${ms(start.medianCloudMapMs)}, haproxy -c + start ${ms(start.medianApplyMs)}) | ≤ 1 s + Cloud Map = ${ms(budget)}: ${verdict(start.medianReadyMs <= budget)} |`)
}

/** 3. idle: defaults (REFRESH_RATE 5, REVISION_POLL_RATE 2), cold page cache, sampled every 10 s. */
export const idlePhase = async (out: PhaseOutput, mockUrl: string) => {
  dropFromPageCache(BINARY)
  const agent = await startAgent("idle", mockUrl, {})
  await waitReady(agent, 60_000)
  const rssAtReady = rssBytes(agent.pid)
  const atReady = rssBreakdown(agent.pid)
  log(`idle: ready, RSS ${mb(rssAtReady)} (anon ${mb(atReady?.anonBytes)}, file ${mb(atReady?.fileBytes)}); idling ${IDLE_SECONDS} s...`)
  const window = await watchProcess(
    agent.pid,
    IDLE_SECONDS,
    10_000,
    (seconds) => {
      const r = rssBytes(agent.pid)
      return r === undefined ? undefined : { seconds, rssBytes: r, anonBytes: rssBreakdown(agent.pid)?.anonBytes }
    },
    () => new Error(`idle agent died:\n${agent.lastLines.join("\n")}`)
  )
  const wall = window.wallSeconds
  const cpu = window.cpuSeconds
  const samples = window.samples
  const rss = samples.map((x) => x.rssBytes)
  const idle = {
    seconds: wall,
    rssAtReadyBytes: rssAtReady,
    rssAtReadyBreakdown: atReady,
    rssEndBytes: rss.at(-1),
    rssMaxBytes: Math.max(...rss),
    rssMinBytes: Math.min(...rss),
    rssEndBreakdown: rssBreakdown(agent.pid),
    cpuSeconds: cpu,
    cpuPercent: (cpu / wall) * 100,
    fullRefreshes: await refreshCount(agent, "full"),
    haproxyRssBytes: rssBytesOf(haproxyPidsFor(agent.configDir)),
    samples
  }
  out.results["idle"] = idle
  log(`idle: ${wall.toFixed(0)} s, RSS end ${mb(idle.rssEndBytes)} (anon ${mb(idle.rssEndBreakdown?.anonBytes)}, file ${mb(idle.rssEndBreakdown?.fileBytes)}; min ${mb(idle.rssMinBytes)}, max ${mb(idle.rssMaxBytes)}), CPU ${cpu.toFixed(2)} s = ${idle.cpuPercent.toFixed(3)} %`)
  out.rows.push(
    `| idle RSS after ${Math.round(wall)} s (agent only) | ${mb(idle.rssEndBytes)} (at ready ${mb(rssAtReady)}, min ${mb(idle.rssMinBytes)}, max ${mb(idle.rssMaxBytes)}) | ≤ 96 MiB: ${verdict((idle.rssEndBytes ?? Infinity) <= IDLE_RSS_TARGET)}; max ${verdict(idle.rssMaxBytes <= IDLE_RSS_TARGET)} |`,
    `| … of which anonymous (heap, JIT) / file-backed (executable pages) | ${mb(idle.rssEndBreakdown?.anonBytes)} / ${mb(idle.rssEndBreakdown?.fileBytes)} | |`,
    `| idle CPU over ${Math.round(wall)} s | ${idle.cpuPercent.toFixed(3)} % | < 1 %: ${verdict(idle.cpuPercent < 1)} |`,
    `| HAProxy RSS, master + worker (not the agent; for reference) | ${mb(idle.haproxyRssBytes)} | |`
  )
  await agent.stop()
}

/** 4. CPU per refresh, demo fixture: a round every second that reads every service (kind "full"). */
export const refreshPhase = async (out: PhaseOutput, mockUrl: string) => {
  const agent = await startAgent("refresh-demo", mockUrl, { REFRESH_RATE: "1", REVISION_POLL_RATE: "1" })
  await waitReady(agent, 60_000)
  const r = await cpuPerRefresh(agent, REFRESHES, 1_000, REFRESHES * 5_000)
  out.results["refreshDemo"] = { ...r, rssBytes: rssBytes(agent.pid) }
  log(`refresh (3 services): ${r.refreshes} refreshes, ${r.perRefreshMs.toFixed(1)} ms CPU each`)
  out.rows.push(`| CPU per full refresh, 3 services (REFRESH_RATE=1) | ${r.perRefreshMs.toFixed(1)} ms (${r.refreshes} refreshes) | |`)
  await agent.stop()
}
