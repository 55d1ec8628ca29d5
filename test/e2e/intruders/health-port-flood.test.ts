/**
 * The agent's own port cannot be starved (issue 19, point 3). 2,000 slow connections to
 * HEALTH_PORT (part of a request head, one more byte every 2 s) against an agent whose file limit
 * is 1,024 (set with prlimit, as a container's nofile ulimit would): /healthz still answers every
 * probe within 1 s, and Cloud Map reads go on (no EMFILE). Bounded: the connections live ~6 s, and
 * are all closed at the end.
 */
import { execFileSync } from "node:child_process"
import { connect, type Socket } from "node:net"
import { afterEach, describe, expect, it } from "vitest"
import { startMockCloudMap } from "../../../src/mock/server.ts"
import { type AgentProcess, eventually, startAgent } from "../../support/agent.ts"

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

/** `count` connections that send a request head one byte at a time, every 2 s; returns a closer. */
const slowConnections = (port: number, count: number) => {
  const head = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "
  const sockets: Array<Socket> = []
  let closedByServer = 0
  for (let i = 0; i < count; i++) {
    const s = connect({ host: "127.0.0.1", port }, () => s.write(head.slice(0, 10)))
    s.on("error", () => undefined)
    s.on("close", () => (closedByServer += 1))
    sockets.push(s)
  }
  const timer = setInterval(() => {
    for (const s of sockets) if (!s.destroyed) s.write("a")
  }, 2000)
  return {
    closedByServer: () => closedByServer,
    close: () => {
      clearInterval(timer)
      for (const s of sockets) s.destroy()
    }
  }
}

describe("HEALTH_PORT under a slow-connection flood", () => {
  it("3,000 slow connections at a 1,024 file limit: every /healthz probe answers 200 within 1 s, Cloud Map reads go on", async () => {
    const mock = await startMockCloudMap({ fixture: { namespaces: [{ name: "apps", services: [{ name: "web", instances: [] }] }] } })
    cleanups.push(() => mock.close())
    const agent: AgentProcess = await startAgent({
      AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url,
      NAMESPACE_MAP: JSON.stringify([{ namespace: "apps", domainname: "example.test", mode: "host" }])
    })
    cleanups.push(() => agent.stop())
    await eventually("readyz", async () => (await agent.get("/readyz")).status === 200, 30_000)
    execFileSync("prlimit", [`--pid=${agent.pid}`, "--nofile=1024:1024"])
    const readsBefore = await okCalls(agent)

    const flood = slowConnections(agent.healthPort, 3000)
    cleanups.push(async () => flood.close())
    await new Promise((r) => setTimeout(r, 1500))
    const probes: Array<{ status: number; ms: number }> = []
    for (let i = 0; i < 8; i++) {
      probes.push(await probe(agent.healthPort))
      await new Promise((r) => setTimeout(r, 500))
    }
    const readsDuring = await okCalls(agent)
    flood.close()
    expect(probes.filter((p) => p.status !== 200 || p.ms >= 1000), JSON.stringify(probes)).toEqual([])
    // Cloud Map was read during the flood (the change feed, every 2 s), without running out of descriptors.
    expect(readsDuring).toBeGreaterThan(readsBefore)
    expect(agent.logs.filter((l) => /EMFILE|file descriptors|typo in the url/i.test(l))).toEqual([])
    expect((await agent.get("/readyz")).status).toBe(200)
  }, 90_000)
})
