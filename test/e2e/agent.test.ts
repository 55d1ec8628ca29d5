/**
 * The live agent end to end: real HAProxy (Debian 2.6), the real AWS SDK inside the agent talking
 * to the mock Cloud Map over HTTP, real backends, real HTTP through HAProxy.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { execFileSync } from "node:child_process"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { supportsRuntimeBackends } from "../../src/haproxy/runtime-backend-api.ts"
import type { Fixture } from "../../src/mock/fixture.ts"
import { startMockCloudMap, type MockCloudMapHandle } from "../../src/mock/server.ts"
import { type AgentProcess, eventually, masterReloads, ROOT, startAgent, viaHaproxy } from "../support/agent.ts"
import { type Backends, startBackends } from "../support/backends.ts"
import { createService, createServiceNeedingReload, deregister, namespaceId, register, sdkFor } from "../support/cloudmap-sdk.ts"
import { faultWrapper } from "../support/fault-wrapper.ts"
import { freePort } from "../support/ports.ts"

/** HAProxy 3.4 and later add new services without a reload (docs/haproxy-runtime-backends.md). */
const RUNTIME_BACKENDS = supportsRuntimeBackends(
  /version (\S+)/.exec(execFileSync(process.env.HAPROXY_BIN ?? "haproxy", ["-v"], { encoding: "utf8" }))?.[1] ?? ""
)

const NAMESPACE_MAP = JSON.stringify([{ namespace: "apps", domainname: "example.test", mode: "host" }])

const fixtureFor = (b: Backends): Fixture => ({
  namespaces: [{
    name: "apps",
    id: "ns-apps",
    services: [
      {
        name: "web",
        id: "srv-web",
        instances: [{ id: "web-1", attributes: { AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: String(b.byName("web-1").port) } }]
      },
      {
        name: "_api._tcp",
        id: "srv-api",
        instances: [{ id: "api-1", attributes: { AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: String(b.byName("api-1").port) } }]
      }
    ]
  }]
})

const served = async (port: number, host: string, n = 12) => {
  const seen = new Set<string>()
  for (let i = 0; i < n; i++) {
    const r = await viaHaproxy(port, host)
    seen.add(r.status === 200 ? (JSON.parse(r.body) as { server: string }).server : `status ${r.status}`)
  }
  return seen
}

const metricValue = (text: string, name: string, labels: Record<string, string> = {}) =>
  text.split("\n").filter((l) => l.startsWith(name) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)))
    .reduce((n, l) => n + Number(l.trim().split(/\s+/).pop()), 0)

describe("agent routing and live updates", () => {
  let backends: Backends
  let mock: MockCloudMapHandle
  let agent: AgentProcess

  beforeAll(async () => {
    backends = await startBackends([{ name: "web-1" }, { name: "web-2" }, { name: "api-1" }, { name: "shop-1" }])
    mock = await startMockCloudMap({ fixture: fixtureFor(backends) })
    agent = await startAgent({ AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url, NAMESPACE_MAP })
    await agent.ready()
  })

  afterAll(async () => {
    await agent?.stop()
    await mock?.close()
    await backends?.close()
  })

  it("routes by Host to the right service (plain and SRV-style names)", async () => {
    expect(await served(agent.listenPort, "web.example.test", 4)).toEqual(new Set(["web-1"]))
    expect(await served(agent.listenPort, "API.example.test:8080", 4)).toEqual(new Set(["api-1"]))
    expect((await viaHaproxy(agent.listenPort, "unknown.example.test")).status).toBe(404)
    expect((await viaHaproxy(agent.listenPort, "web.example.test.evil.net")).status).toBe(404)
  })

  it("registering an instance sends it traffic; deregistering removes it", async () => {
    const sdk = sdkFor(mock.url)
    const before = await masterReloads(agent)
    await register(sdk, "srv-web", "web-2", backends.byName("web-2").port)
    await eventually("web-2 serving", async () => (await served(agent.listenPort, "web.example.test")).has("web-2"))
    // Both share the traffic.
    await eventually("web-1 and web-2 both serving", async () => (await served(agent.listenPort, "web.example.test")).size === 2)
    await deregister(sdk, "srv-web", "web-1")
    await eventually("web-1 gone", async () => {
      const seen = await served(agent.listenPort, "web.example.test")
      return seen.size === 1 && seen.has("web-2")
    })
    // Instance changes go through the runtime API: no reload.
    expect(await masterReloads(agent)).toBe(before)
    expect(metricValue((await agent.get("/metrics")).body, "cloudmap_haproxy_runtime_updates_total", { outcome: "ok" })).toBeGreaterThan(0)
    const status = JSON.parse((await agent.get("/status")).body)
    const web = status.routes.find((r: { route: string }) => r.route === "web.example.test")
    expect(web.instances.map((i: { id: string }) => i.id)).toEqual(["web-2"])
  })

  it("a new service gets its hostname (with exactly one reload; none on HAProxy 3.4)", async () => {
    const sdk = sdkFor(mock.url)
    const before = await masterReloads(agent)
    const id = await createService(sdk, await namespaceId(sdk, "apps"), "shop")
    await register(sdk, id, "shop-1", backends.byName("shop-1").port)
    await eventually("shop serving", async () => (await served(agent.listenPort, "shop.example.test", 2)).has("shop-1"))
    expect(await served(agent.listenPort, "shop.example.test", 4)).toEqual(new Set(["shop-1"]))
    await eventually("the reload recorded", async () => (JSON.parse((await agent.get("/status")).body).routes as Array<{ route: string }>).some((r) => r.route === "shop.example.test"))
    expect(await masterReloads(agent)).toBe(before + (RUNTIME_BACKENDS ? 0 : 1))
  })

  it("no change means no reload across many refreshes", async () => {
    const before = await masterReloads(agent)
    const refreshes = async () => metricValue((await agent.get("/metrics")).body, "cloudmap_haproxy_refreshes_total", { kind: "full" })
    const refreshesBefore = await refreshes()
    await eventually("three rounds that read every service", async () => (await refreshes()) - refreshesBefore >= 3)
    expect(await masterReloads(agent)).toBe(before)
  })

  it("skips a bad record with a reason (logged, counted, in /status) while everything else keeps routing", async () => {
    const sdk = sdkFor(mock.url)
    await register(sdk, "srv-api", "api-evil", "8080 backup")
    const status = await eventually("quarantine in /status", async () => {
      const s = JSON.parse((await agent.get("/status")).body)
      return s.quarantined.some((q: { instanceId?: string }) => q.instanceId === "api-evil") ? s : undefined
    })
    expect(status.quarantined.find((q: { instanceId?: string }) => q.instanceId === "api-evil").reason).toMatch(/port/i)
    expect(metricValue((await agent.get("/metrics")).body, "cloudmap_haproxy_quarantined")).toBe(1)
    expect(agent.logs.some((l) => l.includes("Cloud Map record quarantined") && l.includes("api-evil"))).toBe(true)
    expect(await served(agent.listenPort, "api.example.test", 4)).toEqual(new Set(["api-1"]))
    for (const server of await served(agent.listenPort, "web.example.test", 2)) expect(["web-1", "web-2"]).toContain(server)
    expect(JSON.stringify(await (await fetch(`http://127.0.0.1:${agent.healthPort}/status`)).json())).toContain("api-evil")
    await deregister(sdk, "srv-api", "api-evil")
    await eventually("quarantine cleared", async () => metricValue((await agent.get("/metrics")).body, "cloudmap_haproxy_quarantined") === 0)
  })

  it("serves /metrics and /status with counts, reloads and the config hash", async () => {
    const status = JSON.parse((await agent.get("/status")).body)
    const metrics = (await agent.get("/metrics")).body
    // Whatever the other tests in this file did: /metrics counts what /status lists.
    expect(metricValue(metrics, "cloudmap_haproxy_services")).toBe(status.routes.length)
    expect(status.routes.length).toBeGreaterThanOrEqual(2)
    expect(metricValue(metrics, "cloudmap_haproxy_cloudmap_calls_total", { operation: "DiscoverInstances", outcome: "ok" })).toBeGreaterThan(0)
    expect(status.config.hash).toMatch(/^[0-9a-f]{16}$/)
    expect(status.haproxy.running).toBe(true)
    expect(status.ready).toBe(true)
    // Secrets never appear in logs.
    expect(agent.logs.join("\n")).not.toContain("stats-secret")
    expect(agent.logs.join("\n")).not.toContain("prom-secret")
  })
})

describe("agent failure handling", () => {
  let backends: Backends
  let mock: MockCloudMapHandle
  let faultDir: string

  beforeAll(async () => {
    backends = await startBackends([{ name: "web-1" }, { name: "web-2" }, { name: "api-1" }])
    mock = await startMockCloudMap({ fixture: fixtureFor(backends) })
    faultDir = mkdtempSync(join(tmpdir(), "cmh-fault-"))
  })
  afterAll(async () => {
    await mock?.close()
    await backends?.close()
    rmSync(faultDir, { recursive: true, force: true })
  })

  it("never applies a candidate that fails haproxy -c, and rolls back a reload that fails", async () => {
    const agent = await startAgent({
      AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url,
      NAMESPACE_MAP,
      HAPROXY_BIN: faultWrapper(faultDir)
    })
    try {
      await agent.ready()
      const sdk = sdkFor(mock.url)
      // 1. Validation fails: a new service (needs a reload) is never applied.
      writeFileSync(join(faultDir, "fail-check"), "")
      // Options of its own: it needs a reload on HAProxy 3.4 too.
      const id = await createServiceNeedingReload(sdk, await namespaceId(sdk, "apps"), "blocked", 41)
      await register(sdk, id, "blocked-1", backends.byName("web-2").port)
      const status = await eventually("validation error in /status", async () => {
        const s = JSON.parse((await agent.get("/status")).body)
        return s.config.lastError?.error?.includes("injected validation failure") ? s : undefined
      })
      expect(status.config.lastError.method).toBe("reload")
      expect((await viaHaproxy(agent.listenPort, "blocked.example.test")).status).toBe(404)
      expect(await served(agent.listenPort, "web.example.test", 3)).toEqual(new Set(["web-1"]))
      const metrics = (await agent.get("/metrics")).body
      expect(metricValue(metrics, "cloudmap_haproxy_validation_failures_total")).toBeGreaterThanOrEqual(1)
      expect((await agent.get("/readyz")).status).toBe(200)

      // 2. Validation passes but the reload fails (a port taken by someone else).
      rmSync(join(faultDir, "fail-check"))
      const taken = await freePort()
      const { createServer } = await import("node:net")
      const squatter = createServer().listen(taken, "127.0.0.1")
      writeFileSync(join(faultDir, "extra.cfg"), `frontend squat\n    bind 127.0.0.1:${taken}\n`)
      try {
        await eventually("reload failure in /status", async () => {
          const s = JSON.parse((await agent.get("/status")).body)
          return s.config.lastError?.error?.match(/reload|Loading failure|failed/i) && s.config.lastError.method === "reload"
        })
        const m = (await agent.get("/metrics")).body
        expect(metricValue(m, "cloudmap_haproxy_reloads_total", { outcome: "failed" })).toBeGreaterThanOrEqual(2)
        // The old worker keeps serving the last good configuration. While a new process retries
        // binding the squatted port (~2 s a try), HAProxy pauses the old worker's listeners
        // ("Paused frontend fe_http", 2.6 and 3.x alike): a request then is refused, so this waits
        // for an answer, which must come from the old configuration.
        const answered = async (host: string) => {
          try {
            return await viaHaproxy(agent.listenPort, host)
          } catch {
            return undefined
          }
        }
        const web = await eventually("the old worker answers web", () => answered("web.example.test"), 10_000)
        expect(JSON.parse(web.body).server).toBe("web-1")
        expect((await eventually("the old worker answers blocked", () => answered("blocked.example.test"), 10_000)).status).toBe(404)
      } finally {
        squatter.close()
        rmSync(join(faultDir, "extra.cfg"))
      }
      // 3. Once the cause is gone, the change goes through on its own.
      await eventually("blocked service routed", async () => (await viaHaproxy(agent.listenPort, "blocked.example.test")).status === 200, 30_000)
    } finally {
      if (process.env.DUMP_AGENT_LOGS) writeFileSync(process.env.DUMP_AGENT_LOGS, agent.logs.join("\n"))
      await agent.stop()
    }
  })

  // Readiness with the opt-in staleness limit; the exact timing is tested with the clock in test/status/status.test.ts.
  it("with READY_MAX_STALENESS, keeps routing through Cloud Map errors; readiness fails after the budget and recovers", async () => {
    const agent = await startAgent({ AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url, NAMESPACE_MAP, READY_MAX_STALENESS: "4", CLOUDMAP_MAX_ATTEMPTS: "1" })
    try {
      await agent.ready()
      await fetch(`${mock.url}/_mock/faults`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ operation: "*", kind: "5xx" })
      })
      const failedAt = Date.now()
      expect(await served(agent.listenPort, "web.example.test", 3)).toEqual(new Set(["web-1"]))
      await eventually("not ready", async () => (await agent.get("/readyz")).status === 503, 15_000)
      expect(Date.now() - failedAt).toBeGreaterThanOrEqual(3000)
      expect(await served(agent.listenPort, "web.example.test", 3)).toEqual(new Set(["web-1"]))
      expect((await agent.get("/healthz")).status).toBe(200)
      await fetch(`${mock.url}/_mock/faults`, { method: "DELETE" })
      await eventually("ready again", async () => (await agent.get("/readyz")).status === 200, 15_000)
    } finally {
      await agent.stop()
    }
  })

  it("SIGTERM drains and exits 0 leaving no HAProxy; HAProxy dying makes the agent exit non-zero", async () => {
    const agent = await startAgent({ AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url, NAMESPACE_MAP })
    await agent.ready()
    const pids = agent.haproxyPids()
    expect(pids.length).toBeGreaterThanOrEqual(1)
    const result = await agent.stop("SIGTERM")
    expect(result.code).toBe(0)
    expect(agent.logs.some((l) => l.includes("readiness is false"))).toBe(true)
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow()

    const second = await startAgent({ AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url, NAMESPACE_MAP })
    try {
      await second.ready()
      const [master] = second.haproxyPids().sort((a, b) => a - b)
      process.kill(master!, "SIGKILL")
      const exit = await Promise.race([second.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 15_000))])
      expect(exit?.code).not.toBe(0)
      expect(exit?.code).not.toBeNull()
      expect(second.logs.some((l) => l.includes("HAProxy died"))).toBe(true)
    } finally {
      await second.stop()
    }
  })
})
