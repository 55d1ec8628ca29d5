/** What the rounds follow, derived from the configuration and the agent's zone (reconciler-service.ts). */
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { readAgentConfig } from "../../src/config/agent-config.ts"
import { reconcilerSettings, zoneAffinityShown } from "../../src/reconcile/reconciler-service.ts"

const config = (env: Record<string, string> = {}) =>
  Result.getOrThrow(readAgentConfig({
    AWS_REGION: "eu-west-1",
    NAMESPACE_MAP: JSON.stringify([{ namespace: "apps", domainname: "example.com", mode: "host" }]),
    STATS_PASSWD: "s3cret-stats",
    PROM_PASSWD: "s3cret-prom",
    ...env
  }))

const known = { _tag: "Known", zone: "eu-west-1a", source: "AVAILABILITY_ZONE" } as const
const unknown = { _tag: "Unknown", reason: "no task metadata endpoint (ECS_CONTAINER_METADATA_URI_V4 is not set)" } as const

describe("reconciler settings", () => {
  it("carries the namespaces, the polling settings and the feed's settings", () => {
    const s = reconcilerSettings(config({ REFRESH_RATE: "45", SERVICE_LIST_RATE: "20", CHANGE_FEED_RATE: "4" }), unknown)
    expect(s.mappings).toEqual([{ namespace: "apps", domain: "example.com", mode: "host" }])
    expect(s.region).toBe("eu-west-1")
    expect(s.fleet).toMatchObject({ refreshSeconds: 45, serviceListSeconds: 20 })
    expect(s.changeFeed?.periodSeconds).toBe(4)
    expect(reconcilerSettings(config({ CHANGE_FEED: "false" }), unknown).changeFeed).toBeUndefined()
  })

  it("turns zone affinity on only when asked for and the zone is known, and says why it is off", () => {
    const on = reconcilerSettings(config({ ZONE_AFFINITY: "true", AVAILABILITY_ZONE: "eu-west-1a" }), known)
    expect(on.zoneAffinity).toEqual({ zone: "eu-west-1a", minHealthy: on.zoneAffinity?.minHealthy })
    expect(zoneAffinityShown(on, known)).toMatchObject({ on: true, zone: "eu-west-1a" })
    const noZone = reconcilerSettings(config({ ZONE_AFFINITY: "true" }), unknown)
    expect(noZone.zoneAffinity).toBeUndefined()
    expect(zoneAffinityShown(noZone, unknown)).toEqual({ on: false, reason: unknown.reason })
    const off = reconcilerSettings(config(), known)
    expect(zoneAffinityShown(off, known)).toEqual({ on: false, reason: "ZONE_AFFINITY is off" })
  })
})
