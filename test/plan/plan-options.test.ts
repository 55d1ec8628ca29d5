/**
 * plan() with service attributes and zone affinity: options land on the backend, what is not
 * applied is reported (sorted), extra host names claim like any other host at the service's
 * rank, and zone affinity marks backups and weights.
 */
import { describe, expect, it } from "vitest"
import { diffDesired, needsReload } from "../../src/apply/diff.ts"
import { DEFAULT_OPTIONS } from "../../src/model/service-options.ts"
import type { DiscoveredService } from "../../src/model/snapshot.ts"
import { plan, type PlanOptions } from "../../src/plan/plan.ts"
import { failedService, hostNs, instance, namespace, pathNs, service, snapshot } from "../render/fixtures.ts"

const T0 = Date.UTC(2025, 0, 1)
const dated = (svc: DiscoveredService, ms: number): DiscoveredService => ({ ...svc, createdAt: ms })
const attrs = (entries: Record<string, Record<string, string>>): PlanOptions => ({
  defaultInstancePort: undefined,
  serviceAttributes: new Map(Object.entries(entries))
})

describe("plan: service options", () => {
  it("puts the decoded options on the backend; services without attributes keep the defaults", () => {
    const desired = plan(
      snapshot([
        namespace(hostNs("apps", "example.com"), [
          service("web", [instance("t1", "10.0.0.1", "80")], "srv-web"),
          service("api", [instance("t2", "10.0.0.2", "80")], "srv-api")
        ])
      ]),
      attrs({ "srv-web": { "haproxy.check": "http", "haproxy.check.path": "/healthz", "haproxy.balance": "leastconn", "haproxy.cookie": "SRV" } })
    )
    const web = desired.backends.find((b) => b.serviceId === "srv-web")!
    expect(web.options).toEqual({
      ...DEFAULT_OPTIONS,
      check: { _tag: "Http", intervalMs: 2000, path: "/healthz", status: "200-399" },
      balance: "leastconn",
      cookie: "SRV"
    })
    expect(desired.backends.find((b) => b.serviceId === "srv-api")!.options).toEqual(DEFAULT_OPTIONS)
    expect(desired.ignoredOptions).toEqual([])
    expect(desired.backends.every((b) => b.zone === undefined)).toBe(true)
  })

  it("attributes read as empty, or with foreign keys only, plan exactly as no attributes (no reload on the first read)", () => {
    const snap = snapshot([namespace(hostNs("apps", "example.com"), [service("web", [instance("t1", "10.0.0.1", "80")], "srv-web")])])
    const none = plan(snap, { defaultInstancePort: undefined })
    for (const read of [{}, { team: "payments", "xhaproxy.check": "http" }]) {
      const planned = plan(snap, attrs({ "srv-web": read }))
      expect(JSON.stringify(planned)).toBe(JSON.stringify(none))
      expect(needsReload(diffDesired(none, planned))).toBe(false)
    }
    // Options given in any attribute order give byte-identical options (the diff compares JSON).
    const a = plan(snap, attrs({ "srv-web": { "haproxy.check.interval": "1s", "haproxy.check": "http", "haproxy.maxconn": "3" } }))
    const b = plan(snap, attrs({ "srv-web": { "haproxy.maxconn": "3", "haproxy.check": "http", "haproxy.check.interval": "1s" } }))
    expect(JSON.stringify(a.backends)).toBe(JSON.stringify(b.backends))
    expect(diffDesired(a, b).reloadBackends).toEqual([])
  })

  it("attributes are looked up by service id, not by name", () => {
    const desired = plan(
      snapshot([namespace(hostNs("apps", "example.com"), [service("web", [], "srv-web")])]),
      attrs({ web: { "haproxy.balance": "source" } })
    )
    expect(desired.backends[0]!.options.balance).toBe("roundrobin")
  })

  it("path mode: path.strip applies, hosts does not", () => {
    const desired = plan(
      snapshot([namespace(pathNs("internal", "example.net"), [service("docs", [instance("t1", "10.0.0.1", "80")], "srv-docs")])]),
      attrs({ "srv-docs": { "haproxy.path.strip": "false", "haproxy.hosts": "www.example.net" } })
    )
    expect(desired.backends[0]!.options.stripPath).toBe(false)
    expect(desired.backends[0]!.options.hosts).toEqual([])
    expect(desired.hostRoutes).toEqual([])
    expect(desired.ignoredOptions).toEqual([
      { namespace: "internal", service: "docs", key: "haproxy.hosts", reason: "extra host names apply to host-mode namespaces only" }
    ])
  })

  it("reports ignored service and instance options with namespace, service, instance and key, sorted", () => {
    const desired = plan(
      snapshot([
        namespace(hostNs("zeta", "zeta.example"), [service("web", [], "srv-z")]),
        namespace(hostNs("apps", "example.com"), [
          service("web", [
            instance("t2", "10.0.0.2", "80", { "haproxy.weight": "999" }),
            instance("t1", "10.0.0.1", "80", { "haproxy.weight": "4", "haproxy.cookie": "x" })
          ], "srv-web"),
          service("api", [], "srv-api")
        ])
      ]),
      attrs({
        "srv-web": { "haproxy.timeout.sever": "1s", "haproxy.balance": "fast", "haproxy.maxconn": "10" },
        "srv-api": { "haproxy.weight": "3" },
        "srv-z": { "haproxy.chek": "http" }
      })
    )
    expect(desired.ignoredOptions).toEqual([
      { namespace: "apps", service: "api", key: "haproxy.weight", reason: "a per-instance option: set it on the instances (RegisterInstance attributes)" },
      { namespace: "apps", service: "web", key: "haproxy.balance", reason: "expected one of roundrobin, leastconn, random, source, got \"fast\"" },
      { namespace: "apps", service: "web", key: "haproxy.timeout.sever", reason: "unknown option; did you mean haproxy.timeout.server?" },
      {
        namespace: "apps",
        service: "web",
        instanceId: "t1",
        key: "haproxy.cookie",
        reason: "unknown option (known: haproxy.weight) (instances take only haproxy.weight)"
      },
      { namespace: "apps", service: "web", instanceId: "t2", key: "haproxy.weight", reason: "expected an integer 0-256, got \"999\"" },
      { namespace: "zeta", service: "web", key: "haproxy.chek", reason: "unknown option; did you mean haproxy.check?" }
    ])
    const web = desired.backends.find((b) => b.serviceId === "srv-web")!
    expect(web.options.maxconn).toBe(10)
    expect(web.servers.map((s) => [s.instanceId, s.weight])).toEqual([["t1", 4], ["t2", 1]])
    // Ignored options never quarantine anything.
    expect(desired.quarantined).toEqual([])
  })

  it("a quarantined service's options are not decoded (nothing reported for it)", () => {
    const desired = plan(
      snapshot([namespace(pathNs("internal", "example.net"), [service("metrics", [], "srv-m")])]),
      attrs({ "srv-m": { "haproxy.chek": "http" } })
    )
    expect(desired.quarantined.map((q) => q.service)).toEqual(["metrics"])
    expect(desired.ignoredOptions).toEqual([])
  })
})

describe("plan: extra host names (haproxy.hosts)", () => {
  it("routes granted hosts to the service's backend; its own name in the list is not a second route", () => {
    const desired = plan(
      snapshot([namespace(hostNs("apps", "Example.COM."), [service("web", [instance("t1", "10.0.0.1", "80")], "srv-web")])]),
      attrs({ "srv-web": { "haproxy.hosts": "WWW.example.com.,web.example.com,shop.example.com" } })
    )
    expect(desired.hostRoutes).toEqual([
      { host: "shop.example.com", backend: "be_web.example.com" },
      { host: "web.example.com", backend: "be_web.example.com" },
      { host: "www.example.com", backend: "be_web.example.com" }
    ])
    expect(desired.backends.map((b) => [b.name, b.route, b.options.hosts])).toEqual([
      ["be_web.example.com", "web.example.com", ["www.example.com", "shop.example.com"]]
    ])
    expect(desired.ignoredOptions).toEqual([])
  })

  it("a host already held by an older service is refused, naming the owner; the rest are granted", () => {
    const desired = plan(
      snapshot([
        namespace(hostNs("apps", "example.com"), [
          dated(service("shop", [], "srv-new"), T0 + 5_000),
          dated(service("www", [], "srv-old"), T0)
        ])
      ]),
      attrs({ "srv-new": { "haproxy.hosts": "store.example.com,www.example.com" } })
    )
    expect(desired.hostRoutes).toEqual([
      { host: "shop.example.com", backend: "be_shop.example.com" },
      { host: "store.example.com", backend: "be_shop.example.com" },
      { host: "www.example.com", backend: "be_www.example.com" }
    ])
    expect(desired.backends.find((b) => b.serviceId === "srv-new")!.options.hosts).toEqual(["store.example.com"])
    expect(desired.ignoredOptions).toEqual([{
      namespace: "apps",
      service: "shop",
      key: "haproxy.hosts",
      reason: "host www.example.com is the own name of service \"www\" (id \"srv-old\") in namespace \"apps\": " +
        "an extra host name never takes a service's own name"
    }])
    // The service keeps its main route: a lost extra host is an ignored option, not a quarantine.
    expect(desired.quarantined).toEqual([])
  })

  it("a service's own name outranks an extra host of an older service: the extra host is refused, both services route", () => {
    const desired = plan(
      snapshot([
        namespace(hostNs("apps", "example.com"), [
          dated(service("api", [instance("n1", "10.0.0.9", "80")], "srv-api"), T0 + 60_000),
          dated(service("web", [instance("t1", "10.0.0.1", "80")], "srv-web"), T0)
        ])
      ]),
      attrs({ "srv-web": { "haproxy.hosts": "api.example.com" } })
    )
    expect(desired.hostRoutes).toEqual([
      { host: "api.example.com", backend: "be_api.example.com" },
      { host: "web.example.com", backend: "be_web.example.com" }
    ])
    expect(desired.backends.map((b) => b.serviceId)).toEqual(["srv-api", "srv-web"])
    expect(desired.quarantined).toEqual([])
    expect(desired.ignoredOptions).toEqual([{
      namespace: "apps",
      service: "web",
      key: "haproxy.hosts",
      reason: "host api.example.com is the own name of service \"api\" (id \"srv-api\") in namespace \"apps\": " +
        "an extra host name never takes a service's own name"
    }])
  })

  it("equal age (one CreateDate for all): an extra host of the service whose id sorts first never takes another's own name", () => {
    const desired = plan(
      snapshot([
        namespace(hostNs("apps", "example.com"), [
          dated(service("web", [instance("t1", "10.0.0.1", "80")], "srv-web"), T0),
          dated(service("api", [instance("n1", "10.0.0.9", "80")], "srv-a-api"), T0)
        ])
      ]),
      attrs({ "srv-a-api": { "haproxy.hosts": "web.example.com,www.example.com" } })
    )
    expect(desired.hostRoutes).toEqual([
      { host: "api.example.com", backend: "be_api.example.com" },
      { host: "web.example.com", backend: "be_web.example.com" },
      { host: "www.example.com", backend: "be_api.example.com" }
    ])
    expect(desired.ignoredOptions.map((o) => [o.service, o.key])).toEqual([["api", "haproxy.hosts"]])
  })

  it("two services asking for the same extra host: the older one gets it", () => {
    const desired = plan(
      snapshot([
        namespace(hostNs("apps", "example.com"), [
          dated(service("b", [], "srv-b"), T0 + 1),
          dated(service("a", [], "srv-a"), T0 + 2)
        ])
      ]),
      attrs({ "srv-a": { "haproxy.hosts": "www.example.com" }, "srv-b": { "haproxy.hosts": "www.example.com" } })
    )
    expect(desired.hostRoutes.find((r) => r.host === "www.example.com")?.backend).toBe("be_b.example.com")
    expect(desired.ignoredOptions.map((o) => [o.service, o.key])).toEqual([["a", "haproxy.hosts"]])
    expect(desired.ignoredOptions[0]!.reason).toMatch(/^host www\.example\.com is already an extra host name of service "b" \(id "srv-b"\)/)
  })

  it("an extra host that is an older path-mode domain is refused", () => {
    const desired = plan(
      snapshot([
        namespace(pathNs("internal", "docs.example.com"), [dated(service("guide", [], "srv-guide"), T0)]),
        namespace(hostNs("apps", "example.com"), [dated(service("web", [], "srv-web"), T0 + 1)])
      ]),
      attrs({ "srv-web": { "haproxy.hosts": "docs.example.com" } })
    )
    expect(desired.hostRoutes).toEqual([{ host: "web.example.com", backend: "be_web.example.com" }])
    expect(desired.ignoredOptions).toEqual([{
      namespace: "apps",
      service: "web",
      key: "haproxy.hosts",
      reason: expect.stringMatching(/^host docs\.example\.com is a path-mode domain, held by service "guide"/)
    }])
  })

  it("a path-mode domain outranks an extra host of an older service: the domain's services keep routing", () => {
    const desired = plan(
      snapshot([
        namespace(hostNs("apps", "example.com"), [dated(service("web", [], "srv-web"), T0)]),
        namespace(pathNs("internal", "docs.example.com"), [dated(service("guide", [], "srv-guide"), T0 + 1)])
      ]),
      attrs({ "srv-web": { "haproxy.hosts": "docs.example.com" } })
    )
    expect(desired.pathRoutes).toEqual([{ domain: "docs.example.com", segment: "guide", backend: "be_docs.example.com_guide" }])
    expect(desired.hostRoutes).toEqual([{ host: "web.example.com", backend: "be_web.example.com" }])
    expect(desired.quarantined).toEqual([])
    expect(desired.ignoredOptions).toEqual([{
      namespace: "apps",
      service: "web",
      key: "haproxy.hosts",
      reason: expect.stringMatching(/^host docs\.example\.com is a path-mode domain, held by service "guide"/)
    }])
  })

  it("a Failed (unreadable) service holds its main route but gets no options", () => {
    const desired = plan(
      snapshot([namespace(hostNs("apps", "example.com"), [dated(failedService("web", "srv-web"), T0)])]),
      attrs({ "srv-web": { "haproxy.hosts": "www.example.com", "haproxy.chek": "x" } })
    )
    expect(desired.backends).toEqual([])
    expect(desired.hostRoutes).toEqual([])
    expect(desired.ignoredOptions).toEqual([])
  })
})

describe("plan: zone affinity", () => {
  const zoned = (zoneAffinity: PlanOptions["zoneAffinity"]) =>
    plan(
      snapshot([
        namespace(hostNs("apps", "example.com"), [
          service("web", [
            instance("a1", "10.0.0.1", "80", { AVAILABILITY_ZONE: "us-east-1a" }),
            instance("a2", "10.0.0.2", "80", { AVAILABILITY_ZONE: "us-east-1a", "haproxy.weight": "3" }, "UNHEALTHY"),
            instance("b1", "10.0.0.3", "80", { AVAILABILITY_ZONE: "us-east-1b" }),
            instance("x1", "10.0.0.4", "80", { AVAILABILITY_ZONE: "US East 1a" }),
            instance("n1", "10.0.0.5", "80")
          ], "srv-web")
        ])
      ]),
      { defaultInstancePort: undefined, zoneAffinity }
    ).backends[0]!

  it("off: no backups, weights as registered, no zone routing; zones still recorded", () => {
    const backend = zoned(undefined)
    expect(backend.zone).toBeUndefined()
    expect(backend.servers.map((s) => [s.instanceId, s.weight, s.backup, s.zone])).toEqual([
      ["a1", 1, false, "us-east-1a"],
      ["a2", 3, false, "us-east-1a"],
      ["b1", 1, false, "us-east-1b"],
      ["n1", 1, false, undefined],
      ["x1", 1, false, undefined]
    ])
  })

  it("on: other zones and unknown zones are backups; enough healthy in-zone servers keep their weights", () => {
    const backend = zoned({ zone: "us-east-1a", minHealthy: 1 })
    expect(backend.zone).toEqual({ zone: "us-east-1a", local: 2, localHealthy: 1, inZone: true })
    expect(backend.servers.map((s) => [s.instanceId, s.weight, s.backup])).toEqual([
      ["a1", 1, false],
      ["a2", 3, false],
      ["b1", 1, true],
      ["n1", 1, true],
      ["x1", 1, true]
    ])
  })

  it("on, too few healthy in zone: in-zone weights 0", () => {
    const backend = zoned({ zone: "us-east-1a", minHealthy: 2 })
    expect(backend.zone).toEqual({ zone: "us-east-1a", local: 2, localHealthy: 1, inZone: false })
    expect(backend.servers.map((s) => [s.instanceId, s.weight, s.backup])).toEqual([
      ["a1", 0, false],
      ["a2", 0, false],
      ["b1", 1, true],
      ["n1", 1, true],
      ["x1", 1, true]
    ])
  })
})
