/**
 * Wrong passwords on /stats and /metrics are bounded before HAProxy computes the SHA-512-crypt
 * hash (issue 19, point 4): ~1.35 ms of CPU each, so 1,100 wrong attempts a second took ~1.5
 * cores and normal traffic fell from 4,076 to 142 requests/s. Real agent, real HAProxy, loopback
 * sources 127.0.0.x, every flood bounded in count and time. The numbers under a 1,000/s flood
 * are in BENCHMARKS.md (npm run bench:auth-flood).
 */
import { afterEach, describe, expect, it } from "vitest"
import { startMockCloudMap } from "../../../src/mock/server.ts"
import { basic, flood, get, throughput } from "../../../scripts/bench/auth-flood.ts"
import { cpuSeconds, haproxyServingPidsFor } from "../../../scripts/bench/proc.ts"
import { type AgentProcess, APPS_HOST_MAP, eventually, startAgent, viaHaproxy } from "../../support/agent.ts"
import { startBackends } from "../../support/backends.ts"

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined)
})

const STATS = { user: "stats_user", password: "stats-secret" }
const PROM = { user: "stats", password: "prom-secret" }

const start = async (): Promise<AgentProcess> => {
  const backends = await startBackends([{ name: "web-1" }])
  cleanups.push(() => backends.close())
  const mock = await startMockCloudMap({
    fixture: {
      namespaces: [{
        name: "apps",
        services: [{ name: "web", instances: [{ id: "web-1", attributes: { AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: String(backends.byName("web-1").port) } }] }]
      }]
    }
  })
  cleanups.push(() => mock.close())
  const agent = await startAgent({
    AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url,
    NAMESPACE_MAP: APPS_HOST_MAP,
    STATS_PASSWD: STATS.password,
    PROM_PASSWD: PROM.password,
    HAPROXY_NBTHREAD: "2"
  })
  cleanups.push(() => agent.stop())
  await agent.ready(30_000)
  await eventually("web routed", async () => (await viaHaproxy(agent.listenPort, "web.example.test")).status === 200, 30_000)
  return agent
}

const haproxyCpu = (agent: AgentProcess) => haproxyServingPidsFor(agent.configDir).reduce((s, pid) => s + cpuSeconds(pid), 0)

const page = (agent: AgentProcess, path: string, authorization: string, localAddress = "127.0.0.1") =>
  get({ port: agent.listenPort, host: "web.example.test", path, headers: { authorization }, localAddress })

describe("wrong passwords on the monitoring pages", () => {
  it("one source: 1,000 wrong /stats passwords, about 10 checked (401), the rest 429 unchecked; HAProxy's CPU stays low; others get in", async () => {
    const agent = await start()
    expect((await page(agent, "/stats", basic(STATS.user, STATS.password), "127.0.0.9")).status).toBe(200)
    const cpuBefore = haproxyCpu(agent)
    const result = await flood({
      port: agent.listenPort, host: "web.example.test", path: "/stats", authorization: basic(STATS.user, "wrong"),
      ratePerSecond: 1000, durationMs: 1000
    })
    const cpu = haproxyCpu(agent) - cpuBefore
    // 10, or a few more: requests checked at the same moment on two threads all see the count below 10.
    const checked = result.byStatus.get(401) ?? 0
    expect(checked).toBeGreaterThanOrEqual(10)
    expect(checked).toBeLessThanOrEqual(14)
    expect(result.byStatus.get(429)).toBe(1000 - checked)
    // Checking 1,000 passwords costs ~1.35 s of CPU; 10 checks and 990 refusals far less.
    expect(cpu).toBeLessThan(0.4)
    // The source is locked out, even with the right password; another source is not.
    expect((await page(agent, "/stats", basic(STATS.user, STATS.password))).status).toBe(429)
    expect((await page(agent, "/stats", basic(STATS.user, STATS.password), "127.0.0.2")).status).toBe(200)
    expect((await page(agent, "/metrics", basic(PROM.user, PROM.password), "127.0.0.2")).status).toBe(200)
    // No credentials: 401 as before, no hash to bound.
    expect((await get({ port: agent.listenPort, host: "web.example.test", path: "/stats" })).status).toBe(401)
  }, 90_000)

  it("many sources (all clients behind one ALB look alike, or spread ones): the total is bounded too", async () => {
    const agent = await start()
    const sources = Array.from({ length: 40 }, (_, i) => `127.0.1.${i + 1}`)
    const result = await flood({
      port: agent.listenPort, host: "web.example.test", path: "/metrics", authorization: basic(PROM.user, "wrong"),
      ratePerSecond: 400, durationMs: 1000, sources
    })
    // 10 attempts per source (under its own bound), 400 in all: at most 50 in 10 s are checked.
    expect(result.byStatus.get(401) ?? 0).toBeLessThanOrEqual(55)
    expect(result.byStatus.get(429) ?? 0).toBeGreaterThanOrEqual(345)
  }, 90_000)

  it("under a 1,000/s flood: HAProxy spends a fraction of a hash per attempt, normal traffic keeps flowing", async () => {
    const agent = await start()
    const wrong = (durationMs: number, octet: number) => flood({
      port: agent.listenPort, host: "web.example.test", path: "/stats", authorization: basic(STATS.user, "wrong"),
      ratePerSecond: 1000, durationMs, sources: Array.from({ length: 20 }, (_, i) => `127.0.${octet}.${i + 1}`)
    })
    // CPU time, not throughput: it does not depend on how busy the (shared) machine is.
    const cpu0 = haproxyCpu(agent)
    const alone = await wrong(2000, 2)
    const msPerAttempt = ((haproxyCpu(agent) - cpu0) * 1000) / alone.sent
    // A checked password costs ~1.35 ms; before the bound every attempt was checked.
    expect(msPerAttempt).toBeLessThan(0.3)
    const [traffic] = await Promise.all([
      throughput({ port: agent.listenPort, host: "web.example.test", workers: 4, durationMs: 2000 }),
      wrong(2000, 4)
    ])
    // Before the bound: 8 requests/s at a p50 of 843 ms (BENCHMARKS.md).
    expect(traffic.failed).toBe(0)
    expect(traffic.p50Ms).toBeLessThan(100)
    expect(traffic.requests).toBeGreaterThan(200)
  }, 90_000)
})
