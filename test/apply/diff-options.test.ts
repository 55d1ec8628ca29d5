/**
 * diffDesired with options and weights: a new weight is a runtime change (`reweighted`), not a
 * move; changed options, a changed backup flag, zone affinity switched on or off and servers
 * added to a sticky backend need a reload (`reloadBackends`), named "options" in the reason;
 * `balance source` (rendered with `hash-type consistent`) changes servers at runtime.
 */
import { describe, expect, it } from "vitest"
import { describeDiff, diffDesired, needsReload, reasonLabel } from "../../src/apply/diff.ts"
import type { Backend, Desired, Server, ZoneRouting } from "../../src/model/desired.ts"
import { DEFAULT_OPTIONS, type ServiceOptions } from "../../src/model/service-options.ts"

const server = (name: string, over: Partial<Server> = {}): Server => ({
  name, instanceId: name, address: "10.0.0.1", port: 80, health: undefined, weight: 1, backup: false, zone: undefined, ...over
})
const backend = (name: string, servers: ReadonlyArray<Server>, options: Partial<ServiceOptions> = {}, zone?: ZoneRouting): Backend => ({
  name, namespace: "apps", service: name, serviceId: name, mode: "host", route: name, servers, options: { ...DEFAULT_OPTIONS, ...options }, zone
})
const desired = (...backends: ReadonlyArray<Backend>): Desired => ({
  backends,
  hostRoutes: backends.map((b) => ({ host: b.route, backend: b.name })),
  pathRoutes: [],
  quarantined: [],
  ignoredOptions: []
})
const ZONE: ZoneRouting = { zone: "us-east-1a", local: 1, localHealthy: 1, inZone: true }

describe("reweighted", () => {
  it("a new weight alone is reweighted, not moved, and goes through the runtime API", () => {
    const before = desired(backend("be_web", [server("i-1"), server("i-2", { weight: 4 })]))
    const after = desired(backend("be_web", [server("i-1", { weight: 0 }), server("i-2", { weight: 4 })]))
    const d = diffDesired(before, after)
    expect(d.changedBackends).toEqual([{
      backend: "be_web",
      added: [],
      removed: [],
      moved: [],
      reweighted: [{ before: server("i-1"), after: server("i-1", { weight: 0 }) }]
    }])
    expect(d.reloadBackends).toEqual([])
    expect(needsReload(d)).toBe(false)
    expect(reasonLabel(d)).toBe("instances")
    expect(describeDiff(d)).toBe("instances of be_web (+0 -0 ~0 weight 1)")
  })

  it("a new address and a new weight: moved and reweighted", () => {
    const before = desired(backend("be_web", [server("i-1")]))
    const after = desired(backend("be_web", [server("i-1", { port: 81, weight: 7 })]))
    const [change] = diffDesired(before, after).changedBackends
    expect(change!.moved).toEqual([{ before: server("i-1"), after: server("i-1", { port: 81, weight: 7 }) }])
    expect(change!.reweighted).toEqual(change!.moved)
    expect(describeDiff(diffDesired(before, after))).toBe("instances of be_web (+0 -0 ~1 weight 1)")
  })

  it("a new address with the same weight is moved only; an added server's weight is not a reweight", () => {
    const before = desired(backend("be_web", [server("i-1", { weight: 3 })]))
    const after = desired(backend("be_web", [server("i-1", { address: "10.0.0.2", weight: 3 }), server("i-2", { weight: 9 })]))
    const [change] = diffDesired(before, after).changedBackends
    expect([change!.added.length, change!.moved.length, change!.reweighted.length]).toEqual([1, 1, 0])
    expect(describeDiff(diffDesired(before, after))).toBe("instances of be_web (+1 -0 ~1)")
  })

  it("zone failover (in-zone weights to 0) is a runtime change", () => {
    const before = desired(backend("be_web", [server("a", { zone: "us-east-1a" }), server("b", { zone: "us-east-1b", backup: true })], {}, ZONE))
    const after = desired(backend("be_web", [server("a", { zone: "us-east-1a", weight: 0 }), server("b", { zone: "us-east-1b", backup: true })], {}, { ...ZONE, localHealthy: 0, inZone: false }))
    const d = diffDesired(before, after)
    expect(d.changedBackends.map((c) => c.reweighted.map((m) => [m.after.name, m.after.weight]))).toEqual([[["a", 0]]])
    expect(needsReload(d)).toBe(false)
  })

  it("nothing changed: no change at all", () => {
    const state = desired(backend("be_web", [server("i-1", { weight: 5, backup: true })], { cookie: "SRV" }, ZONE))
    const d = diffDesired(state, structuredClone(state))
    expect([d.changedBackends, d.reloadBackends, needsReload(d), describeDiff(d), reasonLabel(d)]).toEqual([[], [], false, "settings", "settings"])
  })
})

describe("reloadBackends", () => {
  const base = [server("i-1"), server("i-2")]
  const optionChanges: ReadonlyArray<readonly [string, Partial<ServiceOptions>]> = [
    ["check", { check: { _tag: "Http", intervalMs: 2000, path: "/", status: "200-399" } }],
    ["check interval", { check: { _tag: "Tcp", intervalMs: 500 } }],
    ["timeout server", { timeoutServerMs: 1000 }],
    ["timeout connect", { timeoutConnectMs: 1000 }],
    ["timeout tunnel", { timeoutTunnelMs: 1000 }],
    ["balance", { balance: "leastconn" }],
    ["maxconn", { maxconn: 10 }],
    ["protocol", { protocol: "h2c" }],
    ["cookie", { cookie: "SRV" }],
    ["hosts", { hosts: ["www.example.com"] }],
    ["path strip", { stripPath: false }]
  ]

  it.each(optionChanges)("a changed %s reloads the backend (options)", (_label, change) => {
    const before = desired(backend("be_web", base), backend("be_api", base))
    const after = desired(backend("be_web", base, change), backend("be_api", base))
    const d = diffDesired(before, after)
    expect(d.reloadBackends).toEqual(["be_web"])
    expect(d.changedBackends).toEqual([])
    expect(needsReload(d)).toBe(true)
    expect(reasonLabel(d)).toBe("options")
    expect(describeDiff(d)).toBe("options of be_web")
    // And back.
    expect(diffDesired(after, before).reloadBackends).toEqual(["be_web"])
  })

  it("a server becoming or stopping being a backup reloads", () => {
    const before = desired(backend("be_web", [server("i-1"), server("i-2")], {}, ZONE))
    const after = desired(backend("be_web", [server("i-1"), server("i-2", { backup: true })], {}, ZONE))
    const d = diffDesired(before, after)
    expect(d.reloadBackends).toEqual(["be_web"])
    expect(d.changedBackends).toEqual([])
    expect(reasonLabel(d)).toBe("options")
    expect(diffDesired(after, before).reloadBackends).toEqual(["be_web"])
  })

  it("a new backup server, or a removed one, is a runtime change", () => {
    const before = desired(backend("be_web", [server("i-1")], {}, ZONE))
    const after = desired(backend("be_web", [server("i-1"), server("i-2", { backup: true })], {}, ZONE))
    expect(diffDesired(before, after).reloadBackends).toEqual([])
    expect(diffDesired(after, before).reloadBackends).toEqual([])
    expect(needsReload(diffDesired(before, after))).toBe(false)
  })

  it("zone affinity switched on or off reloads (option allbackups); the zone's counts changing does not", () => {
    const off = desired(backend("be_web", base))
    const on = desired(backend("be_web", base, {}, ZONE))
    expect(diffDesired(off, on).reloadBackends).toEqual(["be_web"])
    expect(diffDesired(on, off).reloadBackends).toEqual(["be_web"])
    const counted = desired(backend("be_web", base, {}, { ...ZONE, local: 2, localHealthy: 2 }))
    expect(diffDesired(on, counted).reloadBackends).toEqual([])
    expect(needsReload(diffDesired(on, counted))).toBe(false)
  })

  it("a server added to a sticky backend reloads (2.6 takes no cookie at runtime); removed, moved or reweighted ones do not", () => {
    const sticky = { cookie: "SRV" }
    const before = desired(backend("be_web", [server("i-1"), server("i-2")], sticky))
    const added = diffDesired(before, desired(backend("be_web", [server("i-1"), server("i-2"), server("i-3")], sticky)))
    expect(added.reloadBackends).toEqual(["be_web"])
    expect(added.changedBackends.map((c) => c.added.map((s) => s.name))).toEqual([["i-3"]])
    expect(reasonLabel(added)).toBe("options")
    expect(describeDiff(added)).toBe("options of be_web; instances of be_web (+1 -0 ~0)")
    const other = diffDesired(before, desired(backend("be_web", [server("i-1", { port: 81 }), server("i-2", { weight: 2 })], sticky)))
    expect(other.reloadBackends).toEqual([])
    expect(needsReload(other)).toBe(false)
    const removed = diffDesired(before, desired(backend("be_web", [server("i-1")], sticky)))
    expect(removed.reloadBackends).toEqual([])
    // Without a cookie an addition is a runtime change.
    const plain = desired(backend("be_web", [server("i-1")]))
    expect(diffDesired(plain, desired(backend("be_web", [server("i-1"), server("i-2")]))).reloadBackends).toEqual([])
  })

  it("balance source (rendered with hash-type consistent, a dynamic algorithm): added, reweighted, removed and moved servers are runtime changes", () => {
    const source = { balance: "source" } as const
    const before = desired(backend("be_web", [server("i-1"), server("i-2")], source))
    const added = diffDesired(before, desired(backend("be_web", [server("i-1"), server("i-2"), server("i-3")], source)))
    expect(added.reloadBackends).toEqual([])
    expect(needsReload(added)).toBe(false)
    const reweighted = diffDesired(before, desired(backend("be_web", [server("i-1", { weight: 0 }), server("i-2")], source)))
    expect(reweighted.reloadBackends).toEqual([])
    const removedOrMoved = diffDesired(before, desired(backend("be_web", [server("i-1", { port: 81 })], source)))
    expect(removedOrMoved.reloadBackends).toEqual([])
    expect(needsReload(removedOrMoved)).toBe(false)
    // The dynamic algorithms take both at runtime.
    for (const balance of ["roundrobin", "leastconn", "random"] as const) {
      const b = desired(backend("be_web", [server("i-1")], { balance }))
      const a = desired(backend("be_web", [server("i-1", { weight: 5 }), server("i-2")], { balance }))
      expect(diffDesired(b, a).reloadBackends).toEqual([])
    }
  })

  it("new and removed backends are not listed (they reload as services); labels keep their precedence", () => {
    const before = desired(backend("be_web", base))
    const after = desired(backend("be_web", base, { maxconn: 5 }), backend("be_new", base, { cookie: "X" }))
    const d = diffDesired(before, after)
    expect(d.reloadBackends).toEqual(["be_web"])
    expect(d.addedBackends).toEqual(["be_new"])
    expect(reasonLabel(d)).toBe("new_service")
    expect(describeDiff(d)).toBe("new service be_new; options of be_web")
    expect(diffDesired(undefined, after).reloadBackends).toEqual([])
  })

  it("describeDiff lists at most `limit` backends whose options changed", () => {
    const names = ["be_a", "be_b", "be_c", "be_d"]
    const before = desired(...names.map((n) => backend(n, base)))
    const after = desired(...names.map((n) => backend(n, base, { balance: "random" })))
    expect(describeDiff(diffDesired(before, after), 2)).toBe("options of be_a, be_b and 2 more")
  })
})
