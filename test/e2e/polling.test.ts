/**
 * Revision polling end to end (CHANGE_FEED=false; it is also what runs while the change feed is
 * unavailable: test/e2e/change-feed.test.ts): registrations are found through DiscoverInstancesRevision alone,
 * and health changes (which do not change the revision) through the DiscoverInstances read due
 * every REFRESH_RATE. Real HAProxy, the real SDK against the mock, real HTTP.
 */
import { afterEach, beforeEach, expect, it } from "vitest"
import type { Fixture } from "../../src/mock/fixture.ts"
import { startMockCloudMap, type MockCloudMapHandle } from "../../src/mock/server.ts"
import { type AgentProcess, cloudMapCalls, eventually, masterReloads, startAgent, viaHaproxy } from "../support/agent.ts"
import { type Backends, startBackends } from "../support/backends.ts"
import { register, revisionOf, sdkFor, setHealth } from "../support/cloudmap-sdk.ts"

const NAMESPACE_MAP = JSON.stringify([{ namespace: "apps", domainname: "example.test", mode: "host" }])

let backends: Backends
let mock: MockCloudMapHandle
let agent: AgentProcess | undefined

beforeEach(async () => {
  backends = await startBackends([{ name: "web-1" }, { name: "web-2" }])
  const instance = (id: string) => ({
    id,
    attributes: { AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: String(backends.byName(id).port) }
  })
  const fixture: Fixture = { namespaces: [{ name: "apps", id: "ns-apps", services: [{ name: "web", id: "srv-web", instances: [instance("web-1")] }] }] }
  mock = await startMockCloudMap({ fixture })
})

afterEach(async () => {
  await agent?.stop()
  agent = undefined
  await mock?.close()
  await backends?.close()
})

const servedBy = async (port: number, n = 8) => {
  const seen = new Set<string>()
  for (let i = 0; i < n; i++) {
    const r = await viaHaproxy(port, "web.example.test")
    seen.add(r.status === 200 ? (JSON.parse(r.body) as { server: string }).server : `status ${r.status}`)
  }
  return seen
}

const calls = cloudMapCalls

it("finds a registration through the revision check alone (REFRESH_RATE an hour away)", async () => {
  agent = await startAgent({ AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url, NAMESPACE_MAP, REFRESH_RATE: "3600", REVISION_POLL_RATE: "0.5", CHANGE_FEED: "false" })
  await agent.ready()
  const revisionsBefore = await calls(agent, "DiscoverInstancesRevision")
  const started = performance.now()
  await register(sdkFor(mock.url), "srv-web", "web-2", backends.byName("web-2").port)
  await eventually("web-2 serving", async () => (await servedBy(agent!.listenPort)).has("web-2"))
  expect(performance.now() - started).toBeLessThan(5000)
  expect(await calls(agent, "DiscoverInstancesRevision")).toBeGreaterThan(revisionsBefore)
})

it("sees a health change, which leaves the revision alone, within REFRESH_RATE and without a reload", async () => {
  agent = await startAgent({ AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url, NAMESPACE_MAP, REFRESH_RATE: "2", REVISION_POLL_RATE: "0.5" })
  await agent.ready()
  const sdk = sdkFor(mock.url)
  await register(sdk, "srv-web", "web-2", backends.byName("web-2").port)
  await eventually("both serving", async () => (await servedBy(agent!.listenPort)).size === 2)
  const reloads = await masterReloads(agent)
  const revision = await revisionOf(sdk, "apps", "web")

  let started = performance.now()
  await setHealth(sdk, "srv-web", "web-2", "UNHEALTHY")
  await eventually("web-2 out", async () => {
    const seen = await servedBy(agent!.listenPort)
    return seen.size === 1 && seen.has("web-1")
  })
  expect(performance.now() - started).toBeLessThan(4000)
  expect(await revisionOf(sdk, "apps", "web")).toBe(revision)

  started = performance.now()
  await setHealth(sdk, "srv-web", "web-2", "HEALTHY")
  await eventually("web-2 back", async () => (await servedBy(agent!.listenPort)).has("web-2"))
  expect(performance.now() - started).toBeLessThan(4000)
  expect(await masterReloads(agent)).toBe(reloads)
})

it("alternates revision checks and reads: both calls are made, and reads stay within REFRESH_RATE", async () => {
  agent = await startAgent({ AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url, NAMESPACE_MAP, REFRESH_RATE: "2", REVISION_POLL_RATE: "0.5", CHANGE_FEED: "false" })
  await agent.ready()
  const before = { reads: await calls(agent, "DiscoverInstances"), revisions: await calls(agent, "DiscoverInstancesRevision") }
  await new Promise((r) => setTimeout(r, 6000))
  const reads = (await calls(agent, "DiscoverInstances")) - before.reads
  const revisions = (await calls(agent, "DiscoverInstancesRevision")) - before.revisions
  // Rounds every 0.4-0.6 s (10-15 in 6 s); a read is due when the last one is 1.4 s old.
  expect(reads).toBeGreaterThanOrEqual(3)
  expect(revisions).toBeGreaterThanOrEqual(reads)
  expect(reads + revisions).toBeLessThanOrEqual(16)
})
