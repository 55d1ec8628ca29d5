import { DEFAULT_OPTIONS } from "../../src/model/service-options.ts"
import { describe, expect, it } from "vitest"
import { describeDiff, diffDesired, needsReload, reasonLabel, runtimePart } from "../../src/apply/diff.ts"
import { verifyBackend } from "../../src/apply/runtime-verify.ts"
import type { Backend, Desired, Server } from "../../src/model/desired.ts"
import type { ServerStateRecord } from "../../src/haproxy/runtime-parse.ts"

const server = (name: string, port: number): Server => ({ name, instanceId: name, address: "10.0.0.1", port, health: undefined, weight: 1, backup: false, zone: undefined })
const backend = (name: string, servers: ReadonlyArray<Server>): Backend => ({
  name, namespace: "apps", service: name, serviceId: name, mode: "host", route: name, servers, options: DEFAULT_OPTIONS, zone: undefined
})
const desired = (backends: ReadonlyArray<Backend>): Desired => ({
  backends,
  hostRoutes: backends.map((b) => ({ host: b.route, backend: b.name })),
  pathRoutes: [],
  quarantined: [],
  ignoredOptions: []
})

describe("diffDesired", () => {
  it("tells instance changes (runtime) from new services (reload), with a reason", () => {
    const before = desired([backend("be_web", [server("i-1", 80), server("i-2", 80)])])
    const moved = desired([backend("be_web", [server("i-1", 81), server("i-3", 80)])])
    const d = diffDesired(before, moved)
    expect(d.changedBackends).toEqual([{
      backend: "be_web",
      added: [server("i-3", 80)],
      removed: [server("i-2", 80)],
      moved: [{ before: server("i-1", 80), after: server("i-1", 81) }],
      reweighted: []
    }])
    expect(reasonLabel(d)).toBe("instances")
    expect(describeDiff(d)).toBe("instances of be_web (+1 -1 ~1)")
    const grown = diffDesired(before, desired([...before.backends, backend("be_api", [])]))
    expect(reasonLabel(grown)).toBe("new_service")
    expect(describeDiff(grown)).toContain("new service be_api")
  })
})

describe("verifyBackend", () => {
  // srv_check_state 6: configured and enabled (what HAProxy reports for a server with `check`).
  const record = (serverName: string, port: number, adminState: "ready" | "maint", checkState = 6): ServerStateRecord =>
    ({ serverName, address: "10.0.0.1", port, adminState, userWeight: 1, checkState } as unknown as ServerStateRecord)
  it("accepts the state HAProxy reports only when it matches", () => {
    expect(verifyBackend([record("i-1", 80, "ready")], [server("i-1", 80)], [])).toBeUndefined()
    expect(verifyBackend([record("i-1", 81, "ready")], [server("i-1", 80)], [])).toContain("expected 10.0.0.1:80")
    expect(verifyBackend([], [server("i-1", 80)], [])).toContain("missing")
    expect(verifyBackend([record("i-2", 80, "ready")], [], [server("i-2", 80)])).toContain("still receives traffic")
    expect(verifyBackend([record("i-2", 80, "maint")], [], [server("i-2", 80)])).toBeUndefined()
    expect(verifyBackend([record("i-1", 80, "ready")], [{ ...server("i-1", 80), weight: 5 }], [])).toContain("weight 1, expected 5")
    // Added, but its health check never enabled (`enable health` refused or not sent).
    expect(verifyBackend([record("i-1", 80, "ready", 2)], [server("i-1", 80)], [])).toContain("health check disabled")
  })
})

describe("runtimePart", () => {
  it("takes the new servers of backends both states have, and leaves new backends, routes and option changes for the reload", () => {
    const served = desired([backend("be_web", [server("i-1", 80)]), backend("be_api", [server("i-2", 80)]), backend("be_old", [server("i-9", 80)])])
    const sticky = { ...backend("be_api", [server("i-2", 80), server("i-3", 80)]), options: { ...DEFAULT_OPTIONS, cookie: "S" } }
    const wanted = desired([backend("be_web", [server("i-1", 80), server("i-4", 80)]), sticky, backend("be_new", [server("i-5", 80)])])
    const part = runtimePart(served, wanted)
    expect(part.backends.map((b) => [b.name, b.servers.map((s) => s.name)])).toEqual([
      ["be_web", ["i-1", "i-4"]],
      ["be_api", ["i-2"]],
      ["be_old", ["i-9"]]
    ])
    expect(part.hostRoutes).toEqual(served.hostRoutes)
    expect(needsReload(diffDesired(served, part))).toBe(false)
    expect(runtimePart(served, served)).toEqual(served)
  })
})

describe("diffDesired compares settings and routes by value", () => {
  /** The same value with its fields in the opposite order (as another decoder or read could build it). */
  const reordered = <A extends object>(a: A): A => Object.fromEntries(Object.entries(a).reverse()) as A

  it("the same options built in another field order need no reload", () => {
    const before = desired([backend("be_web", [server("i-1", 80)])])
    const b = before.backends[0]!
    const after = desired([{ ...b, options: reordered({ ...b.options, check: reordered(b.options.check) }) }])
    expect(JSON.stringify(after.backends[0]!.options)).not.toBe(JSON.stringify(b.options))
    expect(needsReload(diffDesired(before, after))).toBe(false)
    const changed = desired([{ ...b, options: { ...b.options, balance: "leastconn" } }])
    expect(diffDesired(before, changed).reloadBackends).toEqual(["be_web"])
  })

  it("the same routes built in another field order are unchanged; another backend is a change", () => {
    const before = desired([backend("be_web", [server("i-1", 80)])])
    const same = { ...before, hostRoutes: before.hostRoutes.map(reordered) }
    expect(diffDesired(before, same).hostRoutesChanged).toBe(false)
    const moved = { ...before, hostRoutes: before.hostRoutes.map((r) => ({ ...r, backend: "be_other" })) }
    expect(diffDesired(before, moved).hostRoutesChanged).toBe(true)
  })
})
