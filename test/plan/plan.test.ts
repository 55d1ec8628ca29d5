import { describe, expect, it } from "vitest"
import type { Desired } from "../../src/model/desired.ts"
import { pathRouteKey, serverNameForInstance } from "../../src/model/names.ts"
import { plan } from "../../src/plan/plan.ts"
import {
  failedNamespace,
  failedService,
  hostNs,
  instance,
  ipv6Instance,
  namespace,
  pathNs,
  service,
  snapshot
} from "../render/fixtures.ts"

const options = { defaultInstancePort: undefined }

const quarantineOf = (desired: Desired, serviceName: string, instanceId?: string) =>
  desired.quarantined.filter((q) => q.service === serviceName && q.instanceId === instanceId)

describe("plan: routes and backends", () => {
  it("routes host mode as <service>.<domain> and normalises SRV-style and uppercase names", () => {
    const desired = plan(
      snapshot([
        namespace(hostNs("apps", "Example.COM."), [
          service("_web._tcp", [instance("t1", "10.0.0.1", "8080")]),
          service("API", [instance("t2", "10.0.0.2", "80")])
        ])
      ]),
      options
    )
    expect(desired.hostRoutes).toEqual([
      { host: "api.example.com", backend: "be_api.example.com" },
      { host: "web.example.com", backend: "be_web.example.com" }
    ])
    expect(desired.pathRoutes).toEqual([])
    expect(desired.quarantined).toEqual([])
    expect(desired.backends.map((b) => [b.name, b.service, b.route, b.mode, b.namespace])).toEqual([
      ["be_api.example.com", "api", "api.example.com", "host", "apps"],
      ["be_web.example.com", "web", "web.example.com", "host", "apps"]
    ])
    expect(desired.backends[1]?.servers).toEqual([
      { name: "i-t1", instanceId: "t1", address: "10.0.0.1", port: 8080, health: "HEALTHY", weight: 1, backup: false, zone: undefined }
    ])
  })

  it("routes path mode as <domain>/<segment> with its own backend names", () => {
    const desired = plan(
      snapshot([namespace(pathNs("internal", "example.com"), [service("web", [instance("t1", "10.0.0.1", "80")])])]),
      options
    )
    expect(desired.pathRoutes).toEqual([{ domain: "example.com", segment: "web", backend: "be_example.com_web" }])
    expect(desired.hostRoutes).toEqual([])
    expect(desired.backends[0]).toMatchObject({ name: "be_example.com_web", route: "example.com/web", mode: "path" })
  })

  it("quarantines the reserved path segments stats and metrics, but not in host mode", () => {
    const desired = plan(
      snapshot([
        namespace(pathNs("p", "example.com"), [service("stats", []), service("METRICS", []), service("web", [])]),
        namespace(hostNs("h", "example.org"), [service("stats", [])])
      ]),
      options
    )
    expect(desired.pathRoutes.map((r) => r.segment)).toEqual(["web"])
    expect(quarantineOf(desired, "stats")[0]?.reason).toMatch(/reserved for the monitoring pages/)
    expect(quarantineOf(desired, "METRICS")[0]?.reason).toMatch(/reserved/)
    expect(desired.hostRoutes.map((r) => r.host)).toEqual(["stats.example.org"])
  })

  it("keeps a service with zero instances: route and empty backend (HAProxy answers 503)", () => {
    const desired = plan(snapshot([namespace(hostNs("apps", "example.com"), [service("idle", [])])]), options)
    expect(desired.hostRoutes).toEqual([{ host: "idle.example.com", backend: "be_idle.example.com" }])
    expect(desired.backends).toHaveLength(1)
    expect(desired.backends[0]?.servers).toEqual([])
  })

  it("keeps a service whose every instance is quarantined (empty backend, instances reported)", () => {
    const desired = plan(
      snapshot([namespace(hostNs("apps", "example.com"), [service("web", [instance("t1", "1.2.3", "80")])])]),
      options
    )
    expect(desired.hostRoutes).toHaveLength(1)
    expect(desired.backends[0]?.servers).toEqual([])
    expect(quarantineOf(desired, "web", "t1")[0]?.reason).toMatch(/not a valid/)
  })

  it("skips Failed namespaces and Failed services without quarantining them", () => {
    const desired = plan(
      snapshot([
        failedNamespace(hostNs("gone", "example.net")),
        namespace(hostNs("apps", "example.com"), [failedService("web"), service("api", [])])
      ]),
      options
    )
    expect(desired.hostRoutes.map((r) => r.host)).toEqual(["api.example.com"])
    expect(desired.quarantined).toEqual([])
  })

  it("quarantines every service of a namespace whose domain is invalid (defensive)", () => {
    const desired = plan(snapshot([namespace(hostNs("apps", "exa mple.com"), [service("web", [])])]), options)
    expect(desired.backends).toEqual([])
    expect(quarantineOf(desired, "web")[0]?.reason).toMatch(/namespace domain "exa mple.com" contains a space/)
  })

  it("quarantines a host over 253 characters and a backend name over 256", () => {
    const longDomain = `${"d".repeat(63)}.${"e".repeat(63)}.${"f".repeat(63)}.${"g".repeat(50)}` // 242
    const desired = plan(
      snapshot([
        namespace(hostNs("h", longDomain), [service("a".repeat(10), []), service("b".repeat(11), [])]),
        namespace(pathNs("p", longDomain), [service("c".repeat(10), []), service("d".repeat(11), [])])
      ]),
      options
    )
    // host: 10 + 1 + 242 = 253 fits; 11 + 1 + 242 = 254 does not.
    expect(desired.hostRoutes.map((r) => r.host.length)).toEqual([253])
    expect(quarantineOf(desired, "b".repeat(11))[0]?.reason).toMatch(/254 characters long/)
    // path: "be_" + 242 + "_" + 10 = 256 fits; with 11 it is 257.
    expect(desired.pathRoutes.map((r) => r.segment)).toEqual(["c".repeat(10)])
    expect(quarantineOf(desired, "d".repeat(11))[0]?.reason).toMatch(/backend name: identifier is 257/)
  })
})

describe("plan: instances", () => {
  it("prefers AWS_INSTANCE_IPV4, falls back to AWS_INSTANCE_IPV6, and uses the default port", () => {
    const desired = plan(
      snapshot([
        namespace(hostNs("apps", "example.com"), [
          service("web", [
            instance("v4", "10.0.0.1", undefined, { AWS_INSTANCE_IPV6: "2001:db8::1" }),
            ipv6Instance("v6", "2001:DB8::2", "8080"),
            instance("noport", "10.0.0.3", undefined)
          ])
        ])
      ]),
      { defaultInstancePort: 3000 }
    )
    expect(desired.backends[0]?.servers.map((s) => [s.name, s.address, s.port])).toEqual([
      ["i-noport", "10.0.0.3", 3000],
      ["i-v4", "10.0.0.1", 3000],
      ["i-v6", "2001:db8::2", 8080]
    ])
  })

  it("quarantines an instance with no port when no default port is configured", () => {
    const desired = plan(
      snapshot([namespace(hostNs("apps", "example.com"), [service("web", [instance("t1", "10.0.0.1", undefined)])])]),
      options
    )
    expect(desired.backends[0]?.servers).toEqual([])
    expect(quarantineOf(desired, "web", "t1")[0]?.reason).toMatch(/no AWS_INSTANCE_PORT .* no default instance port/)
  })

  it("does not fall back to IPv6 when the IPv4 attribute is present but invalid", () => {
    const desired = plan(
      snapshot([
        namespace(hostNs("apps", "example.com"), [
          service("web", [instance("t1", "10.0.0.256", "80", { AWS_INSTANCE_IPV6: "2001:db8::1" })])
        ])
      ]),
      options
    )
    expect(desired.backends[0]?.servers).toEqual([])
    expect(quarantineOf(desired, "web", "t1")[0]?.reason).toMatch(/IPv4 address "10.0.0.256" is not a valid/)
  })

  it("quarantines an instance with neither address attribute (CNAME / alias)", () => {
    const desired = plan(
      snapshot([
        namespace(hostNs("apps", "example.com"), [
          service("web", [{ id: "c1", attributes: { AWS_INSTANCE_CNAME: "x.example.com" }, health: undefined }])
        ])
      ]),
      options
    )
    expect(quarantineOf(desired, "web", "c1")[0]?.reason).toMatch(/no AWS_INSTANCE_IPV4 or AWS_INSTANCE_IPV6/)
  })

  it("names servers from instance ids: ids differing only by case both route, under different names", () => {
    const desired = plan(
      snapshot([
        namespace(hostNs("apps", "example.com"), [
          service("web", [instance("a", "10.0.0.1", "80"), instance("A", "10.0.0.2", "80")])
        ])
      ]),
      options
    )
    const servers = desired.backends[0]?.servers ?? []
    expect(servers.map((s) => s.instanceId).sort()).toEqual(["A", "a"])
    expect(new Set(servers.map((s) => s.name)).size).toBe(2)
    expect(servers.find((s) => s.instanceId === "A")?.name).toBe(serverNameForInstance("A"))
    expect(serverNameForInstance("A")).toMatch(/^h-[0-9a-f]{16}$/)
  })

  it("quarantines the second of two instances with the same id, whatever order Cloud Map used", () => {
    for (const order of [["10.0.0.1", "10.0.0.2"], ["10.0.0.2", "10.0.0.1"]]) {
      const desired = plan(
        snapshot([
          namespace(hostNs("apps", "example.com"), [
            service("web", order.map((ip) => instance("t1", ip, "80")))
          ])
        ]),
        options
      )
      expect(desired.backends[0]?.servers.map((s) => s.name)).toEqual(["i-t1"])
      expect(quarantineOf(desired, "web", "t1")[0]?.reason).toBe("duplicate instance id in the same service")
    }
  })

  it("keeps instances of any health (HAProxy checks decide) and carries the health along", () => {
    const desired = plan(
      snapshot([
        namespace(hostNs("apps", "example.com"), [
          service("web", [
            instance("t1", "10.0.0.1", "80", {}, "UNHEALTHY"),
            { id: "t2", attributes: { AWS_INSTANCE_IPV4: "10.0.0.2", AWS_INSTANCE_PORT: "80" }, health: undefined }
          ])
        ])
      ]),
      options
    )
    expect(desired.backends[0]?.servers.map((s) => s.health)).toEqual(["UNHEALTHY", undefined])
  })
})

describe("plan: determinism", () => {
  const namespaces = [
    namespace(hostNs("apps", "example.com"), [
      service("web", [instance("t3", "10.0.0.3", "80"), instance("t1", "10.0.0.1", "80"), instance("T2", "10.0.0.2", "80")]),
      service("api", [instance("t9", "10.0.0.9", "81"), instance("bad id", "10.0.0.8", "81")]),
      service("WEB", [], "srv-0")
    ]),
    namespace(pathNs("int", "example.net"), [service("b", []), service("a", []), service("stats", [])])
  ]

  it("gives the same Desired for shuffled services and instances", () => {
    const reversed = namespaces.map((ns) =>
      ns._tag === "Ok"
        ? {
          ...ns,
          services: [...ns.services].reverse().map((s) =>
            s._tag === "Ok" ? { ...s, instances: [...s.instances].reverse() } : s
          )
        }
        : ns
    )
    const a = plan(snapshot(namespaces), options)
    const b = plan(snapshot(reversed), options)
    expect(JSON.stringify(b)).toBe(JSON.stringify(a))
  })

  it("sorts backends, servers, routes and quarantined records", () => {
    const desired = plan(snapshot(namespaces), options)
    const sorted = <A>(xs: ReadonlyArray<A>, key: (a: A) => string) =>
      expect(xs.map(key)).toEqual([...xs.map(key)].sort())
    sorted(desired.backends, (b) => b.name)
    for (const b of desired.backends) sorted(b.servers, (s) => s.name)
    sorted(desired.hostRoutes, (r) => r.host)
    sorted(desired.pathRoutes, (r) => pathRouteKey(r.domain, r.segment))
    sorted(desired.quarantined, (q) => `${q.namespace}\u0000${q.service}\u0000${q.instanceId ?? ""}`)
    // bad id, stats, and WEB (same name form rule: "web" is canonical and wins).
    expect(desired.quarantined.length).toBe(3)
  })
})
