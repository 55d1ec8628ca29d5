/**
 * The change feed end to end against each reading of what AWS does not publish: the agent at its
 * feed defaults (a round every 2 s, the sweep every 30 s) with the mock switched to Targets
 * without SERVICE, OperationNotFound from GetOperation, UPDATE_DATE in milliseconds, and a feed
 * that lists nothing. In every case a registration serves without waiting for the sweep, or the
 * feed notices that it is blind and revision polling takes over. Real HAProxy, real SDK, real HTTP.
 */
import { afterEach, beforeEach, expect, it } from "vitest"
import type { FeedReadings } from "../../src/mock/feed-readings.ts"
import { startMockCloudMap, type MockCloudMapHandle } from "../../src/mock/server.ts"
import { type AgentProcess, eventually, startAgent, viaHaproxy } from "../support/agent.ts"
import { type Backends, startBackends } from "../support/backends.ts"
import { createService, namespaceId, register, sdkFor } from "../support/cloudmap-sdk.ts"
import { appsFixture } from "../support/fixtures.ts"

const NAMESPACE_MAP = JSON.stringify([{ namespace: "apps", domainname: "example.test", mode: "host" }])
/** The feed's defaults: only the feed (or a check it asks for) finds a change within seconds. */
const FEED_DEFAULTS = { REFRESH_RATE: "30", SERVICE_LIST_RATE: "30", REVISION_POLL_RATE: "3.6", CHANGE_FEED_RATE: "2" }

let backends: Backends
let mock: MockCloudMapHandle
let agent: AgentProcess | undefined

beforeEach(async () => {
  backends = await startBackends([{ name: "web-1" }, { name: "web-2" }, { name: "web-3" }, { name: "web-4" }])
})

afterEach(async () => {
  await agent?.stop()
  agent = undefined
  await mock?.close()
  await backends?.close()
})

const start = async (
  feedReadings: FeedReadings,
  mockOptions: { readonly operationRetentionMs?: number; readonly foreignChurn?: number } = {},
  env: Record<string, string> = {}
) => {
  mock = await startMockCloudMap({ fixture: appsFixture(backends, { web: ["web-1"] }), feedReadings, ...mockOptions })
  agent = await startAgent({ AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url, NAMESPACE_MAP, ...FEED_DEFAULTS, ...env })
  await agent.ready()
}

const serves = async (name: string) => {
  for (let i = 0; i < 6; i++) {
    const r = await viaHaproxy(agent!.listenPort, "web.example.test")
    if (r.status === 200 && (JSON.parse(r.body) as { server: string }).server === name) return true
  }
  return false
}

/** Registers a backend and returns how long until HAProxy serves it (ms). */
const registerAndTime = async (name: string, timeoutMs: number) => {
  const started = performance.now()
  await register(sdkFor(mock.url), "srv-web", name, backends.byName(name).port)
  await eventually(`${name} serving`, () => serves(name), timeoutMs)
  return performance.now() - started
}

const feedStatus = async () => (JSON.parse((await agent!.get("/status")).body) as { changeFeed: Record<string, any> }).changeFeed

it("GetOperation's Targets without SERVICE: registrations serve within seconds (placed by instance, or every revision checked)", async () => {
  await start({ operationTargets: "instance", updateDateUnit: "seconds" })
  for (const name of ["web-2", "web-3"]) expect(await registerAndTime(name, 20_000)).toBeLessThan(6_000)
  expect(await feedStatus()).toMatchObject({ state: "active", misses: 0 })
  expect((await agent!.get("/metrics")).body).toMatch(/^cloudmap_haproxy_change_feed_misses_total 0$/m)
}, 90_000)

it("GetOperation answers OperationNotFound (operations kept briefly): registrations serve within seconds", async () => {
  await start({ operationTargets: "service", updateDateUnit: "seconds" })
  await fetch(`${mock.url}/_mock/faults`, {
    method: "POST",
    body: JSON.stringify({ kind: "5xx", status: 400, code: "OperationNotFound", operation: "GetOperation" }),
    headers: { "content-type": "application/json" }
  })
  for (const name of ["web-2", "web-3"]) expect(await registerAndTime(name, 20_000)).toBeLessThan(6_000)
  expect(await feedStatus()).toMatchObject({ state: "active", misses: 0 })
}, 90_000)

it("UPDATE_DATE read in milliseconds: the first missed change makes the agent switch units; the next registrations serve within seconds", async () => {
  await start({ operationTargets: "service", updateDateUnit: "milliseconds" })
  // Sent in seconds, nothing is listed: only the sweep (30 s) finds this one, and it is a miss.
  await registerAndTime("web-2", 60_000)
  await eventually("unit learnt", async () => (await feedStatus()).updateDateUnit === "milliseconds", 30_000)
  expect(await feedStatus()).toMatchObject({ state: "active", misses: 1 })
  expect(agent!.logs.some((l) => l.includes("reads UPDATE_DATE in milliseconds"))).toBe(true)
  for (const name of ["web-3", "web-4"]) expect(await registerAndTime(name, 20_000)).toBeLessThan(5_000)
}, 150_000)

it("a feed that lists nothing: within 2 minutes of the first missed change it is unavailable (misses) and polling serves registrations", async () => {
  // Operations are gone as soon as they are made: ListOperations never lists one, in either unit.
  await start({ operationTargets: "service", updateDateUnit: "seconds" }, { operationRetentionMs: 0 })
  const first = performance.now()
  await registerAndTime("web-2", 60_000)
  await eventually("feed unavailable", async () => (await feedStatus()).state === "unavailable", 120_000)
  expect(performance.now() - first).toBeLessThan(120_000)
  const feed = await feedStatus()
  expect(feed).toMatchObject({ state: "unavailable", problem: "misses", misses: 1 })
  expect(feed.detail).toContain("web")
  expect((await agent!.get("/metrics")).body).toMatch(/^cloudmap_haproxy_change_feed_misses_total 1$/m)
  expect((await agent!.get("/metrics")).body).toMatch(/^cloudmap_haproxy_change_feed_unavailable_total\{problem="misses"\} 1$/m)
  expect(agent!.logs.filter((l) => l.includes("change feed unavailable"))).toHaveLength(1)
  for (const name of ["web-3", "web-4"]) expect(await registerAndTime(name, 20_000)).toBeLessThan(5_000)
}, 200_000)

it("foreign churn past CHANGE_FEED_MAX_PAGES (Cloud Map pages through every operation it keeps): the listing goes on where each round ended, the feed stays active and registrations serve within seconds", async () => {
  // 10 operations/s in a namespace the agent does not map; one page a round, so 100 kept operations overflow it.
  await start({ operationTargets: "service", updateDateUnit: "seconds", operationScan: "retained" }, { foreignChurn: 10 }, { CHANGE_FEED_MAX_PAGES: "1" })
  await eventually("resumed listing caught up", async () => (await feedStatus()).resumed?.caughtUp === true, 60_000)
  expect(agent!.logs.filter((l) => l.includes("change feed unavailable"))).toHaveLength(0)
  expect(agent!.logs.filter((l) => l.includes("each round now goes on from the page the last one ended on"))).toHaveLength(1)
  for (const name of ["web-2", "web-3"]) expect(await registerAndTime(name, 20_000)).toBeLessThan(5_000)
  // A new service too: its first registration is looked up among the foreign ones and listed at once.
  const sdk = sdkFor(mock.url)
  const started = performance.now()
  const id = await createService(sdk, await namespaceId(sdk, "apps"), "fresh")
  await register(sdk, id, "fresh-1", backends.byName("web-4").port)
  await eventually("fresh serving", async () => (await viaHaproxy(agent!.listenPort, "fresh.example.test")).status === 200, 20_000)
  expect(performance.now() - started).toBeLessThan(8_000)
  const feed = await feedStatus()
  expect(feed).toMatchObject({ state: "active", misses: 0, resumed: { caughtUp: true } })
  expect(feed.lastRound.pages).toBeLessThanOrEqual(2)
}, 120_000)
