import { describe, expect, it } from "vitest"
import type { NamespaceMapping, Snapshot } from "../../src/model/snapshot.ts"
import { guardRemovals, removalAllowance } from "../../src/reconcile/anti-flap.ts"

const mapping: NamespaceMapping = { namespace: "apps", domain: "example.com", mode: "host" }
const snap = (ids: ReadonlyArray<string>): Snapshot => ({
  takenAt: 0,
  namespaces: [{
    _tag: "Ok",
    mapping,
    id: "ns",
    httpName: "apps",
    services: [{
      _tag: "Ok",
      id: "srv-web",
      name: "web",
      revision: 1,
      instances: ids.map((id) => ({ id, attributes: {}, health: undefined }))
    }]
  }]
})
const ids = (s: Snapshot) => {
  const ns = s.namespaces[0]!
  if (ns._tag !== "Ok") return []
  const svc = ns.services[0]!
  return svc._tag === "Ok" ? svc.instances.map((i) => i.id).sort() : []
}

describe("anti-flap guard", () => {
  it("allows at least one removal and at most the configured share", () => {
    expect(removalAllowance(1, 50)).toBe(1)
    expect(removalAllowance(10, 50)).toBe(5)
    expect(removalAllowance(3, 10)).toBe(1)
  })

  it("holds back an empty answer for a service that had many instances, and reports it", () => {
    const before = snap(["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"])
    const g = guardRemovals(before, snap([]), 50)
    expect(ids(g.snapshot)).toEqual(["f", "g", "h", "i", "j"])
    expect(g.suppressed).toEqual([expect.objectContaining({ namespace: "apps", service: "web", held: 5 })])
    // The next step removes the rest of the allowance; the drop converges.
    const g2 = guardRemovals(g.snapshot, snap([]), 50)
    expect(ids(g2.snapshot)).toHaveLength(3)
  })

  it("lets ordinary scale-in and additions through untouched", () => {
    const g = guardRemovals(snap(["a", "b", "c", "d"]), snap(["a", "b", "c", "x"]), 50)
    expect(ids(g.snapshot)).toEqual(["a", "b", "c", "x"])
    expect(g.suppressed).toEqual([])
  })

  it("is off at 100%", () => {
    expect(ids(guardRemovals(snap(["a", "b", "c"]), snap([]), 100).snapshot)).toEqual([])
  })
})
