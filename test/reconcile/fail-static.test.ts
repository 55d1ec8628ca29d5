import { describe, expect, it } from "vitest"
import type { NamespaceMapping, Snapshot } from "../../src/model/snapshot.ts"
import { mergeWithPrevious } from "../../src/reconcile/fail-static.ts"

const mapping: NamespaceMapping = { namespace: "apps", domain: "example.com", mode: "host" }
const inst = (id: string) => ({ id, attributes: { AWS_INSTANCE_IPV4: "10.0.0.1", AWS_INSTANCE_PORT: "80" }, health: undefined })

const previous: Snapshot = {
  takenAt: 1,
  namespaces: [{
    _tag: "Ok",
    mapping,
    id: "ns-1",
    httpName: "apps",
    services: [
      { _tag: "Ok", id: "srv-web", name: "web", revision: 3, instances: [inst("w1"), inst("w2")] },
      { _tag: "Ok", id: "srv-api", name: "api", revision: 1, instances: [inst("a1")] }
    ]
  }]
}

describe("mergeWithPrevious", () => {
  it("keeps the last good instances of a service whose read failed", () => {
    const current: Snapshot = {
      takenAt: 2,
      namespaces: [{
        _tag: "Ok",
        mapping,
        id: "ns-1",
        httpName: "apps",
        services: [
          { _tag: "Failed", id: "srv-web", name: "web", error: "throttled" },
          { _tag: "Ok", id: "srv-api", name: "api", revision: 2, instances: [] }
        ]
      }]
    }
    const merged = mergeWithPrevious(previous, current)
    const ns = merged.snapshot.namespaces[0]!
    if (ns._tag !== "Ok") throw new Error("expected Ok")
    expect(ns.services[0]).toEqual(previous.namespaces[0]!._tag === "Ok" && previous.namespaces[0]!.services[0])
    expect(ns.services[1]).toMatchObject({ _tag: "Ok", instances: [] })
    expect(merged.failures).toEqual([{ namespace: "apps", service: "web", error: "throttled", servingPrevious: true }])
  })

  it("keeps a whole namespace whose ListServices failed", () => {
    const merged = mergeWithPrevious(previous, { takenAt: 2, namespaces: [{ _tag: "Failed", mapping, error: "denied" }] })
    expect(merged.snapshot.namespaces[0]).toBe(previous.namespaces[0])
    expect(merged.failures[0]).toMatchObject({ namespace: "apps", servingPrevious: true })
  })

  it("drops a service only when Cloud Map no longer lists it", () => {
    const current: Snapshot = {
      takenAt: 2,
      namespaces: [{ _tag: "Ok", mapping, id: "ns-1", httpName: "apps", services: [{ _tag: "Ok", id: "srv-api", name: "api", revision: 1, instances: [inst("a1")] }] }]
    }
    const ns = mergeWithPrevious(previous, current).snapshot.namespaces[0]!
    expect(ns._tag === "Ok" && ns.services.map((s) => s.name)).toEqual(["api"])
  })

  it("reports a failure with nothing to fall back on", () => {
    const merged = mergeWithPrevious(undefined, { takenAt: 2, namespaces: [{ _tag: "Failed", mapping, error: "boom" }] })
    expect(merged.failures[0]).toMatchObject({ servingPrevious: false })
  })

  it("keeps the CreateDate (and the truncation mark) of the services it serves from before", () => {
    const dated: Snapshot = {
      takenAt: 1,
      namespaces: [{
        _tag: "Ok",
        mapping,
        id: "ns-1",
        httpName: "apps",
        services: [{ _tag: "Ok", id: "srv-web", name: "web", createdAt: 1_000, revision: 3, instances: [inst("w1")], truncated: true }]
      }]
    }
    const current: Snapshot = {
      takenAt: 2,
      namespaces: [{
        _tag: "Ok",
        mapping,
        id: "ns-1",
        httpName: "apps",
        services: [
          { _tag: "Failed", id: "srv-web", name: "web", createdAt: 1_000, error: "throttled" },
          { _tag: "Failed", id: "srv-new", name: "Web", createdAt: 2_000, error: "throttled" }
        ]
      }]
    }
    const ns = mergeWithPrevious(dated, current).snapshot.namespaces[0]!
    if (ns._tag !== "Ok") throw new Error("expected Ok")
    expect(ns.services[0]).toMatchObject({ _tag: "Ok", createdAt: 1_000, truncated: true })
    // Nothing to fall back on: still Failed, still dated (it keeps its place in the claim ranking).
    expect(ns.services[1]).toMatchObject({ _tag: "Failed", createdAt: 2_000 })
  })
})
