/**
 * One churn phase against one system under test: a fresh mock Cloud Map with the initial
 * services (each instance its own echo backend), the system started and routed, then the
 * keep-alive load and the probes, the scenario, and what HAProxy and the system report before and
 * after (reloads by `show proc`, the agent's own counters).
 */
import { readShowProc } from "../bench/adapters/master-cli.ts"
import { type FixtureService, namespaceFixture, startMock } from "../bench/adapters/mock-cloudmap.ts"
import { BENCH_DOMAIN, BENCH_NAMESPACE } from "../bench/agent.ts"
import { cloudMapClient, instanceAttributes } from "../bench/cloudmap-sdk.ts"
import { BENCH_SERVICE_OPTIONS, withInstanceOptions } from "../bench/service-options.ts"
import { sleep } from "../bench/wait.ts"
import { cleanups, say } from "./context.ts"
import { type EchoBackend, startEchoBackend } from "./echo-backend.ts"
import { type LoadHandle, type ProbeHandle, RequestStats, runLoad, startProbe } from "./load.ts"
import {
  INITIAL_INSTANCES,
  LOAD_CONNECTIONS,
  LOAD_GAP_MS,
  OPTIONS,
  P,
  PHASE_CHANGE_WINDOW_MS,
  PROBE_INTERVAL_MS,
  REQUEST_TIMEOUT_MS,
  RUN_DEADLINE,
  TIMEOUT_SLOW_MS
} from "./params.ts"
import type { ChangeResult, ChurnResult } from "./results.ts"
import { runScenario, type ScenarioService } from "./scenario.ts"
import type { StartSut } from "./sut.ts"

export const runChurn = async (label: string, startSut: StartSut, seed: number): Promise<ChurnResult> => {
  const backends: Array<EchoBackend> = []
  const newBackend = async (id: string) => {
    const b = await startEchoBackend(id)
    backends.push(b)
    return b
  }
  try {
    // Initial registrations, each instance backed by its own server.
    const churn: Array<ScenarioService> = []
    const health: Array<ScenarioService> = []
    for (let c = 0; c < P.churnServices; c++) {
      const live = []
      for (let i = 1; i <= INITIAL_INSTANCES; i++) live.push({ id: `c${c}-${i}`, backend: await newBackend(`c${c}-${i}`) })
      churn.push({ name: `c${c}`, id: `srv-c${c}`, live, seq: INITIAL_INSTANCES })
    }
    for (let h = 0; h < P.healthServices; h++) {
      const live = []
      for (let i = 1; i <= INITIAL_INSTANCES; i++) live.push({ id: `h${h}-${i}`, backend: await newBackend(`h${h}-${i}`) })
      health.push({ name: `h${h}`, id: `srv-h${h}`, live, seq: INITIAL_INSTANCES })
    }
    const services: Array<FixtureService> = [...churn, ...health].map((s) => ({
      name: s.name,
      id: s.id,
      ...(OPTIONS ? { attributes: { ...BENCH_SERVICE_OPTIONS } } : {}),
      instances: s.live.map((l) => ({ id: l.id, attributes: withInstanceOptions(instanceAttributes(l.backend.port), OPTIONS) }))
    }))
    const mock = await startMock(namespaceFixture(BENCH_NAMESPACE, "ns-bench", services))
    cleanups.add(() => mock.close())
    const sdk = cloudMapClient(mock.url, 3)
    cleanups.add(() => sdk.destroy())

    const sut = await startSut(mock, label)
    const initialServices = churn.length + health.length
    await sut.waitRouted(initialServices, initialServices * INITIAL_INSTANCES, 120_000)
    say(`${label}: ${initialServices} services routed; starting the load`)

    const phaseStart = Date.now()
    const changeDeadline = Math.min(RUN_DEADLINE - 3 * 60_000, phaseStart + PHASE_CHANGE_WINDOW_MS)
    const hardDeadline = changeDeadline + TIMEOUT_SLOW_MS + 30_000
    const requests = new RequestStats()
    const loadHosts: Array<string> = [...churn, ...health].map((s) => `${s.name}.${BENCH_DOMAIN}`)
    const load: LoadHandle = runLoad({
      port: sut.listenPort,
      hosts: () => loadHosts,
      connections: LOAD_CONNECTIONS,
      gapMs: LOAD_GAP_MS,
      timeoutMs: REQUEST_TIMEOUT_MS,
      deadline: hardDeadline,
      maxRequests: 5_000_000,
      stats: requests
    })
    const probes: Array<ProbeHandle> = []
    const probe = (host: string, countFromStart: boolean) =>
      probes.push(startProbe(sut.listenPort, host, requests, {
        intervalMs: PROBE_INTERVAL_MS,
        timeoutMs: REQUEST_TIMEOUT_MS,
        deadline: hardDeadline,
        countFromStart
      }))
    for (const h of loadHosts) probe(h, true)
    await sleep(3_000)
    const cold = backends.filter((b) => b.hits() === 0).map((b) => b.name)
    if (cold.length > 0) say(`${label}: WARNING: initial instances without traffic after warm-up: ${cold.join(", ")}`)

    const before = await readShowProc(sut.masterSocket)
    const detailsBefore = await sut.details()
    const changes: Array<ChangeResult> = []
    let sdkErrors = 0

    const progress = setInterval(() => {
      const rps = requests.total / ((Date.now() - phaseStart) / 1000)
      say(`${label}: ${changes.length} changes done, ${requests.total} requests (${rps.toFixed(0)}/s), ${requests.failed} failed`)
    }, 20_000)
    await runScenario({
      sdk,
      seed,
      churn,
      health,
      phaseStart,
      changeDeadline,
      newBackend,
      probeNewHost: (host) => void probe(host, false),
      addLoadHost: (host) => void loadHosts.push(host),
      record: (r) => {
        changes.push(r)
        if (r.convergedMs === undefined) say(`${label}: ${r.kind} ${r.service}/${r.instance} did not converge`)
      },
      sdkCall: async (f) => {
        try {
          return await f()
        } catch (e) {
          sdkErrors++
          say(`${label}: Cloud Map call failed: ${(e as Error).message}`)
          return undefined
        }
      }
    }).finally(() => clearInterval(progress))
    // Let the last changes settle under load, then stop.
    await sleep(2_000)
    const after = await readShowProc(sut.masterSocket)
    const details = await sut.details()
    await Promise.all(probes.map((p) => p.stop()))
    await load.stop()
    const durationMs = Date.now() - phaseStart
    say(`${label}: churn done in ${(durationMs / 1000).toFixed(0)} s: ${changes.length} changes, ${requests.total} requests, ${requests.failed} failed`)
    const result: ChurnResult = {
      label,
      changes,
      requests,
      loadConnects: load.connects(),
      reloadsBefore: before?.master.reloads,
      reloadsAfter: after?.master.reloads,
      oldWorkersAtEnd: after?.oldWorkers.length,
      details,
      detailsBefore,
      durationMs,
      logProblems: sut.logProblems(),
      sdkErrors,
      foreignHits: backends.reduce((n, x) => n + x.foreignHits(), 0),
      healthChecks: backends.reduce((n, x) => n + x.checks(), 0)
    }
    await sut.stop()
    await mock.close()
    sdk.destroy()
    return result
  } finally {
    await Promise.all(backends.map((b) => b.close()))
  }
}
