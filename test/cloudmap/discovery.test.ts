/**
 * Our Cloud Map client and discovery, with the real AWS SDK over HTTP against the mock Cloud Map:
 * pagination to the end, retries, permission errors, and failed services reported as failed.
 */
import { ListServicesCommand, ServiceDiscoveryClient, UpdateServiceAttributesCommand } from "@aws-sdk/client-servicediscovery"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { CloudMap, type CloudMapClientOptions } from "../../src/cloudmap/client.ts"
import { discover } from "../../src/cloudmap/discovery.ts"
import { type Fixture, syntheticFixture } from "../../src/mock/fixture.ts"
import { startMockCloudMap, type MockCloudMapHandle } from "../../src/mock/server.ts"
import type { Snapshot } from "../../src/model/snapshot.ts"
import { testClientOptions } from "../support/cloudmap-client.ts"
import { createService, namespaceId, sdkFor } from "../support/cloudmap-sdk.ts"

process.env.AWS_ACCESS_KEY_ID = "test"
process.env.AWS_SECRET_ACCESS_KEY = "test"

const options = testClientOptions

const run = <A, E>(url: string, eff: Effect.Effect<A, E, CloudMap>, extra: Partial<CloudMapClientOptions> = {}) =>
  Effect.runPromise(Effect.scoped(eff.pipe(Effect.provide(CloudMap.layer(options(url, extra)))) as Effect.Effect<A, E>))

const services = (s: Snapshot) => s.namespaces.flatMap((n) => (n._tag === "Ok" ? n.services : []))

const faults = (mock: MockCloudMapHandle, rules: unknown) =>
  fetch(`${mock.url}/_mock/faults`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(rules) })
const calls = async (mock: MockCloudMapHandle) =>
  (await (await fetch(`${mock.url}/_mock/calls`)).json()) as { operations: Record<string, { total: number; outcomes: Record<string, number> }> }

describe("discovery against the mock Cloud Map", () => {
  let big: MockCloudMapHandle
  let small: MockCloudMapHandle

  beforeAll(async () => {
    // 250 services (3 ListServices pages) next to 130 other namespaces (ListNamespaces pages, with
    // empty pages that carry a token), plus one service with 1,000 instances.
    const many = syntheticFixture({ namespaces: 1, servicesPerNamespace: 250, instancesPerService: 1, basePort: 20000 })
    const wide = syntheticFixture({ namespaces: 1, servicesPerNamespace: 1, instancesPerService: 1000, basePort: 30000 })
    const fixture: Fixture = {
      namespaces: [
        ...Array.from({ length: 130 }, (_, i) => ({ name: `other${i}`, services: [] })),
        { ...many.namespaces[0]!, name: "apps" },
        { ...wide.namespaces[0]!, name: "wide" }
      ]
    }
    big = await startMockCloudMap({ fixture, emptyPages: true })
    small = await startMockCloudMap({
      fixture: {
        namespaces: [{
          name: "apps",
          services: ["web", "api", "_admin._tcp"].map((name) => ({
            name,
            instances: [{ id: `${name}-1`, attributes: { AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: "9001" } }]
          }))
        }]
      }
    })
  })
  afterAll(async () => {
    await big?.close()
    await small?.close()
  })

  it("pages through every namespace and service (250 services, 1,000 instances in one service)", async () => {
    const snapshot = await run(
      big.url,
      discover([{ namespace: "apps", domain: "a.test", mode: "host" }, { namespace: "wide", domain: "w.test", mode: "host" }], "us-east-1", "HEALTHY_OR_ELSE_ALL")
    )
    const [apps, wide] = snapshot.namespaces
    expect(apps?._tag === "Ok" && apps.services.length).toBe(250)
    expect(apps?._tag === "Ok" && apps.services.every((s) => s._tag === "Ok" && s.instances.length === 1)).toBe(true)
    const wideService = wide?._tag === "Ok" ? wide.services[0] : undefined
    expect(wideService?._tag === "Ok" && wideService.instances.length).toBe(1000)
    // A full DiscoverInstances page (Cloud Map's per-service maximum) may be truncated: marked.
    expect(wideService).toMatchObject({ _tag: "Ok", truncated: true })
    expect(apps?._tag === "Ok" && apps.services.some((s) => s._tag === "Ok" && s.truncated !== undefined)).toBe(false)
    const c = await calls(big)
    expect(c.operations.ListNamespaces!.total).toBeGreaterThan(1)
    expect(c.operations.ListServices!.total).toBeGreaterThanOrEqual(3)
  })

  it("reports an unknown namespace as a clear error for that entry only", async () => {
    const snapshot = await run(small.url, discover([
      { namespace: "nope", domain: "n.test", mode: "host" },
      { namespace: "apps", domain: "a.test", mode: "host" }
    ], "us-east-1", "HEALTHY"))
    expect(snapshot.namespaces[0]).toMatchObject({ _tag: "Failed" })
    expect(snapshot.namespaces[0]?._tag === "Failed" && snapshot.namespaces[0].error).toContain('namespace "nope" not found in us-east-1')
    expect(services(snapshot).map((s) => s.name).sort()).toEqual(["_admin._tcp", "api", "web"])
  })

  it("retries throttling and 5xx, then succeeds", async () => {
    await fetch(`${small.url}/_mock/calls/reset`, { method: "POST" })
    await faults(small, { faults: [
      { kind: "throttle", operation: "DiscoverInstances", service: "web", times: 2 },
      { kind: "5xx", operation: "DiscoverInstances", service: "api", times: 2 },
      { kind: "5xx", operation: "ListServices", times: 1 }
    ] })
    const snapshot = await run(small.url, discover([{ namespace: "apps", domain: "a.test", mode: "host" }], "us-east-1", "HEALTHY"))
    expect(services(snapshot).every((s) => s._tag === "Ok")).toBe(true)
    const c = await calls(small)
    expect(c.operations.DiscoverInstances!.outcomes.RequestLimitExceeded).toBe(2)
    expect(c.operations.DiscoverInstances!.outcomes.InternalFailure).toBe(2)
    expect(c.operations.DiscoverInstances!.total).toBe(7)
    expect(c.operations.ListServices!.total).toBe(2)
  })

  it("marks a service whose calls keep failing as Failed (never empty), naming the IAM action when denied", async () => {
    await fetch(`${small.url}/_mock/faults`, { method: "DELETE" })
    await faults(small, { faults: [
      { kind: "5xx", operation: "DiscoverInstances", service: "web" },
      { kind: "accessDenied", operation: "DiscoverInstances", service: "api" }
    ] })
    const snapshot = await run(small.url, discover([{ namespace: "apps", domain: "a.test", mode: "host" }], "us-east-1", "HEALTHY"), { maxAttempts: 2 })
    const byName = new Map(services(snapshot).map((s) => [s.name, s]))
    expect(byName.get("web")).toMatchObject({ _tag: "Failed", createdAt: expect.any(Number) })
    expect(byName.get("api")?._tag === "Failed" && byName.get("api")?._tag === "Failed" ? (byName.get("api") as { error: string }).error : "")
      .toContain("servicediscovery:DiscoverInstances")
    expect(byName.get("_admin._tcp")).toMatchObject({ _tag: "Ok" })
    await fetch(`${small.url}/_mock/faults`, { method: "DELETE" })
  })

  it("reads service attributes (signed, on the control-plane endpoint) and names the IAM action when denied", async () => {
    await fetch(`${small.url}/_mock/faults`, { method: "DELETE" })
    const sdk = new ServiceDiscoveryClient({ region: "us-east-1", endpoint: small.url, disableHostPrefix: true })
    const listed = await sdk.send(new ListServicesCommand({}))
    const web = listed.Services!.find((x) => x.Name === "web")!.Id!
    await sdk.send(new UpdateServiceAttributesCommand({ ServiceId: web, Attributes: { "haproxy.check": "http", team: "a b" } }))
    const read = (id: string) => Effect.gen(function*() { return yield* (yield* CloudMap).getServiceAttributes(id) })
    const attributes = await run(small.url, read(web))
    expect(attributes).toEqual({ "haproxy.check": "http", team: "a b" })
    await faults(small, { kind: "accessDenied", operation: "GetServiceAttributes" })
    const denied = await run(small.url, Effect.flip(read(web)), { maxAttempts: 1 })
    expect(denied.kind).toBe("denied")
    expect(denied.message).toContain("servicediscovery:GetServiceAttributes")
    await fetch(`${small.url}/_mock/faults`, { method: "DELETE" })
    const gone = await run(small.url, Effect.flip(read("srv-nope")), { maxAttempts: 1 })
    expect(gone.kind).toBe("notFound")
    sdk.destroy()
  })

  it("abandons a call that does not answer in time and retries it", async () => {
    await faults(small, { kind: "latency", operation: "DiscoverInstances", service: "web", latencyMs: 3000, times: 1 })
    const started = Date.now()
    const snapshot = await run(small.url, discover([{ namespace: "apps", domain: "a.test", mode: "host" }], "us-east-1", "HEALTHY"), { timeoutSeconds: 1 })
    expect(services(snapshot).every((s) => s._tag === "Ok")).toBe(true)
    // The 3 s answer was not waited for: the retry answered first.
    expect(Date.now() - started).toBeLessThan(2900)
    await fetch(`${small.url}/_mock/faults`, { method: "DELETE" })
  })

  it("fails the whole discovery only when ListNamespaces fails", async () => {
    await faults(small, { kind: "accessDenied", operation: "ListNamespaces" })
    const result = await run(small.url, Effect.flip(discover([{ namespace: "apps", domain: "a.test", mode: "host" }], "us-east-1", "HEALTHY")))
    expect(result.kind).toBe("denied")
    expect(result.message).toContain("servicediscovery:ListNamespaces")
    await fetch(`${small.url}/_mock/faults`, { method: "DELETE" })
  })

  it("carries ListServices' CreateDate: fixture services share the mock's start time, a created service is later", async () => {
    const before = await run(small.url, discover([{ namespace: "apps", domain: "a.test", mode: "host" }], "us-east-1", "ALL"))
    const started = services(before).map((s) => s.createdAt)
    expect(new Set(started).size).toBe(1)
    expect(started[0]).toBeGreaterThan(Date.now() - 600_000)
    await new Promise((r) => setTimeout(r, 5))
    const sdk = sdkFor(small.url)
    await createService(sdk, await namespaceId(sdk, "apps"), "Web")
    const after = await run(small.url, discover([{ namespace: "apps", domain: "a.test", mode: "host" }], "us-east-1", "ALL"))
    const created = services(after).find((s) => s.name === "Web")
    expect(created).toMatchObject({ _tag: "Ok", instances: [] })
    expect(created!.createdAt).toBeGreaterThan(started[0]!)
    expect(created!.createdAt).toBeLessThanOrEqual(Date.now())
  })
})
