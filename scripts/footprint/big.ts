/**
 * Footprint with SERVICES services × 2 instances (syntheticFixture, every instance at the sink):
 * start → ready, RSS and CPU at default settings over SETTLE_SECONDS, and CPU per full refresh,
 * paced (the default CLOUDMAP_RATE_LIMIT) and unpaced (CLOUDMAP_RATE_LIMIT=1000).
 */
import { pointAt, startMock, syntheticFixture } from "../bench/adapters/mock-cloudmap.ts"
import { mb, ms } from "../bench/format.ts"
import { haproxyPidsFor, rssBytes, rssBytesOf } from "../bench/proc.ts"
import { watchProcess } from "../bench/sampling.ts"
import { cpuPerRefresh, startAgent, status, waitReady } from "./agent.ts"
import { cleanups, log } from "./context.ts"
import { BIG_REFRESHES, SERVICES, SETTLE_SECONDS } from "./params.ts"
import type { PhaseOutput } from "./phases.ts"

/** 5. 1,000 services × 2 instances. */
export const bigPhase = async (out: PhaseOutput, sinkPort: number) => {
  const fixture = pointAt(
    syntheticFixture({ namespaces: 1, servicesPerNamespace: SERVICES, instancesPerService: 2, basePort: 10_000 }),
    sinkPort
  )
  const big = await startMock(fixture)
  cleanups.add(() => big.close())
  const label = `${SERVICES} services × 2`

  const agent = await startAgent("big", big.url, {})
  const readyMs = await waitReady(agent, 600_000)
  const st = await status(agent)
  const rssAtReady = rssBytes(agent.pid)
  log(`${SERVICES} services: ready in ${ms(readyMs)} (first refresh ${ms(st.lastRefresh?.durationMs ?? NaN)}, apply ${ms(st.config.lastApply?.durationMs ?? NaN)}), RSS ${mb(rssAtReady)}; ${SETTLE_SECONDS} s at defaults...`)
  const window = await watchProcess(agent.pid, SETTLE_SECONDS, 5_000, () => rssBytes(agent.pid), () => new Error(`agent died:\n${agent.lastLines.join("\n")}`))
  const wall = window.wallSeconds
  const cpu = window.cpuSeconds
  const rss = window.samples
  const steady = {
    services: SERVICES,
    instances: SERVICES * 2,
    readyMs,
    firstRefreshMs: st.lastRefresh?.durationMs,
    firstApplyMs: st.config.lastApply?.durationMs,
    counts: st.counts,
    rssAtReadyBytes: rssAtReady,
    rssEndBytes: rss.at(-1),
    rssMaxBytes: rss.length > 0 ? Math.max(...rss) : undefined,
    steadySeconds: wall,
    steadyCpuPercent: (cpu / Math.max(wall, 0.001)) * 100,
    haproxyRssBytes: rssBytesOf(haproxyPidsFor(agent.configDir))
  }
  log(`${SERVICES} services at defaults: RSS end ${mb(steady.rssEndBytes)} (max ${mb(steady.rssMaxBytes)}), CPU ${steady.steadyCpuPercent.toFixed(2)} % over ${wall.toFixed(0)} s`)
  await agent.stop()

  const paced = await startAgent("refresh-big", big.url, { REFRESH_RATE: "1", REVISION_POLL_RATE: "1" })
  await waitReady(paced, 600_000)
  const pacedRefresh = await cpuPerRefresh(paced, BIG_REFRESHES, 2_000, BIG_REFRESHES * 120_000)
  const pacedRss = rssBytes(paced.pid)
  log(`refresh (${SERVICES} services): ${pacedRefresh.refreshes} refreshes in ${pacedRefresh.wallSeconds.toFixed(1)} s, ${pacedRefresh.perRefreshMs.toFixed(0)} ms CPU each, RSS ${mb(pacedRss)}`)
  await paced.stop()

  // The same refresh without pacing (CLOUDMAP_RATE_LIMIT=1000): how much of the cost comes
  // from spreading the calls over time rather than from the work per service.
  const burst = await startAgent("refresh-big-burst", big.url, { REFRESH_RATE: "1", REVISION_POLL_RATE: "1", CLOUDMAP_RATE_LIMIT: "1000" })
  await waitReady(burst, 600_000)
  const burstRefresh = await cpuPerRefresh(burst, BIG_REFRESHES * 5, 1_000, BIG_REFRESHES * 5 * 30_000)
  const burstRss = rssBytes(burst.pid)
  log(`refresh (${SERVICES} services, CLOUDMAP_RATE_LIMIT=1000): ${burstRefresh.refreshes} refreshes, ${burstRefresh.perRefreshMs.toFixed(0)} ms CPU each`)
  await burst.stop()

  out.results["big"] = { ...steady, refresh: { ...pacedRefresh, rssBytes: pacedRss }, refreshUnpaced: { ...burstRefresh, rssBytes: burstRss } }
  out.rows.push(
    `| ${label}: start → ready | ${ms(readyMs)} (first refresh ${ms(steady.firstRefreshMs ?? NaN)}, of which apply ${ms(steady.firstApplyMs ?? NaN)}) | |`,
    `| ${label}: RSS | ${mb(rssAtReady)} at ready, ${mb(steady.rssEndBytes)} after ${Math.round(wall)} s (max ${mb(steady.rssMaxBytes)}) | |`,
    `| ${label}: CPU at default settings | ${steady.steadyCpuPercent.toFixed(2)} % over ${Math.round(wall)} s | |`,
    `| ${label}: CPU per full refresh (REFRESH_RATE=1) | ${pacedRefresh.perRefreshMs.toFixed(0)} ms (${pacedRefresh.refreshes} refreshes, ${(pacedRefresh.wallSeconds / pacedRefresh.refreshes).toFixed(1)} s each) | |`,
    `| ${label}: same, CLOUDMAP_RATE_LIMIT=1000 | ${burstRefresh.perRefreshMs.toFixed(0)} ms (${burstRefresh.refreshes} refreshes, ${(burstRefresh.wallSeconds / burstRefresh.refreshes).toFixed(1)} s each) | |`,
    `| ${label}: HAProxy RSS, master + worker (for reference) | ${mb(steady.haproxyRssBytes)} | |`
  )
}
