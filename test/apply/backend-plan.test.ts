/**
 * Which new and removed services go through HAProxy 3.4's runtime backends (pure): only where the
 * running HAProxy adds backends at runtime and has loaded the new backend's option profile; the
 * plan's map changes are exactly the routes that changed; `takesReload` (the apply loop's pacing)
 * agrees; and the parsers of the answers the plan is verified with.
 */
import { describe, expect, it } from "vitest"
import { type Applied, takesReload } from "../../src/apply/applier.ts"
import { planRuntimeBackends, profilesOf } from "../../src/apply/backend-plan.ts"
import { diffDesired } from "../../src/apply/diff.ts"
import { parseShowBackend, parseShowMap, supportsRuntimeBackends } from "../../src/haproxy/runtime-backend-api.ts"
import type { Backend, Desired, Server } from "../../src/model/desired.ts"
import { DEFAULT_OPTIONS } from "../../src/model/service-options.ts"
import { profileName, render } from "../../src/render/render.ts"
import { settings } from "../render/fixtures.ts"

const server = (name: string, port: number): Server => ({ name, instanceId: name, address: "10.0.0.1", port, health: undefined, weight: 1, backup: false, zone: undefined })
const backend = (name: string, servers: ReadonlyArray<Server>, options = DEFAULT_OPTIONS): Backend => ({
  name, namespace: "apps", service: name, serviceId: name, mode: "host", route: `${name.slice(3)}.example.test`, servers, options, zone: undefined
})
const desired = (backends: ReadonlyArray<Backend>): Desired => ({
  backends,
  hostRoutes: backends.map((b) => ({ host: b.route, backend: b.name })),
  pathRoutes: [],
  quarantined: [],
  ignoredOptions: []
})

const web = backend("be_web", [server("i-1", 80)])
const api = backend("be_api", [server("a-1", 81)])
const sticky = backend("be_sticky", [server("s-1", 82)], { ...DEFAULT_OPTIONS, balance: "leastconn", cookie: "SRV" })
const before = desired([web])
const on34 = { runtimeBackends: true, profiles: profilesOf(before) }

describe("planRuntimeBackends", () => {
  it("adds a new service with a loaded profile: backend from its profile, then its host", () => {
    const after = desired([api, web])
    const r = planRuntimeBackends(before, after, diffDesired(before, after), on34)
    expect(r).toEqual({
      _tag: "Plan",
      plan: {
        added: [{ backend: api, profile: profileName(api) }],
        removed: [],
        maps: [{ map: "hosts.map", key: "api.example.test", before: undefined, after: "be_api" }]
      }
    })
    // Same settings, same profile: the file renders it once, as `defaults <profile>`.
    expect(profileName(api)).toBe(profileName(web))
    expect(render(after, settings())["haproxy.cfg"].split(`defaults ${profileName(api)}\n`)).toHaveLength(2)
  })

  it("removes a service: its map entry goes, and the backend with it", () => {
    const two = desired([api, web])
    const r = planRuntimeBackends(two, before, diffDesired(two, before), { runtimeBackends: true, profiles: profilesOf(two) })
    expect(r._tag === "Plan" && r.plan.removed).toEqual([api])
    expect(r._tag === "Plan" && r.plan.maps).toEqual([{ map: "hosts.map", key: "api.example.test", before: "be_api", after: undefined }])
  })

  it("takes a reload for a profile HAProxy has not loaded, and says so", () => {
    const after = desired([web, sticky])
    expect(profileName(sticky)).not.toBe(profileName(web))
    expect(planRuntimeBackends(before, after, diffDesired(before, after), on34)).toEqual({
      _tag: "Reload",
      why: "the option profile of be_sticky is not loaded yet"
    })
    // Once a reload rendered it, the next sticky service needs none.
    const loaded = { runtimeBackends: true, profiles: profilesOf(after) }
    const more = desired([web, sticky, { ...sticky, name: "be_sticky2", route: "sticky2.example.test" }])
    expect(planRuntimeBackends(after, more, diffDesired(after, more), loaded)._tag).toBe("Plan")
  })

  it("has the default options' profiles loaded even when no service used them (an empty start)", () => {
    const empty = desired([])
    const after = desired([api])
    const r = planRuntimeBackends(empty, after, diffDesired(empty, after), { runtimeBackends: true, profiles: profilesOf(empty) })
    expect(r._tag).toBe("Plan")
    expect(render(empty, settings())["haproxy.cfg"]).toContain(`defaults ${profileName(api)}\n`)
  })

  it("takes a reload before 3.4, for changed backend settings, and with nothing loaded", () => {
    const after = desired([api, web])
    const d = diffDesired(before, after)
    expect(planRuntimeBackends(before, after, d, { runtimeBackends: false, profiles: on34.profiles })._tag).toBe("Reload")
    expect(planRuntimeBackends(before, after, d, undefined)._tag).toBe("Reload")
    const changed = desired([{ ...web, options: { ...DEFAULT_OPTIONS, balance: "leastconn" } }])
    expect(planRuntimeBackends(before, changed, diffDesired(before, changed), on34)).toEqual({
      _tag: "Reload",
      why: "backend settings change only with a reload"
    })
  })

  it("re-points a host that changes owner with one set", () => {
    const after: Desired = { ...desired([api, web]), hostRoutes: [{ host: "web.example.test", backend: "be_api" }, { host: "api.example.test", backend: "be_api" }] }
    const r = planRuntimeBackends(before, after, diffDesired(before, after), on34)
    expect(r._tag === "Plan" && r.plan.maps).toEqual([
      { map: "hosts.map", key: "api.example.test", before: undefined, after: "be_api" },
      { map: "hosts.map", key: "web.example.test", before: "be_web", after: "be_api" }
    ])
  })
})

describe("takesReload", () => {
  const applied = (loaded: Applied["loaded"]): Applied => ({ desired: before, files: render(before, settings()), hash: "h", generation: 1, loaded })
  it("is false for a new service on 3.4 with its profile loaded, true otherwise", () => {
    const after = desired([api, web])
    expect(takesReload(applied(on34), after)).toBe(false)
    expect(takesReload(applied({ runtimeBackends: false, profiles: on34.profiles }), after)).toBe(true)
    expect(takesReload(applied(undefined), after)).toBe(true)
    expect(takesReload(applied(on34), desired([web, sticky]))).toBe(true)
    expect(takesReload(undefined, after)).toBe(true)
  })
})

describe("runtime backend answers", () => {
  it("detects 3.4 and later", () => {
    expect(["2.6.12-1+deb12u4", "3.2.9-1", "3.3.0"].map(supportsRuntimeBackends)).toEqual([false, false, false])
    expect(["3.4.7-1", "3.4-dev1", "3.10.0", "4.0.1"].map(supportsRuntimeBackends)).toEqual([true, true, true, true])
    expect(supportsRuntimeBackends("unknown")).toBe(false)
  })

  it("parses show map and show backend, and refuses what is not", () => {
    expect(parseShowMap("0x55d0a1 web.example.test be_web\n0x55d0a2 api.example.test be_api\n\n")).toEqual([
      ["web.example.test", "be_web"],
      ["api.example.test", "be_api"]
    ])
    expect(typeof parseShowMap("Unknown map identifier.\n")).toBe("string")
    expect(parseShowBackend("# name\nbe_stats\nbe_web\n\n")).toEqual(["be_stats", "be_web"])
    expect(typeof parseShowBackend("Permission denied\n")).toBe("string")
  })
})
