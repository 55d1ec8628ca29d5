/**
 * The two systems under test of the churn benchmark, behind one interface: (a) the agent as
 * shipped (dist/cloudmap-haproxy run, default settings) and (b) the reload-every-change baseline
 * (baseline.ts). Each gets its own config directory and log in the run's work directory, and is
 * stopped by PID at the end.
 */
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { join } from "node:path"
import { renderSettingsFrom } from "../bench/adapters/agent-config.ts"
import type { MockCloudMapHandle } from "../bench/adapters/mock-cloudmap.ts"
import { AGENT_BINARY } from "../bench/agent-binary.ts"
import { BENCH_DOMAIN, BENCH_NAMESPACE, benchAgentEnv, spawnAgent } from "../bench/agent.ts"
import { fmtS } from "../bench/format.ts"
import { freePort } from "../bench/net.ts"
import { verifyAppliedOptions } from "../bench/service-options.ts"
import { once, stopHaproxyOf } from "../bench/process.ts"
import { sleep, waitFor } from "../bench/wait.ts"
import { type BaselineHandle, startBaseline } from "./baseline.ts"
import { cleanups, say, WORK } from "./context.ts"
import { BASELINE_POLL_MS, HAPROXY, OPTIONS } from "./params.ts"

export interface SystemUnderTest {
  readonly label: string
  readonly listenPort: number
  readonly masterSocket: string
  /**
   * Resolves when HAProxy routes `expected` services with `instances` instances (or rejects at the
   * deadline); with `--options`, then fails unless the option set is applied on every route
   * (agent: its `/status`; baseline: one HTTP-checked backend per service in its haproxy.cfg).
   */
  readonly waitRouted: (services: number, instances: number | undefined, timeoutMs: number) => Promise<void>
  readonly details: () => Promise<Record<string, number>>
  readonly logProblems: () => Array<string>
  readonly stop: () => Promise<void>
}

export type StartSut = (mock: MockCloudMapHandle, label: string) => Promise<SystemUnderTest>

const agentEnv = (mock: MockCloudMapHandle, configDir: string, listenPort: number, healthPort: number): Record<string, string> => ({
  ...benchAgentEnv({ mockUrl: mock.url, configDir, listenPort, healthPort }),
  HAPROXY_BIN: HAPROXY,
  // Shutdown only: how long HAProxy may drain after SIGTERM. Irrelevant to every measurement.
  DRAIN_SECONDS: "1"
})

/** Settings the agent uses besides the defaults (documented in BENCHMARKS.md). */
export const AGENT_NON_DEFAULTS = "LISTEN_ADDRESS=127.0.0.1, LISTEN_PORT/HEALTH_PORT=free ports, CONFIG_DIR=temp dir, " +
  "AWS_ENDPOINT_URL_SERVICEDISCOVERY=mock, STATS_PASSWD/PROM_PASSWD set, DRAIN_SECONDS=1 (shutdown only)"

/** The agent's reload, runtime-update and refresh counters from its /metrics, by reason (kind) and outcome. */
const parseMetrics = (text: string): Record<string, number> => {
  const out: Record<string, number> = {}
  for (const line of text.split("\n")) {
    // The change feed's check: changes the reads found that no operation named (0 for a healthy feed).
    const feed = /^cloudmap_haproxy_change_feed_(misses_total|unavailable_total\{problem="(\w+)"\})\s+([0-9.e+]+)/.exec(line)
    if (feed !== null) {
      out[feed[2] === undefined ? "change feed misses" : `change feed unavailable ${feed[2]}`] = Number(feed[3])
      continue
    }
    const m = /^(cloudmap_haproxy_(?:reloads_total|runtime_updates_total|refreshes_total))\{([^}]*)\}\s+([0-9.e+]+)/.exec(line)
    if (m === null) continue
    const labels = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1]!, x[2]!]))
    const name = m[1]!.replace("cloudmap_haproxy_", "").replace("_total", "")
    const key = name === "refreshes" ? `refreshes ${labels["kind"]} ${labels["outcome"]}` : `${name} ${labels["reason"]} ${labels["outcome"]}`
    out[key] = (out[key] ?? 0) + Number(m[3])
  }
  return out
}

/** Warnings, errors and fallbacks in the agent's log: listed in the report. */
const PROBLEM = /"level":"(WARN|ERROR|FATAL)"|"level":"(warn|error)"|could not be verified|rejected/i

export const startAgentSut: StartSut = async (mock, label) => {
  const configDir = mkdtempSync(join(WORK, "agent-"))
  const listenPort = await freePort()
  const healthPort = await freePort()
  const logPath = join(WORK, `${label}.log`)
  const logFile = createWriteStream(logPath)
  const problems: Array<string> = []
  let buffer = ""
  const agent = spawnAgent({
    binary: AGENT_BINARY,
    configDir,
    listenPort,
    healthPort,
    mockUrl: mock.url,
    env: agentEnv(mock, configDir, listenPort, healthPort),
    stdout: true,
    onOutput: (chunk) => {
      logFile.write(chunk)
      buffer += chunk.toString()
      const lines = buffer.split("\n")
      buffer = lines.pop() ?? ""
      for (const line of lines) if (PROBLEM.test(line) && problems.length < 200) problems.push(line.slice(0, 400))
    }
  })
  const stop = once(async () => {
    await agent.stop()
    logFile.end()
    rmSync(configDir, { recursive: true, force: true })
  })
  cleanups.add(stop)
  say(`${label}: agent pid ${agent.pid}, HAProxy on 127.0.0.1:${listenPort}, log ${logPath}`)
  return {
    label,
    listenPort,
    masterSocket: join(configDir, "master.sock"),
    waitRouted: async (services, instances, timeoutMs) => {
      let last = ""
      await waitFor(async () => {
        const r = await agent.get("/status")
        if (r === undefined) {
          last = "no answer"
          return undefined
        }
        const s = JSON.parse(r.body) as { counts: { services: number; instances: number }; haproxy: { running: boolean } }
        last = JSON.stringify(s.counts)
        const routed = s.haproxy.running && s.counts.services === services && (instances === undefined || s.counts.instances === instances)
        return routed ? true : undefined
      }, {
        timeoutMs,
        intervalMs: 250,
        timeout: () => new Error(`${label}: not routed within ${timeoutMs} ms (last counts ${last})`),
        abort: () =>
          agent.child.exitCode === null ? undefined : new Error(`${label}: the agent exited (code ${agent.child.exitCode}); see ${logPath}`)
      })
      if (OPTIONS) say(await verifyAppliedOptions(agent.get, label))
    },
    details: async () => {
      const r = await agent.get("/metrics")
      if (r === undefined) throw new Error(`${label}: /metrics did not answer`)
      return parseMetrics(r.body)
    },
    logProblems: () => problems,
    stop
  }
}

export const startBaselineSut: StartSut = async (mock, label) => {
  const configDir = mkdtempSync(join(WORK, "baseline-"))
  const listenPort = await freePort()
  const settings = renderSettingsFrom(agentEnv(mock, configDir, listenPort, await freePort()), "baseline settings")
  const logPath = join(WORK, `${label}.log`)
  const logFile = createWriteStream(logPath)
  const problems: Array<string> = []
  let stopping = false
  const handle: BaselineHandle = startBaseline({
    endpoint: mock.url,
    mapping: { namespace: BENCH_NAMESPACE, domain: BENCH_DOMAIN, mode: "host" },
    settings,
    haproxyBin: HAPROXY,
    pollMs: BASELINE_POLL_MS,
    serviceAttributes: OPTIONS,
    log: (line) => {
      logFile.write(`${new Date().toISOString()} ${line}\n`)
      if (line === "stopping") stopping = true
      if (!stopping && /fail|ALERT/i.test(line) && problems.length < 200) problems.push(line.slice(0, 400))
    }
  })
  const stop = once(async () => {
    await handle.stop()
    await stopHaproxyOf(configDir)
    logFile.end()
    rmSync(configDir, { recursive: true, force: true })
  })
  cleanups.add(stop)
  say(`${label}: baseline poller (every ${fmtS(BASELINE_POLL_MS / 1000)}), HAProxy on 127.0.0.1:${listenPort}, log ${logPath}`)
  return {
    label,
    listenPort,
    masterSocket: handle.masterSocket,
    waitRouted: async (services, _instances, timeoutMs) => {
      const timeout = sleep(timeoutMs).then(() => {
        throw new Error(`${label}: the baseline did not start HAProxy within ${timeoutMs} ms`)
      })
      await Promise.race([handle.ready, timeout])
      if (!OPTIONS) return
      // The baseline renders with the project's plan: one `option httpchk` per service backend.
      const checks = readFileSync(join(configDir, "haproxy.cfg"), "utf8").match(/^\s*option httpchk\s*$/gm)?.length ?? 0
      if (checks < services) throw new Error(`${label}: --options: haproxy.cfg has ${checks} HTTP-checked backends for ${services} services`)
      say(`${label}: --options applied: ${checks} backends with an HTTP check in haproxy.cfg`)
    },
    details: async () => {
      const c = handle.counters()
      return { "poll rounds": c.polls, "failed poll rounds": c.pollFailures, "reloads ok": c.reloadsOk, "reloads failed": c.reloadsFailed }
    },
    logProblems: () => problems,
    stop
  }
}
