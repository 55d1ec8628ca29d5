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
    await eventually("readyz", async () => (await agent.get("/readyz")).status === 200)
    await register(sdkFor(mock.url), "srv-web", "web-2", backends.byName("web-2").port)
    await eventually("dry-run change logged", async () =>
      agent.logs.some((l) => l.includes("would apply configuration") && l.includes("be_web.example.test (+1 -0 ~0)")))
    const status = JSON.parse((await agent.get("/status")).body)
    expect(status.applyMode).toBe("off")
    expect(status.routes[0].instances).toHaveLength(2)
    expect(status.haproxy.running).toBe(false)
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
    await eventually("readyz", async () => (await agent.get("/readyz")).status === 200)
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
