/**
 * Zone-aware routing (ZONE_AFFINITY=true). The agent learns its zone (us-east-1a) from the mock's
 * ECS task metadata stub; service `web` has two instances in us-east-1a and two in us-east-1b
 * (ECS's AVAILABILITY_ZONE instance attribute), each on its own backend.
 * (a) all traffic stays in-zone;
 * (b) both in-zone backends stop: HAProxy's own checks fail over to us-east-1b (backup servers,
 *     `option allbackups`) within fall 3 × inter 2 s;
 * (c) they come back, then Cloud Map reports one in-zone instance UNHEALTHY: fewer than
 *     ZONE_AFFINITY_MIN_HEALTHY (2) healthy in-zone, so the other zone serves too, set through the
 *     runtime API (no reload); healthy again, traffic returns in-zone.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type MockCloudMapHandle, startMockCloudMap } from "../../../src/mock/server.ts"
import { type AgentProcess, eventually, masterReloads, startAgent } from "../../support/agent.ts"
import { sdkFor, setHealth } from "../../support/cloudmap-sdk.ts"
import { type ControllableBackend, controllableBackend, stopAll } from "../../support/controllable-backend.ts"
import { NAMESPACE_MAP, OPTIONS_ENV, show, statusOf, whoAnswers } from "../../support/options.ts"

const HOST = "web.example.test"
const ZONES = { "web-1a-1": "us-east-1a", "web-1a-2": "us-east-1a", "web-1b-1": "us-east-1b", "web-1b-2": "us-east-1b" } as const
type Name = keyof typeof ZONES

const only = (counts: ReadonlyMap<string, number>, zone: "1a" | "1b") => [...counts.keys()].every((k) => k.startsWith(`web-${zone}-`))

describe("zone affinity", () => {
  const backends = new Map<Name, ControllableBackend>()
  let mock: MockCloudMapHandle
  let agent: AgentProcess

  beforeAll(async () => {
    for (const name of Object.keys(ZONES) as Array<Name>) backends.set(name, await controllableBackend(name))
    // `zone`: the task metadata stub's AvailabilityZone (its default is the region + "a").
    mock = await startMockCloudMap({
      zone: "us-east-1a",
      fixture: {
        namespaces: [{
          name: "apps",
          id: "ns-apps",
          services: [{
            name: "web",
            id: "srv-web",
            healthCheck: "custom",
            instances: (Object.entries(ZONES) as Array<[Name, string]>).map(([id, zone]) => ({
              id,
              attributes: { AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: String(backends.get(id)!.port), AVAILABILITY_ZONE: zone }
            }))
          }]
        }]
      }
    })
    const metadata = await fetch(`${mock.url}/task-metadata/task`)
    expect(metadata.status, "the mock's task metadata stub").toBe(200)
    expect((await metadata.json()).AvailabilityZone).toBe("us-east-1a")
    agent = await startAgent({
      AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url,
      NAMESPACE_MAP,
      ...OPTIONS_ENV,
      REFRESH_RATE: "1",
      ZONE_AFFINITY: "true",
      ECS_CONTAINER_METADATA_URI_V4: `${mock.url}/task-metadata`
    })
    await agent.ready()
  })

  afterAll(async () => {
    await agent?.stop()
    await mock?.close()
    await stopAll([...backends.values()])
  })

  it("(a) with two healthy instances in its zone, every request stays in us-east-1a", async () => {
    const counts = await whoAnswers(agent.listenPort, HOST, 100)
    expect(only(counts, "1a"), show(counts)).toBe(true)
    expect(counts.get("web-1a-1"), show(counts)).toBeGreaterThanOrEqual(30)
    expect(counts.get("web-1a-2"), show(counts)).toBeGreaterThanOrEqual(30)
    // /status says where the agent is and how each route is zoned.
    const status = await statusOf(agent)
    expect(status.zoneAffinity).toEqual({ on: true, zone: "us-east-1a", minHealthy: 2 })
    const route = status.routes.find((r: { route: string }) => r.route === HOST)
    expect(route.zone).toEqual({ zone: "us-east-1a", local: 2, localHealthy: 2, inZone: true })
    expect(route.instances.filter((i: { backup: boolean }) => i.backup).map((i: { zone: string }) => i.zone)).toEqual(["us-east-1b", "us-east-1b"])
  })

  it("(b) every in-zone instance down by HAProxy's checks: us-east-1b serves, both its instances", async () => {
    await backends.get("web-1a-1")!.stop()
    await backends.get("web-1a-2")!.stop()
    // fall 3 × inter 2 s, then the backups take over (Cloud Map still says HEALTHY).
    await eventually("served from us-east-1b only", async () => {
      const c = await whoAnswers(agent.listenPort, HOST, 10)
      return c.get("web-1b-1") !== undefined && c.get("web-1b-2") !== undefined && only(c, "1b")
    }, 20_000)
    const counts = await whoAnswers(agent.listenPort, HOST, 40)
    expect(only(counts, "1b"), show(counts)).toBe(true)
    // option allbackups: both backups share.
    expect(counts.get("web-1b-1"), show(counts)).toBeGreaterThanOrEqual(10)
    expect(counts.get("web-1b-2"), show(counts)).toBeGreaterThanOrEqual(10)
  })

  it("(c) fewer than ZONE_AFFINITY_MIN_HEALTHY healthy in-zone by Cloud Map: us-east-1b serves too, without a reload", async () => {
    await backends.get("web-1a-1")!.start()
    await backends.get("web-1a-2")!.start()
    // rise 2 × inter 2 s.
    await eventually("back in us-east-1a", async () => only(await whoAnswers(agent.listenPort, HOST, 10), "1a"), 20_000)
    const before = await masterReloads(agent)

    await setHealth(sdkFor(mock.url), "srv-web", "web-1a-1", "UNHEALTHY")
    await eventually("us-east-1b serving", async () => {
      const c = await whoAnswers(agent.listenPort, HOST, 20)
      return (c.get("web-1b-1") ?? 0) > 0 && (c.get("web-1b-2") ?? 0) > 0 && c.get("web-1a-1") === undefined
    }, 20_000)
    const counts = await whoAnswers(agent.listenPort, HOST, 40)
    expect(counts.get("web-1a-1"), show(counts)).toBeUndefined()
    expect((counts.get("web-1b-1") ?? 0) + (counts.get("web-1b-2") ?? 0), show(counts)).toBeGreaterThanOrEqual(20)
    expect([...counts.keys()].filter((k) => !k.startsWith("web-")), show(counts)).toEqual([])
    expect(await masterReloads(agent)).toBe(before)

    // Healthy again: two in-zone, traffic returns to us-east-1a, still without a reload.
    await setHealth(sdkFor(mock.url), "srv-web", "web-1a-1", "HEALTHY")
    await eventually("back in us-east-1a", async () => {
      const c = await whoAnswers(agent.listenPort, HOST, 20)
      return only(c, "1a") && (c.get("web-1a-1") ?? 0) > 0
    }, 20_000)
    expect(await masterReloads(agent)).toBe(before)
  })
})
