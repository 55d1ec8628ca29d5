/**
 * applyZoneAffinity: other zones' servers (and servers without a zone) are backups; in-zone
 * servers get weight 0 while fewer than minHealthy of them are healthy and another zone has a
 * healthy one.
 */
import { describe, expect, it } from "vitest"
import type { Server } from "../../src/model/desired.ts"
import type { InstanceHealth } from "../../src/model/snapshot.ts"
import { applyZoneAffinity } from "../../src/plan/zones.ts"

const server = (name: string, zone: string | undefined, health: InstanceHealth | undefined = "HEALTHY", weight = 1): Server => ({
  name,
  instanceId: name,
  address: "10.0.0.1",
  port: 80,
  health,
  weight,
  backup: false,
  zone
})

const AFFINITY = { zone: "us-east-1a", minHealthy: 2 }

/** name -> [weight, backup] */
const shape = (servers: ReadonlyArray<Server>) => Object.fromEntries(servers.map((s) => [s.name, [s.weight, s.backup]]))

describe("applyZoneAffinity", () => {
  it("enough healthy in-zone servers: they serve, every other server is a backup", () => {
    const out = applyZoneAffinity([
      server("a1", "us-east-1a"),
      server("a2", "us-east-1a", "HEALTHY", 5),
      server("b1", "us-east-1b"),
      server("c1", "us-east-1c", "UNHEALTHY")
    ], AFFINITY)
    expect(shape(out.servers)).toEqual({ a1: [1, false], a2: [5, false], b1: [1, true], c1: [1, true] })
    expect(out.zone).toEqual({ zone: "us-east-1a", local: 2, localHealthy: 2, inZone: true })
  })

  it("too few healthy in-zone servers and a healthy one elsewhere: in-zone weights 0 (failover), others stay backups", () => {
    const out = applyZoneAffinity([
      server("a1", "us-east-1a"),
      server("a2", "us-east-1a", "UNHEALTHY", 7),
      server("b1", "us-east-1b", "HEALTHY", 3)
    ], AFFINITY)
    expect(shape(out.servers)).toEqual({ a1: [0, false], a2: [0, false], b1: [3, true] })
    expect(out.zone).toEqual({ zone: "us-east-1a", local: 2, localHealthy: 1, inZone: false })
  })

  it("minHealthy boundary: exactly minHealthy healthy stays in the zone, one fewer fails over", () => {
    const remote = server("b1", "us-east-1b")
    const at = applyZoneAffinity([server("a1", "us-east-1a"), server("a2", "us-east-1a"), server("a3", "us-east-1a", "UNHEALTHY"), remote], { zone: "us-east-1a", minHealthy: 2 })
    expect(at.zone.inZone).toBe(true)
    expect(at.servers.filter((s) => s.zone === "us-east-1a").map((s) => s.weight)).toEqual([1, 1, 1])
    const below = applyZoneAffinity([server("a1", "us-east-1a"), server("a2", "us-east-1a"), remote], { zone: "us-east-1a", minHealthy: 3 })
    expect(below.zone).toEqual({ zone: "us-east-1a", local: 2, localHealthy: 2, inZone: false })
    expect(shape(below.servers)).toEqual({ a1: [0, false], a2: [0, false], b1: [1, true] })
  })

  it("minHealthy 1: a single healthy in-zone server keeps the traffic in the zone", () => {
    const out = applyZoneAffinity([server("a1", "us-east-1a"), server("a2", "us-east-1a", "UNHEALTHY"), server("b1", "us-east-1b")], { zone: "us-east-1a", minHealthy: 1 })
    expect(out.zone.inZone).toBe(true)
    expect(shape(out.servers)).toEqual({ a1: [1, false], a2: [1, false], b1: [1, true] })
  })

  it("no healthy server in another zone: the in-zone servers keep their weights (nothing better to fail over to)", () => {
    const out = applyZoneAffinity([
      server("a1", "us-east-1a", "UNHEALTHY", 4),
      server("b1", "us-east-1b", "UNHEALTHY"),
      server("n1", undefined, "UNHEALTHY")
    ], AFFINITY)
    expect(out.zone).toEqual({ zone: "us-east-1a", local: 1, localHealthy: 0, inZone: true })
    expect(shape(out.servers)).toEqual({ a1: [4, false], b1: [1, true], n1: [1, true] })
  })

  it("no in-zone server at all: every server is a backup (HAProxy uses backups when no active one is up)", () => {
    const out = applyZoneAffinity([server("b1", "us-east-1b"), server("c1", "us-east-1c", "HEALTHY", 9)], AFFINITY)
    expect(out.zone).toEqual({ zone: "us-east-1a", local: 0, localHealthy: 0, inZone: false })
    expect(shape(out.servers)).toEqual({ b1: [1, true], c1: [9, true] })
  })

  it("servers without a zone (no or invalid AVAILABILITY_ZONE) are backups, and count as another zone", () => {
    const out = applyZoneAffinity([server("a1", "us-east-1a"), server("n1", undefined)], AFFINITY)
    expect(shape(out.servers)).toEqual({ a1: [0, false], n1: [1, true] })
    expect(out.zone.inZone).toBe(false)
  })

  it("UNKNOWN and missing health count as healthy (only UNHEALTHY does not)", () => {
    const out = applyZoneAffinity([server("a1", "us-east-1a", "UNKNOWN"), server("a2", "us-east-1a", undefined), server("b1", "us-east-1b")], AFFINITY)
    expect(out.zone).toEqual({ zone: "us-east-1a", local: 2, localHealthy: 2, inZone: true })
  })

  it("zone names match exactly (case and suffix matter)", () => {
    const out = applyZoneAffinity([server("a1", "us-east-1a"), server("x1", "us-east-1ab"), server("x2", "US-EAST-1A")], { zone: "us-east-1a", minHealthy: 1 })
    expect(shape(out.servers)).toEqual({ a1: [1, false], x1: [1, true], x2: [1, true] })
  })

  it("no servers: nothing to route, not in the zone", () => {
    expect(applyZoneAffinity([], AFFINITY)).toEqual({ servers: [], zone: { zone: "us-east-1a", local: 0, localHealthy: 0, inZone: false } })
  })

  it("keeps the input order and leaves the input untouched", () => {
    const input = [server("z1", "us-east-1b"), server("a1", "us-east-1a")]
    const copy = structuredClone(input)
    const out = applyZoneAffinity(input, AFFINITY)
    expect(out.servers.map((s) => s.name)).toEqual(["z1", "a1"])
    expect(input).toEqual(copy)
  })
})
