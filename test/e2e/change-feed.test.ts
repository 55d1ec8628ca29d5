/**
 * The change feed end to end: registrations are found through Cloud Map's operations (no
 * revision checks at all), a new service's first registration is routed without waiting for the
 * next service listing, a feed that is denied falls back to revision polling (said once) and
 * comes back, and a change the feed never lists is repaired by the sweep. Real HAProxy, the real
 * SDK against the mock, real HTTP.
 */
import { afterEach, beforeEach, expect, it } from "vitest"
import { startMockCloudMap, type MockCloudMapHandle } from "../../src/mock/server.ts"
import { type AgentProcess, cloudMapCalls, eventually, masterReloads, startAgent, viaHaproxy } from "../support/agent.ts"
import { type Backends, startBackends } from "../support/backends.ts"
import { createService, register, sdkFor } from "../support/cloudmap-sdk.ts"
import { appsFixture } from "../support/fixtures.ts"

const NAMESPACE_MAP = JSON.stringify([{ namespace: "apps", domainname: "example.test", mode: "host" }])

let backends: Backends
let mock: MockCloudMapHandle
let agent: AgentProcess | undefined

const startFleet = async (mockOptions: { readonly operationRetentionMs?: number } = {}) => {
  backends = await startBackends([{ name: "web-1" }, { name: "web-2" }, { name: "shop-1" }])
  mock = await startMockCloudMap({ fixture: appsFixture(backends, { web: ["web-1"] }), ...mockOptions })
}

beforeEach(async () => {
  await startFleet()
})

afterEach(async () => {
  await agent?.stop()
  agent = undefined
  await mock?.close()
  await backends?.close()
})

const serverOf = async (host: string) => {
  const r = await viaHaproxy(agent!.listenPort, host)
  return r.status === 200 ? (JSON.parse(r.body) as { server: string }).server : `status ${r.status}`
}

const servedBy = async (host: string, n = 8) => {
  const seen = new Set<string>()
  for (let i = 0; i < n; i++) seen.add(await serverOf(host))
  return seen
}

const fault = (body: unknown) =>
  fetch(`${mock.url}/_mock/faults`, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } })

const feedStatus = async () => (JSON.parse((await agent!.get("/status")).body) as { changeFeed: Record<string, any> }).changeFeed

/** Revision checks, sweep and listing an hour away: only the feed can find a change quickly. */
const FEED_ONLY = { REFRESH_RATE: "3600", SERVICE_LIST_RATE: "3600", REVISION_POLL_RATE: "3600", CHANGE_FEED_RATE: "0.5" }

it("finds a registration through the feed alone: no revision check, no reload", async () => {
  agent = await startAgent({ AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url, NAMESPACE_MAP, ...FEED_ONLY })
  await agent.ready()
  const reloads = await masterReloads(agent)
  const started = performance.now()
  await register(sdkFor(mock.url), "srv-web", "web-2", backends.byName("web-2").port)
  await eventually("web-2 serving", async () => (await servedBy("web.example.test")).has("web-2"))
  expect(performance.now() - started).toBeLessThan(3000)
  expect(await cloudMapCalls(agent, "DiscoverInstancesRevision")).toBe(0)
  expect(await cloudMapCalls(agent, "GetOperation")).toBeGreaterThanOrEqual(1)
  expect(await masterReloads(agent)).toBe(reloads)
  expect(await feedStatus()).toMatchObject({ state: "active", lastRound: { pages: 1 } })
  expect((await agent.get("/metrics")).body).toMatch(/^cloudmap_haproxy_change_feed_active 1$/m)
})

it("routes a new service at its first registration without waiting for SERVICE_LIST_RATE", async () => {
  agent = await startAgent({ AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url, NAMESPACE_MAP, ...FEED_ONLY })
  await agent.ready()
  const sdk = sdkFor(mock.url)
  const shop = await createService(sdk, "ns-apps", "shop")
  const started = performance.now()
  await register(sdk, shop, "shop-1", backends.byName("shop-1").port)
  await eventually("shop serving", async () => (await serverOf("shop.example.test")) === "shop-1")
  // The listing is an hour away: the feed named a service not listed yet, which re-listed at once.
  expect(performance.now() - started).toBeLessThan(8000)
})

it("falls back to revision polling when the feed is denied, says so once, and uses the feed again when allowed", async () => {
  await fault({ kind: "accessDenied", operation: ["ListOperations"] })
  agent = await startAgent({
    AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url,
    NAMESPACE_MAP,
    REFRESH_RATE: "3600",
    REVISION_POLL_RATE: "0.5",
    CHANGE_FEED_RATE: "0.5",
    CHANGE_FEED_RETRY: "2"
  })
  await agent.ready()
  await eventually("unavailable", async () => (await feedStatus()).state === "unavailable")
  const status = await feedStatus()
  expect(status.problem).toBe("denied")
  expect(status.detail).toContain("servicediscovery:ListOperations")
  expect((await agent.get("/metrics")).body).toMatch(/^cloudmap_haproxy_change_feed_active 0$/m)
  // Registrations are still found, by revision polling.
  const started = performance.now()
  await register(sdkFor(mock.url), "srv-web", "web-2", backends.byName("web-2").port)
  await eventually("web-2 serving", async () => (await servedBy("web.example.test")).has("web-2"))
  expect(performance.now() - started).toBeLessThan(3000)
  expect(await cloudMapCalls(agent, "DiscoverInstancesRevision")).toBeGreaterThan(0)
  // Retried every CHANGE_FEED_RETRY (2 s), still denied: said once.
  await new Promise((r) => setTimeout(r, 4500))
  expect(agent.logs.filter((l) => l.includes("change feed unavailable")).length).toBe(1)
  expect(await cloudMapCalls(agent, "ListOperations")).toBeGreaterThanOrEqual(2)
  await fetch(`${mock.url}/_mock/faults`, { method: "DELETE" })
  await eventually("active again", async () => (await feedStatus()).state === "active")
  expect(agent.logs.some((l) => l.includes("change feed available again"))).toBe(true)
  const revisions = await cloudMapCalls(agent, "DiscoverInstancesRevision")
  await new Promise((r) => setTimeout(r, 1500))
  expect(await cloudMapCalls(agent, "DiscoverInstancesRevision")).toBe(revisions)
})

it("a change the feed never lists is repaired by the sweep within REFRESH_RATE", async () => {
  await mock.close()
  await backends.close()
  // Operations leave Cloud Map's record at once: the feed sees none.
  await startFleet({ operationRetentionMs: 0 })
  agent = await startAgent({ AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url, NAMESPACE_MAP, REFRESH_RATE: "3", CHANGE_FEED_RATE: "0.5" })
  await agent.ready()
  const started = performance.now()
  await register(sdkFor(mock.url), "srv-web", "web-2", backends.byName("web-2").port)
  await eventually("web-2 serving", async () => (await servedBy("web.example.test")).has("web-2"))
  expect(performance.now() - started).toBeLessThan(5000)
  expect(await cloudMapCalls(agent, "GetOperation")).toBe(0)
  expect(await cloudMapCalls(agent, "DiscoverInstancesRevision")).toBe(0)
  expect(await feedStatus()).toMatchObject({ state: "active" })
})
