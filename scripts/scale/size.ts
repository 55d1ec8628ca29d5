/**
 * One fleet size, end to end: the mock and the sink, the agent spawned and timed to ready, the
 * steady window with the registrations alongside, the change feed as `/status` shows it after
 * them, then everything of this size stopped by PID (the agent, its HAProxy, the echo servers,
 * the mock). With `--feed-denied` the feed must show denied before the window.
 */
import { RegisterInstanceCommand } from "@aws-sdk/client-servicediscovery"
import { waitAgentReady } from "../bench/agent.ts"
import { cloudMapClient } from "../bench/cloudmap-sdk.ts"
import { mb, ms } from "../bench/format.ts"
import { rssBytes } from "../bench/proc.ts"
import { verifyAppliedOptions } from "../bench/service-options.ts"
import type { EchoBackend } from "../churn/echo-backend.ts"
import { type ScaleAgent, startScaleAgent } from "./agent.ts"
import { cleanups, say } from "./context.ts"
import { changeFeedNow, EXPECTED_FEED, feedCheckNow, verifyFeedDenied, waitResumed, waitUnitLearnt } from "./feed-status.ts"
import { startFleet } from "./fleet.ts"
import {
  FEED_DENIED,
  INSTANCES_PER_SERVICE,
  MODE,
  OPERATION_SCAN,
  OPTIONS,
  READING,
  READY_POLL_MS,
  READY_TIMEOUT_MS,
  RESUMED_TIMEOUT_MS,
  UNIT_LEARNT_TIMEOUT_MS,
  WINDOW_SECONDS
} from "./params.ts"
import { runRegistrations } from "./registrations.ts"
import type { SizeResult } from "./results.ts"
import { steadyWindow } from "./window.ts"

export const runSize = async (services: number): Promise<SizeResult> => {
  const label = `scale-${services}`
  const fleet = await startFleet(services)
  const forgetFleet = cleanups.add(fleet.close)
  const sdk = cloudMapClient(fleet.mock.url, 3)
  const backends: Array<EchoBackend> = []
  const closeBackends = () => Promise.all(backends.map((b) => b.close())).then(() => undefined)
  const forgetBackends = cleanups.add(closeBackends)
  let agent: ScaleAgent | undefined
  try {
    agent = await startScaleAgent(label, fleet.mock.url)
    const a = agent
    say(`${label}: ${services} services × ${INSTANCES_PER_SERVICE} on the mock ${fleet.mock.url}; agent pid ${a.pid}, HAProxy on 127.0.0.1:${a.listenPort}, log ${a.log.path}`)
    const readyMs = await waitAgentReady(a, { timeoutMs: READY_TIMEOUT_MS, intervalMs: READY_POLL_MS, context: a.log.lastLines })
    const rssAtReady = rssBytes(a.pid)
    say(`${label}: ready after ${ms(readyMs)}, agent RSS ${mb(rssAtReady)}`)
    // Before the window: the check costs the agent a /status document, outside what is measured.
    if (OPTIONS) say(await verifyAppliedOptions(a.get, label))
    let feedBeforeWindow: string | undefined
    if (FEED_DENIED) {
      say(await verifyFeedDenied(a.get, label))
      feedBeforeWindow = EXPECTED_FEED["feed-denied"]
    }
    let unitLearntMs: number | undefined
    if (READING === "milliseconds") {
      // One throwaway registration, found by the sweep as a miss, makes the agent learn the unit.
      const service = fleet.services[0]!
      await sdk.send(new RegisterInstanceCommand({
        ServiceId: service.id,
        InstanceId: "unit-probe",
        Attributes: { AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: String(fleet.sink.port) }
      }))
      unitLearntMs = await waitUnitLearnt(a.get, label, UNIT_LEARNT_TIMEOUT_MS)
      say(`${label}: --reading milliseconds: the agent learnt the unit ${ms(unitLearntMs)} after a registration`)
    }
    let resumedMs: number | undefined
    if (READING === "foreign-churn" && OPERATION_SCAN === "retained") {
      resumedMs = await waitResumed(a.get, label, RESUMED_TIMEOUT_MS)
      say(`${label}: --reading foreign-churn: the feed resumed its listing and caught up ${ms(resumedMs)} after ready`)
    }
    say(`${label}: steady window ${WINDOW_SECONDS} s with registrations`)
    const { measures, alongside } = await steadyWindow(a, fleet.mock, WINDOW_SECONDS, (windowStart) =>
      runRegistrations({
        sdk,
        services: fleet.services,
        listenPort: a.listenPort,
        windowStart,
        windowMs: WINDOW_SECONDS * 1000,
        keep: (b) => void backends.push(b),
        log: (line) => say(`${label}: ${line}`)
      })
    )
    const w = measures.window
    say(
      `${label}: window ${w.seconds.toFixed(1)} s: agent CPU ${w.agentCpuPercent.toFixed(2)} %, ` +
        `${Math.round(w.callsPerMinuteTotal)} calls/min, ${w.cpuMsPerCall?.toFixed(2) ?? "–"} ms CPU per call, ` +
        `agent RSS ${mb(measures.agentRss.endBytes)} (max ${mb(measures.agentRss.maxBytes)}), HAProxy ${mb(measures.haproxyRss.endBytes)}`
    )
    const registrations = await alongside
    // After the registrations (a /status document is no longer in their way) and outside the window.
    const feedAfterWindow = await changeFeedNow(a.get)
    const checked = await feedCheckNow(a.get)
    say(
      `${label}: change feed after the window: ${feedAfterWindow}${feedAfterWindow === EXPECTED_FEED[MODE] ? "" : ` (NOT ${EXPECTED_FEED[MODE]})`}, ` +
        `${checked.misses ?? "?"} misses, UPDATE_DATE in ${checked.unit ?? "?"}`
    )
    return {
      services,
      instances: services * INSTANCES_PER_SERVICE,
      readyMs,
      window: w,
      agentRss: { atReadyBytes: rssAtReady, ...measures.agentRss },
      haproxyRss: measures.haproxyRss,
      rssSamples: measures.rssSamples,
      registrations,
      logProblems: a.log.problems(),
      logPath: a.log.path,
      changeFeed: {
        ...(feedBeforeWindow === undefined ? {} : { beforeWindow: feedBeforeWindow }),
        afterWindow: feedAfterWindow,
        ...checked,
        ...(unitLearntMs === undefined ? {} : { unitLearntMs }),
        ...(resumedMs === undefined ? {} : { resumedMs })
      }
    }
  } finally {
    await agent?.stop()
    await closeBackends()
    forgetBackends()
    sdk.destroy()
    await fleet.close()
    forgetFleet()
  }
}
