/**
 * Adversity: a service created later must never take over a live route (issue 9, item 1). The
 * real agent and HAProxy against the mock Cloud Map, registrations changed through the real AWS
 * SDK while a keep-alive client keeps asking for the live route. Whoever was created first keeps
 * it; the newcomer is quarantined with a reason naming the owner and gets no request at all.
 */
import { readFileSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { join } from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { startMockCloudMap, type MockCloudMapHandle } from "../../../src/mock/server.ts"
import { type AgentProcess, APPS_HOST_MAP, eventually, startAgent, viaHaproxy } from "../../support/agent.ts"
import { type Backends, startBackends } from "../../support/backends.ts"
import { createService, namespaceId, register, sdkFor } from "../../support/cloudmap-sdk.ts"
import { keepAliveLoad } from "../../support/load.ts"

/** A backend that only counts what reaches it (health checks included): the newcomers'. */
interface CountingServer {
  readonly port: number
  readonly hits: () => number
  readonly close: () => Promise<void>
}

const countingServer = async (): Promise<CountingServer> => {
  let hits = 0
  const server: Server = createServer((_req, res) => {
    hits += 1
    res.end(JSON.stringify({ server: "newcomer" }))
  })
  // Raw TCP connections (HAProxy's layer-4 checks) count too.
  server.on("connection", () => (hits += 1))
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()))
  return {
    port: (server.address() as AddressInfo).port,
    hits: () => hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

interface QuarantineRecord {
  readonly namespace: string
  readonly service: string
  readonly instanceId?: string
  readonly reason: string
}

/** Every `quarantined` record anywhere in the /status document (its layout may grow). */
const quarantinedIn = (doc: unknown): Array<QuarantineRecord> => {
  const found: Array<QuarantineRecord> = []
  const walk = (value: unknown, key: string | undefined) => {
    if (Array.isArray(value)) {
      if (key === "quarantined") found.push(...(value as Array<QuarantineRecord>))
      else for (const v of value) walk(v, undefined)
    } else if (value !== null && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) walk(v, k)
    }
  }
  walk(doc, undefined)
  return found
}

const statusOf = async (agent: AgentProcess) => JSON.parse((await agent.get("/status")).body) as Record<string, unknown>

/**
 * Waits until the agent decided the conflict over `route`: some service was quarantined for it
 * (the newcomer, or, wrongly, the owner); returns the records naming `route`.
 */
const waitForConflict = (agent: AgentProcess, route: string, count = 1) =>
  eventually(`a service quarantined over ${route}`, async () => {
    const records = quarantinedIn(await statusOf(agent)).filter((q) => q.instanceId === undefined && q.reason.includes(` ${route} `))
    return records.length >= count ? records : undefined
  }, 30_000)

const routeInstances = (doc: Record<string, unknown>, route: string): Array<string> | undefined => {
  const routes = doc["routes"] as Array<{ route: string; instances: Array<{ id: string }> }> | undefined
  return routes?.find((r) => r.route === route)?.instances.map((i) => i.id).sort()
}

const addresses = (port: number) => ({ AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: String(port) })

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined)
})

describe("a new service never takes over a live route", () => {
  it("`Web` and `_web._tcp` created next to a routed `web`: quarantined, 0 requests to them, web keeps its 5 instances", async () => {
    const owners = ["web-1", "web-2", "web-3", "web-4", "web-5"]
    const backends: Backends = await startBackends(owners.map((name) => ({ name })))
    cleanups.push(() => backends.close())
    const newcomers = [await countingServer(), await countingServer()]
    for (const n of newcomers) cleanups.push(() => n.close())
    const mock: MockCloudMapHandle = await startMockCloudMap({
      fixture: {
        namespaces: [{
          name: "apps",
          services: [{
            name: "web",
            id: "srv-web",
            instances: owners.map((id) => ({ id, attributes: addresses(backends.byName(id).port) }))
          }]
        }]
      }
    })
    cleanups.push(() => mock.close())
    const agent = await startAgent({
      AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url,
      NAMESPACE_MAP: APPS_HOST_MAP
    })
    cleanups.push(() => agent.stop())
    await agent.ready(30_000)
    await eventually("all 5 web instances routed", async () =>
      routeInstances(await statusOf(agent), "web.example.test")?.length === 5, 30_000)

    const client = keepAliveLoad({ port: agent.listenPort, host: "web.example.test", pauseMs: 10 })
    await new Promise((r) => setTimeout(r, 1000))
    const sdk = sdkFor(mock.url)
    const ns = await namespaceId(sdk, "apps")
    for (const [i, name] of ["Web", "_web._tcp"].entries()) {
      const id = await createService(sdk, ns, name)
      await register(sdk, id, `${name}-1`, newcomers[i]!.port)
      await waitForConflict(agent, "web.example.test", i + 1)
    }
    const afterNewcomers = new Map(client.tally.byServer)
    // A few more polling rounds (REFRESH_RATE=1): nothing flips later either.
    await new Promise((r) => setTimeout(r, 4000))
    const tally = await client.stop()

    expect(newcomers.map((n) => n.hits())).toEqual([0, 0])
    expect(tally.byServer.get("newcomer") ?? 0).toBe(0)
    expect(tally.failed, tally.errors.join("; ")).toBe(0)
    const records = await waitForConflict(agent, "web.example.test", 2)
    expect(records.map((q) => [q.namespace, q.service]).sort()).toEqual([["apps", "Web"], ["apps", "_web._tcp"]])
    for (const q of records) {
      expect(q.reason).toContain("host web.example.test is already routed to service \"web\" (id \"srv-web\") in namespace \"apps\", created earlier")
    }
    // Every owner instance kept serving after the newcomers appeared.
    for (const owner of owners) expect(tally.byServer.get(owner) ?? 0).toBeGreaterThan(afterNewcomers.get(owner) ?? 0)
    expect(tally.total).toBeGreaterThan(100)
    const doc = await statusOf(agent)
    expect(routeInstances(doc, "web.example.test")).toEqual(owners)
    expect(quarantinedIn(doc).filter((q) => q.service === "web")).toEqual([])
  })

  it("a host-mode `gw` created over a path-mode domain gw.a.test: every path route stays, gw is quarantined", async () => {
    const backends: Backends = await startBackends([{ name: "shop-1" }, { name: "path-web" }, { name: "path-api" }])
    cleanups.push(() => backends.close())
    const newcomer = await countingServer()
    cleanups.push(() => newcomer.close())
    const mock: MockCloudMapHandle = await startMockCloudMap({
      fixture: {
        namespaces: [
          {
            name: "a",
            services: [{ name: "shop", id: "srv-shop", instances: [{ id: "shop-1", attributes: addresses(backends.byName("shop-1").port) }] }]
          },
          {
            name: "b",
            services: [
              { name: "web", id: "srv-web", instances: [{ id: "path-web", attributes: addresses(backends.byName("path-web").port) }] },
              { name: "api", id: "srv-api", instances: [{ id: "path-api", attributes: addresses(backends.byName("path-api").port) }] }
            ]
          }
        ]
      }
    })
    cleanups.push(() => mock.close())
    // The host-mode namespace is mapped first: NAMESPACE_MAP order must not decide.
    const agent = await startAgent({
      AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url,
      NAMESPACE_MAP: JSON.stringify([
        { namespace: "a", domainname: "a.test", mode: "host" },
        { namespace: "b", domainname: "gw.a.test", mode: "path" }
      ])
    })
    cleanups.push(() => agent.stop())
    await agent.ready(30_000)
    const pathsMap = () => readFileSync(join(agent.configDir, "paths.map"), "utf8")
    await eventually("both path routes applied", async () =>
      pathsMap().includes("gw.a.test/web") && pathsMap().includes("gw.a.test/api"), 30_000)
    const before = pathsMap()

    const client = keepAliveLoad({ port: agent.listenPort, host: "gw.a.test", path: "/web/x", pauseMs: 10 })
    await new Promise((r) => setTimeout(r, 1000))
    const sdk = sdkFor(mock.url)
    const id = await createService(sdk, await namespaceId(sdk, "a"), "gw")
    await register(sdk, id, "gw-1", newcomer.port)
    await waitForConflict(agent, "gw.a.test")
    await new Promise((r) => setTimeout(r, 4000))
    const tally = await client.stop()

    expect(pathsMap()).toBe(before)
    expect(readFileSync(join(agent.configDir, "hosts.map"), "utf8")).not.toContain("gw.a.test")
    expect(newcomer.hits()).toBe(0)
    expect(tally.failed, tally.errors.join("; ")).toBe(0)
    expect([...tally.byServer.keys()]).toEqual(["path-web"])
    const records = await waitForConflict(agent, "gw.a.test")
    expect(records.map((r) => [r.namespace, r.service])).toEqual([["a", "gw"]])
    // Fixture services share one CreateDate and both names are canonical: the lower id holds the domain.
    expect(records[0]!.reason).toContain(
      "host gw.a.test is already a path-mode domain, held by service \"api\" (id \"srv-api\") in namespace \"b\", created earlier"
    )
    for (const [path, server] of [["/web/", "path-web"], ["/api/v1", "path-api"]] as const) {
      const reply = await viaHaproxy(agent.listenPort, "gw.a.test", path)
      expect(reply.status).toBe(200)
      expect((JSON.parse(reply.body) as { server: string }).server).toBe(server)
    }
    const doc = await statusOf(agent)
    expect(quarantinedIn(doc).filter((r) => r.namespace === "b")).toEqual([])
    expect(routeInstances(doc, "gw.a.test/web")).toEqual(["path-web"])
    expect(routeInstances(doc, "gw.a.test/api")).toEqual(["path-api"])
  })
})
