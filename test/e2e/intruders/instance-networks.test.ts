/**
 * A registered address is untrusted (issue 19, point 1). Real agent, real HAProxy, mock Cloud Map,
 * registrations made through the real AWS SDK while the agent runs:
 * - by default an instance at loopback (the agent's own /status is there, and HAProxy is a
 *   loopback client) or link-local (instance and task metadata) is quarantined with a reason and
 *   gets no request;
 * - with ALLOW_INSTANCE_NETWORKS=127.0.0.0/8 loopback instances route, but one at the agent's own
 *   HEALTH_PORT or HAProxy's LISTEN_PORT (a request loop) is still quarantined.
 */
import { afterEach, describe, expect, it } from "vitest"
import { startMockCloudMap } from "../../../src/mock/server.ts"
import { type AgentProcess, APPS_HOST_MAP, eventually, startAgent, viaHaproxy } from "../../support/agent.ts"
import { startBackends } from "../../support/backends.ts"
import { createService, namespaceId, register, sdkFor } from "../../support/cloudmap-sdk.ts"

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined)
})

interface Quarantined {
  readonly service: string
  readonly instanceId?: string
  readonly reason: string
}

const quarantined = async (agent: AgentProcess): Promise<Array<Quarantined>> => {
  const found: Array<Quarantined> = []
  const walk = (value: unknown, key?: string): void => {
    if (Array.isArray(value)) {
      if (key === "quarantined") found.push(...(value as Array<Quarantined>))
      else for (const v of value) walk(v)
    } else if (value !== null && typeof value === "object") for (const [k, v] of Object.entries(value)) walk(v, k)
  }
  walk(JSON.parse((await agent.get("/status")).body))
  return found
}

const reasonFor = (agent: AgentProcess, instanceId: string) =>
  eventually(`${instanceId} quarantined`, async () => (await quarantined(agent)).find((q) => q.instanceId === instanceId)?.reason, 30_000)

const start = async (env: Record<string, string>) => {
  const backends = await startBackends([{ name: "web-1" }])
  cleanups.push(() => backends.close())
  const mock = await startMockCloudMap({ fixture: { namespaces: [{ name: "apps", services: [{ name: "web", id: "srv-web", instances: [] }] }] } })
  cleanups.push(() => mock.close())
  const agent = await startAgent({
    AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url,
    NAMESPACE_MAP: APPS_HOST_MAP,
    ...env
  })
  cleanups.push(() => agent.stop())
  await agent.ready(30_000)
  const sdk = sdkFor(mock.url)
  const ns = await namespaceId(sdk, "apps")
  return { agent, sdk, ns, web: backends.byName("web-1").port }
}

describe("instance addresses the agent refuses", () => {
  it("by default: loopback (even the agent's own /status) and metadata addresses are quarantined, never proxied to", async () => {
    const { agent, sdk, ns, web } = await start({ ALLOW_INSTANCE_NETWORKS: "" })
    await register(sdk, "srv-web", "web-1", web)
    const peek = await createService(sdk, ns, "peek")
    await register(sdk, peek, "peek-1", agent.healthPort)
    const meta = await createService(sdk, ns, "meta")
    await register(sdk, meta, "meta-1", 80, "169.254.169.254")

    expect(await reasonFor(agent, "web-1")).toMatch(/address 127\.0\.0\.1 is in 127\.0\.0\.0\/8, loopback .*ALLOW_INSTANCE_NETWORKS/)
    expect(await reasonFor(agent, "peek-1")).toMatch(/127\.0\.0\.1/)
    expect(await reasonFor(agent, "meta-1")).toMatch(/169\.254\.0\.0\/16, link-local/)
    // The routes exist (the services are fine) but have no server: 503, never the agent's pages.
    await eventually("peek routed", async () => (await viaHaproxy(agent.listenPort, "peek.example.test", "/status")).status === 503, 30_000)
    const status = await viaHaproxy(agent.listenPort, "peek.example.test", "/status")
    expect(status.body).not.toContain("quarantined")
    expect((await viaHaproxy(agent.listenPort, "web.example.test")).status).toBe(503)
  }, 90_000)

  it("ALLOW_INSTANCE_NETWORKS=127.0.0.0/8: loopback routes, the agent's own HEALTH_PORT and LISTEN_PORT never do", async () => {
    const { agent, sdk, ns, web } = await start({ ALLOW_INSTANCE_NETWORKS: "127.0.0.0/8" })
    await register(sdk, "srv-web", "web-1", web)
    const peek = await createService(sdk, ns, "peek")
    await register(sdk, peek, "peek-1", agent.healthPort)
    const loop = await createService(sdk, ns, "loop")
    await register(sdk, loop, "loop-1", agent.listenPort)
    const meta = await createService(sdk, ns, "meta")
    await register(sdk, meta, "meta-1", 80, "169.254.170.2")

    expect(await reasonFor(agent, "peek-1")).toMatch(/^address 127\.0\.0\.1:\d+ is the agent's own HEALTH_ADDRESS:HEALTH_PORT/)
    expect(await reasonFor(agent, "loop-1")).toMatch(/^address 127\.0\.0\.1:\d+ is the agent's own LISTEN_ADDRESS:LISTEN_PORT/)
    expect(await reasonFor(agent, "meta-1")).toMatch(/169\.254\.0\.0\/16/)
    await eventually("web routed", async () => (await viaHaproxy(agent.listenPort, "web.example.test")).body.includes("web-1"), 30_000)
    expect((await quarantined(agent)).some((q) => q.instanceId === "web-1")).toBe(false)
    const status = await viaHaproxy(agent.listenPort, "peek.example.test", "/status")
    expect(status.status).toBe(503)
    expect((await viaHaproxy(agent.listenPort, "loop.example.test")).status).toBe(503)
  }, 90_000)
})
