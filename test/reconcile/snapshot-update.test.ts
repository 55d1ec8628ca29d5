import { describe, expect, it } from "vitest"
import type { NamespaceMapping, Snapshot } from "../../src/model/snapshot.ts"
import {
  knownRevision,
  newlyTruncated,
  replaceServices,
  retainListedServices,
  sameAsSnapshot
} from "../../src/reconcile/snapshot-update.ts"

const mapping: NamespaceMapping = { namespace: "apps", domain: "example.com", mode: "host" }
const svc = (id: string, revision: number) => ({ _tag: "Ok" as const, id, name: id, revision, instances: [] })
const snapshot: Snapshot = {
  takenAt: 0,
  namespaces: [{ _tag: "Ok", mapping, id: "ns", httpName: "apps", services: [svc("a", 1), svc("b", 2)] }]
}
const names = (s: Snapshot) => {
  const ns = s.namespaces[0]!
  return ns._tag === "Ok" ? ns.services.map((x) => `${x.id}@${x._tag === "Ok" ? x.revision : "-"}`) : []
}

describe("fast-path snapshot updates", () => {
  it("knows the revision it holds, and none for a service it has not seen", () => {
    expect(knownRevision(snapshot, mapping, "b")).toBe(2)
    expect(knownRevision(snapshot, mapping, "new")).toBeUndefined()
  })

  it("replaces changed services and appends new ones", () => {
    expect(names(replaceServices(snapshot, [{ mapping, service: svc("b", 3) }, { mapping, service: svc("c", 1) }], 5)))
      .toEqual(["a@1", "b@3", "c@1"])
  })

  it("drops services a successful listing no longer has, keeps everything when the listing failed", () => {
    const r = retainListedServices(snapshot, [{ mapping, serviceIds: new Set(["b"]) }])
    expect(names(r.snapshot)).toEqual(["b@2"])
    expect(r.removed).toBe(1)
    const failed = retainListedServices(snapshot, [{ mapping, serviceIds: undefined }])
    expect(failed.snapshot).toBe(snapshot)
    expect(failed.removed).toBe(0)
  })

  it("tells reads that change nothing (instances in any order) from reads that change something", () => {
    const i = (id: string, port: string, health: "HEALTHY" | "UNHEALTHY" = "HEALTHY") => ({
      id,
      attributes: { AWS_INSTANCE_IPV4: "10.0.0.1", AWS_INSTANCE_PORT: port },
      health
    })
    const held: Snapshot = {
      takenAt: 0,
      namespaces: [{ _tag: "Ok", mapping, id: "ns", httpName: "apps", services: [{ ...svc("a", 1), instances: [i("x", "80"), i("y", "81")] }] }]
    }
    const read = (instances: ReadonlyArray<ReturnType<typeof i>>, revision = 1) => [{ mapping, service: { ...svc("a", revision), instances } }]
    expect(sameAsSnapshot(held, read([i("y", "81"), i("x", "80")]))).toBe(true)
    expect(sameAsSnapshot(held, [])).toBe(true)
    // Attribute order does not count either.
    expect(sameAsSnapshot(held, read([{ id: "y", attributes: { AWS_INSTANCE_PORT: "81", AWS_INSTANCE_IPV4: "10.0.0.1" }, health: "HEALTHY" as const }, i("x", "80")]))).toBe(true)
    expect(sameAsSnapshot(held, read([i("x", "80"), i("y", "81", "UNHEALTHY")]))).toBe(false)
    expect(sameAsSnapshot(held, read([i("x", "80"), i("y", "82")]))).toBe(false)
    expect(sameAsSnapshot(held, read([i("x", "80")]))).toBe(false)
    expect(sameAsSnapshot(held, read([i("x", "80"), i("y", "81")], 2))).toBe(false)
    expect(sameAsSnapshot(held, [{ mapping, service: { _tag: "Failed", id: "a", name: "a", error: "throttled" } }])).toBe(false)
    expect(sameAsSnapshot(held, [{ mapping, service: svc("new", 1) }])).toBe(false)
  })

  it("keeps each service's CreateDate when replacing services", () => {
    const dated = { ...svc("b", 3), createdAt: 1_700_000_000_000 }
    const ns = replaceServices(snapshot, [{ mapping, service: dated }], 5).namespaces[0]!
    expect(ns._tag === "Ok" && ns.services.find((s) => s.id === "b")).toEqual(dated)
  })
})

describe("services at DiscoverInstances' page limit", () => {
  const withServices = (services: ReadonlyArray<ReturnType<typeof svc> & { truncated?: boolean }>): Snapshot => ({
    takenAt: 0,
    namespaces: [{ _tag: "Ok", mapping, id: "ns", httpName: "apps", services }]
  })
  const full = (id: string) => ({ ...svc(id, 1), truncated: true })

  it("are reported when they reach the limit, once while they stay there, again after leaving it", () => {
    const first = withServices([full("a"), svc("b", 1)])
    expect(newlyTruncated(undefined, first)).toEqual([{ namespace: "apps", service: "a", instances: 0 }])
    // Still at the limit (another read, another revision): not reported again.
    expect(newlyTruncated(first, withServices([{ ...full("a"), revision: 2 }, full("b")]))).toEqual([
      { namespace: "apps", service: "b", instances: 0 }
    ])
    const below = withServices([svc("a", 3), svc("b", 1)])
    expect(newlyTruncated(first, below)).toEqual([])
    expect(newlyTruncated(below, first)).toEqual([{ namespace: "apps", service: "a", instances: 0 }])
  })

  it("are not reported again while a failed read keeps serving the last good answer", () => {
    const first = withServices([full("a")])
    const failed: Snapshot = {
      takenAt: 1,
      namespaces: [{ _tag: "Ok", mapping, id: "ns", httpName: "apps", services: [{ _tag: "Failed", id: "a", name: "a", error: "throttled" }] }]
    }
    expect(newlyTruncated(first, failed)).toEqual([])
    expect(newlyTruncated(failed, first)).toEqual([{ namespace: "apps", service: "a", instances: 0 }])
  })
})
