/**
 * The agent's own port cannot be starved (issue 19, point 3). 5,000 slow connections to
 * HEALTH_PORT (part of a request head, one more byte every 10 s, as in the issue) against an agent whose file limit
 * is 1,024 (set with prlimit, as a container's nofile ulimit would): /healthz still answers every
 * probe within 1 s, and Cloud Map reads go on (no EMFILE). Bounded: the attacker is a process of its
 * own that exits after 20 s (killed by PID at the end).
 */
import { execFileSync, spawn } from "node:child_process"
import { connect } from "node:net"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { startMockCloudMap } from "../../../src/mock/server.ts"
import { type AgentProcess, APPS_HOST_MAP, BUN, ROOT, startAgent } from "../../support/agent.ts"
import { GUARD_TIMEOUTS } from "../../../src/http/connection-guard.ts"

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined)
})

/** Successful Cloud Map calls so far, every operation, from the agent's /metrics. */
const okCalls = async (agent: AgentProcess): Promise<number> =>
  (await agent.get("/metrics")).body.split("\n")
    .filter((l) => l.startsWith("cloudmap_haproxy_cloudmap_calls_total{") && l.includes("outcome=\"ok\""))
    .reduce((n, l) => n + Number(l.trim().split(/\s+/).pop()), 0)

/** One probe as a load balancer's health check sends it: a fresh connection, 1 s to answer. */
const probe = (port: number): Promise<{ status: number; ms: number }> => {
  const t0 = performance.now()
  return fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1000), headers: { connection: "close" } })
    .then(async (r) => ({ status: r.status, ms: (await r.text(), performance.now() - t0) }))
    .catch(() => ({ status: 0, ms: performance.now() - t0 }))
}

/** The attacker in a process of its own (test/support/slow-connections.ts); resolves once its connections are open. */
const slowConnections = async (port: number, count: number, seconds: number, dripMs: number) => {
  const child = spawn(BUN, [join(ROOT, "test/support/slow-connections.ts"), String(port), String(count), String(seconds), String(dripMs)], {
    stdio: ["ignore", "pipe", "inherit"]
  })
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
  }
  cleanups.push(async () => stop())
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the slow connections were not open within 20 s")), 20_000)
    child.stdout!.on("data", (c: Buffer) => {
      if (c.toString().includes("ready")) {
        clearTimeout(timer)
        resolve()
      }
    })
  })
  return { stop }
}

/** An agent, ready, over a mock with one service and no instance (stopped after the test). */
const readyAgent = async (): Promise<AgentProcess> => {
  const mock = await startMockCloudMap({ fixture: { namespaces: [{ name: "apps", services: [{ name: "web", instances: [] }] }] } })
  cleanups.push(() => mock.close())
  const agent = await startAgent({ AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url, NAMESPACE_MAP: APPS_HOST_MAP })
  cleanups.push(() => agent.stop())
  await agent.ready(30_000)
  return agent
}

describe("HEALTH_PORT under a slow-connection flood", () => {
  it("5,000 slow connections (a byte every 10 s) at a 1,024 file limit: every /healthz probe answers 200 within 1 s, Cloud Map reads go on", async () => {
    const agent = await readyAgent()
    execFileSync("prlimit", [`--pid=${agent.pid}`, "--nofile=1024:1024"])
    const readsBefore = await okCalls(agent)

    const flood = await slowConnections(agent.healthPort, 5000, 20, 10_000)
    await new Promise((r) => setTimeout(r, 500))
    const probes: Array<{ status: number; ms: number }> = []
    for (let i = 0; i < 8; i++) {
      probes.push(await probe(agent.healthPort))
      await new Promise((r) => setTimeout(r, 500))
    }
    const readsDuring = await okCalls(agent)
    flood.stop()
    // Every probe within 1 s; one late probe is tolerated on a loaded shared machine (the suite runs
    // floods in parallel). Before the cap, most probes got no answer at all.
    const late = probes.filter((p) => p.status !== 200 || p.ms >= 1000)
    expect(late.length, JSON.stringify(probes)).toBeLessThanOrEqual(1)
    expect(probes.map((p) => p.ms).sort((a, b) => a - b)[4]!, JSON.stringify(probes)).toBeLessThan(250)
    // Cloud Map was read during the flood (the change feed, every 2 s), without running out of descriptors.
    expect(readsDuring).toBeGreaterThan(readsBefore)
    expect(agent.logs.filter((l) => /EMFILE|file descriptors|typo in the url/i.test(l))).toEqual([])
    expect((await agent.get("/readyz")).status).toBe(200)
    // Said once, for the operator.
    expect(agent.logs.filter((l) => l.includes("HEALTH_PORT connection cap reached")).length).toBe(1)
  }, 90_000)

  it("closes a request head that does not finish within 5 s and a keep-alive connection idle for 5 s", async () => {
    const agent = await readyAgent()
    /** Opens a connection, sends `data`, and resolves with how long the agent kept it open (and what it answered). */
    const heldFor = (data: string) =>
      new Promise<{ ms: number; answer: string }>((resolve) => {
        const t0 = performance.now()
        let answer = ""
        const socket = connect(agent.healthPort, "127.0.0.1", () => socket.write(data))
        socket.on("data", (c: Buffer) => (answer += c.toString()))
        socket.on("close", () => resolve({ ms: performance.now() - t0, answer }))
        socket.on("error", () => undefined)
        // Bounded: never more than 20 s.
        setTimeout(() => socket.destroy(), 20_000).unref()
        cleanups.push(async () => socket.destroy())
      })
    const [slowHead, idle] = await Promise.all([
      // A request head that never ends (slowloris).
      heldFor("GET /healthz HTTP/1.1\r\nHost: x\r\n"),
      // A whole request answered, then the keep-alive connection left idle.
      heldFor("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    ])
    expect(slowHead.answer).not.toContain(" 200 ")
    expect(slowHead.ms).toBeGreaterThanOrEqual(GUARD_TIMEOUTS.headersMs - 500)
    expect(slowHead.ms).toBeLessThan(GUARD_TIMEOUTS.headersMs + GUARD_TIMEOUTS.checkEveryMs + 3_000)
    expect(idle.answer).toContain("HTTP/1.1 200")
    expect(idle.ms).toBeGreaterThanOrEqual(GUARD_TIMEOUTS.keepAliveMs - 500)
    expect(idle.ms).toBeLessThan(GUARD_TIMEOUTS.keepAliveMs + GUARD_TIMEOUTS.checkEveryMs + 3_000)
  }, 60_000)
})
