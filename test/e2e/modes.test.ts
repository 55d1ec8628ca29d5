/** APPLY_MODE=off (dry run) and HAPROXY_RESTART=true, end to end. */
import { existsSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, expect, it } from "vitest"
import { startMockCloudMap, type MockCloudMapHandle } from "../../src/mock/server.ts"
import { eventually, startAgent, viaHaproxy } from "../support/agent.ts"
import { type Backends, startBackends } from "../support/backends.ts"
import { register, sdkFor } from "../support/cloudmap-sdk.ts"

const NAMESPACE_MAP = JSON.stringify([{ namespace: "apps", domainname: "example.test" }])
let backends: Backends
let mock: MockCloudMapHandle

beforeAll(async () => {
  backends = await startBackends([{ name: "web-1" }, { name: "web-2" }])
  mock = await startMockCloudMap({
    fixture: {
      namespaces: [{
        name: "apps",
        services: [{ name: "web", id: "srv-web", instances: [{ id: "web-1", attributes: { AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: String(backends.byName("web-1").port) } }] }]
      }]
    }
  })
})
afterAll(async () => {
  await mock?.close()
  await backends?.close()
})

it("APPLY_MODE=off logs what would change and never starts or touches HAProxy", async () => {
  const agent = await startAgent({ AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url, NAMESPACE_MAP, APPLY_MODE: "off" })
  try {
    await agent.ready()
    await register(sdkFor(mock.url), "srv-web", "web-2", backends.byName("web-2").port)
    await eventually("dry-run change logged", async () =>
      agent.logs.some((l) => l.includes("would apply configuration") && l.includes("be_web.example.test (+1 -0 ~0)")))
    const status = JSON.parse((await agent.get("/status")).body)
    expect(status.applyMode).toBe("off")
    expect(status.routes[0].instances).toHaveLength(2)
    expect(status.haproxy.running).toBe(false)
    // The status page's live state says why there is none.
    expect(JSON.parse((await agent.get("/status/servers")).body)).toMatchObject({ available: false, error: expect.stringContaining("APPLY_MODE=off") })
    expect(agent.haproxyPids()).toEqual([])
    expect(existsSync(join(agent.configDir, "haproxy.cfg"))).toBe(false)
    await expect(viaHaproxy(agent.listenPort, "web.example.test")).rejects.toThrow()
  } finally {
    await agent.stop()
  }
})

it("HAPROXY_RESTART=true restarts a dead HAProxy and recovers readiness", async () => {
  const agent = await startAgent({ AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url, NAMESPACE_MAP, HAPROXY_RESTART: "true" })
  try {
    await agent.ready()
    const [master] = agent.haproxyPids().sort((a, b) => a - b)
    process.kill(master!, "SIGKILL")
    await eventually("restarted", async () => {
      const pids = agent.haproxyPids()
      return pids.length > 0 && !pids.includes(master!) && (await agent.get("/readyz")).status === 200
    })
    expect(agent.logs.some((l) => l.includes("HAProxy died") && l.includes('"restart":true'))).toBe(true)
    const reply = await viaHaproxy(agent.listenPort, "web.example.test")
    expect(reply.status).toBe(200)
  } finally {
    const exit = await agent.stop()
    expect(exit.code).toBe(0)
  }
})

it("SIGTERM: readiness goes false first, in-flight requests finish, then exit 0", async () => {
  const { createServer } = await import("node:http")
  const slow = createServer((req, res) => setTimeout(() => res.end("slow done"), 1500))
  await new Promise<void>((r) => slow.listen(0, "127.0.0.1", () => r()))
  const port = (slow.address() as import("node:net").AddressInfo).port
  const slowMock = await startMockCloudMap({
    fixture: { namespaces: [{ name: "apps", services: [{ name: "slow", instances: [{ id: "s-1", attributes: { AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: String(port) } }] }] }] }
  })
  const agent = await startAgent({ AWS_ENDPOINT_URL_SERVICEDISCOVERY: slowMock.url, NAMESPACE_MAP })
  try {
    await agent.ready()
    const inflight = viaHaproxy(agent.listenPort, "slow.example.test")
    await new Promise((r) => setTimeout(r, 300))
    process.kill(agent.pid, "SIGTERM")
    await eventually("readyz false while draining", async () => (await agent.get("/readyz")).status === 503, 1000)
    const reply = await inflight
    expect(reply.status).toBe(200)
    expect(reply.body).toBe("slow done")
    expect((await agent.exited).code).toBe(0)
  } finally {
    await agent.stop()
    await slowMock.close()
    slow.closeAllConnections()
    slow.close()
  }
})
