/**
 * The agent as the footprint bench runs it (the binary under test, LOG_LEVEL=warn, DRAIN_SECONDS=0,
 * everything on 127.0.0.1) and what it reads from it: readiness, /status, the refresh counter of
 * /metrics, and CPU per completed full refresh.
 */
import { join } from "node:path"
import { type AgentProcess, benchAgentEnv, spawnAgent } from "../bench/agent.ts"
import { freePort } from "../bench/net.ts"
import { alive } from "../bench/process.ts"
import { cpuSeconds } from "../bench/proc.ts"
import { sleep, waitFor } from "../bench/wait.ts"
import { cleanups, workRoot } from "./context.ts"
import { BINARY } from "./params.ts"

export interface Agent extends AgentProcess {
  /** The last 40 lines of its stderr, for error messages. */
  readonly lastLines: Array<string>
}

export const startAgent = async (name: string, mockUrl: string, extraEnv: Record<string, string>): Promise<Agent> => {
  const configDir = join(workRoot, name)
  const healthPort = await freePort()
  const listenPort = await freePort()
  const env: Record<string, string> = {
    ...benchAgentEnv({ mockUrl, configDir, listenPort, healthPort }),
    HEALTH_ADDRESS: "127.0.0.1",
    DRAIN_SECONDS: "0",
    LOG_LEVEL: "warn",
    ...extraEnv
  }
  const lastLines: Array<string> = []
  const agent = spawnAgent({
    binary: BINARY,
    configDir,
    listenPort,
    healthPort,
    mockUrl,
    env,
    stdout: false,
    onOutput: (chunk) => {
      lastLines.push(...chunk.toString().split("\n").filter(Boolean))
      if (lastLines.length > 40) lastLines.splice(0, lastLines.length - 40)
    }
  })
  const forget = cleanups.add(agent.stop)
  return { ...agent, lastLines, stop: () => agent.stop().then(forget) }
}

/** Polls /readyz every 10 ms until 200; returns ms since the process was spawned. */
export const waitReady = (agent: Agent, timeoutMs: number): Promise<number> =>
  waitFor(async () => {
    const r = await agent.get("/readyz")
    return r?.status === 200 ? performance.now() - agent.startedAt : undefined
  }, {
    timeoutMs,
    intervalMs: 10,
    timeout: () => new Error(`agent not ready after ${timeoutMs} ms:\n${agent.lastLines.join("\n")}`),
    abort: () => (alive(agent.pid) ? undefined : new Error(`agent exited before ready:\n${agent.lastLines.join("\n")}`))
  })

export interface StatusDoc {
  readonly lastRefresh: { kind: string; durationMs: number } | null
  readonly config: { lastApply: { method: string; durationMs: number } | null }
  readonly counts: Record<string, number>
  readonly haproxy: { pid?: number }
}

export const status = async (agent: Agent): Promise<StatusDoc> => {
  const r = await agent.get("/status")
  if (r?.status !== 200) throw new Error(`/status answered ${r?.status}`)
  return JSON.parse(r.body) as StatusDoc
}

/** Sum of cloudmap_haproxy_refreshes_total{kind="<kind>",...} over outcomes. */
export const refreshCount = async (agent: Agent, kind: "full" | "fast"): Promise<number> => {
  const r = await agent.get("/metrics")
  if (r?.status !== 200) throw new Error(`/metrics answered ${r?.status}`)
  let total = 0
  for (const line of r.body.split("\n")) {
    if (line.startsWith("cloudmap_haproxy_refreshes_total{") && line.includes(`kind="${kind}"`)) {
      total += Number(line.slice(line.lastIndexOf(" ") + 1))
    }
  }
  return total
}

/**
 * CPU seconds of the agent per completed full refresh, over at least `n` refreshes. /metrics is
 * polled only every `pollMs` (each poll costs the agent a little CPU, counted in the result).
 */
export const cpuPerRefresh = async (agent: Agent, n: number, pollMs: number, timeoutMs: number) => {
  // Start right after a refresh completed, so the window holds whole refreshes.
  const first = await refreshCount(agent, "full")
  const boundary = performance.now() + timeoutMs
  let r0 = first
  while (r0 === first && performance.now() < boundary) {
    await sleep(pollMs)
    r0 = await refreshCount(agent, "full")
  }
  const c0 = cpuSeconds(agent.pid)
  const t0 = performance.now()
  const deadline = t0 + timeoutMs
  let r1 = r0
  while (r1 - r0 < n && performance.now() < deadline) {
    await sleep(pollMs)
    r1 = await refreshCount(agent, "full")
  }
  const c1 = cpuSeconds(agent.pid)
  const wall = (performance.now() - t0) / 1000
  const done = r1 - r0
  if (done === 0) throw new Error("no refresh completed in the measuring window")
  return { refreshes: done, cpuSeconds: c1 - c0, wallSeconds: wall, perRefreshMs: ((c1 - c0) / done) * 1000, pollMs }
}
