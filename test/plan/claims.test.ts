/**
 * Who keeps a route two services claim: the one created first (ListServices' CreateDate), then
 * the canonical name form, then the service id, then NAMESPACE_MAP order. Never input order.
 */
import { describe, expect, it } from "vitest"
import type { Desired } from "../../src/model/desired.ts"
import type { DiscoveredService } from "../../src/model/snapshot.ts"
import { plan } from "../../src/plan/plan.ts"
import { failedService, hostNs, instance, namespace, pathNs, service, snapshot } from "../render/fixtures.ts"

const options = { defaultInstancePort: undefined }

const quarantineOf = (desired: Desired, serviceName: string, instanceId?: string) =>
  desired.quarantined.filter((q) => q.service === serviceName && q.instanceId === instanceId)

const T0 = Date.UTC(2025, 0, 1)
/** The service as ListServices dated it (CreateDate, epoch ms). */
const createdAt = (svc: DiscoveredService, ms: number | undefined): DiscoveredService => ({ ...svc, createdAt: ms })
const routedIds = (desired: Desired) => desired.backends.map((b) => b.serviceId)

describe("plan: conflicts (created first, then canonical name, then service id, then NAMESPACE_MAP order)", () => {
  it("a newer `Web` does not take web.<domain> from an older `web`", () => {
    const desired = plan(
      snapshot([
        namespace(hostNs("apps", "example.com"), [
          createdAt(service("Web", [instance("n1", "10.0.0.9", "80")], "srv-0-new"), T0 + 7_000),
          createdAt(service("web", [instance("t1", "10.0.0.1", "80"), instance("t2", "10.0.0.2", "80")], "srv-web"), T0)
        ])
      ]),
      options
    )
    expect(routedIds(desired)).toEqual(["srv-web"])
    expect(desired.backends[0]?.servers.map((s) => s.instanceId)).toEqual(["t1", "t2"])
    expect(desired.quarantined).toEqual([{
      namespace: "apps",
      service: "Web",
      reason: "host web.example.com is already routed to service \"web\" (id \"srv-web\") in namespace \"apps\", " +
        "created earlier (2025-01-01T00:00:00.000Z; this service 2025-01-01T00:00:07.000Z)"
    }])
  })

  it("a newer SRV-style `_web._tcp` does not take it either (raw name order does not count)", () => {
    const desired = plan(
      snapshot([
        namespace(hostNs("apps", "example.com"), [
          createdAt(service("web", [], "srv-z"), T0),
          createdAt(service("_web._tcp", [], "srv-a"), T0 + 1)
        ])
      ]),
      options
    )
    expect(routedIds(desired)).toEqual(["srv-z"])
    expect(quarantineOf(desired, "_web._tcp")[0]?.reason).toMatch(/^host web.example.com is already routed to service "web" \(id "srv-z"\) in namespace "apps", created earlier/)
  })

  it("an older non-canonical name keeps the route: age comes before name form", () => {
    const desired = plan(
      snapshot([
        namespace(hostNs("apps", "example.com"), [
          createdAt(service("web", [], "srv-1"), T0 + 1),
          createdAt(service("_WEB._tcp", [], "srv-2"), T0)
        ])
      ]),
      options
    )
    expect(routedIds(desired)).toEqual(["srv-2"])
    expect(quarantineOf(desired, "web")[0]?.reason).toMatch(/service "_WEB._tcp" .* created earlier/)
  })

  it("same CreateDate: the canonical name wins, then the lower service id", () => {
    const desired = plan(
      snapshot([
        namespace(hostNs("apps", "example.com"), [
          createdAt(service("_web._tcp", [], "srv-a"), T0),
          createdAt(service("Web", [], "srv-b"), T0),
          createdAt(service("web", [], "srv-z"), T0)
        ])
      ]),
      options
    )
    expect(routedIds(desired)).toEqual(["srv-z"])
    expect(quarantineOf(desired, "Web")[0]?.reason).toMatch(
      /service "web" \(id "srv-z"\) in namespace "apps", both created at 2025-01-01T00:00:00.000Z, and its name is in canonical form$/
    )
    // Neither canonical: the service id decides.
    const noCanonical = plan(
      snapshot([
        namespace(hostNs("apps", "example.com"), [
          createdAt(service("Web", [], "srv-b"), T0),
          createdAt(service("_web._tcp", [], "srv-a"), T0)
        ])
      ]),
      options
    )
    expect(routedIds(noCanonical)).toEqual(["srv-a"])
    expect(quarantineOf(noCanonical, "Web")[0]?.reason).toMatch(/both names in the same form, and its service id sorts first$/)
  })

  it("a service with no CreateDate ranks after every dated one; two undated ones fall back to name form and id", () => {
    const desired = plan(
      snapshot([
        namespace(hostNs("apps", "example.com"), [
          createdAt(service("web", [], "srv-0"), undefined),
          createdAt(service("WEB", [], "srv-9"), T0 + 60_000)
        ])
      ]),
      options
    )
    expect(routedIds(desired)).toEqual(["srv-9"])
    expect(quarantineOf(desired, "web")[0]?.reason).toMatch(/created earlier \(2025-01-01T00:01:00.000Z; this service has no creation date\)$/)

    const undated = plan(
      snapshot([namespace(hostNs("apps", "example.com"), [service("web", [], "srv-2"), service("web", [], "srv-1")])]),
      options
    )
    expect(routedIds(undated)).toEqual(["srv-1"])
    expect(undated.quarantined[0]?.reason).toMatch(/id "srv-1".*neither has a creation date, both names in the same form/)
  })

  it("across namespaces, the older service wins whatever the NAMESPACE_MAP order", () => {
    for (const order of [["zeta", "alpha"], ["alpha", "zeta"]]) {
      const byName = {
        zeta: namespace(hostNs("zeta", "example.com"), [createdAt(service("web", [], "srv-z"), T0 + 5)]),
        alpha: namespace(hostNs("alpha", "example.com"), [createdAt(service("web", [], "srv-a"), T0)])
      }
      const desired = plan(snapshot(order.map((n) => byName[n as "zeta" | "alpha"])), options)
      expect(desired.backends.map((b) => [b.namespace, b.serviceId])).toEqual([["alpha", "srv-a"]])
      expect(desired.quarantined.map((q) => [q.namespace, q.service])).toEqual([["zeta", "web"]])
    }
  })

  it("the same service mapped under one domain twice: NAMESPACE_MAP order is the last tie-break", () => {
    const svc = createdAt(service("web", [], "srv-web"), T0)
    const desired = plan(
      snapshot([namespace(pathNs("apps", "example.com"), [svc]), namespace(pathNs("apps", "Example.com"), [svc])]),
      options
    )
    expect(desired.backends).toHaveLength(1)
    expect(desired.quarantined[0]?.reason).toMatch(/the same service, and its NAMESPACE_MAP entry comes first$/)
  })

  it("path mode: same domain + segment from two namespaces conflicts", () => {
    const desired = plan(
      snapshot([
        namespace(pathNs("one", "example.com"), [service("web", [])]),
        namespace(pathNs("two", "example.com"), [service("web", [], "srv-web2"), service("api", [])])
      ]),
      options
    )
    expect(desired.pathRoutes.map((r) => r.segment)).toEqual(["api", "web"])
    expect(desired.backends.find((b) => b.service === "web")?.namespace).toBe("one")
    expect(quarantineOf(desired, "web")).toEqual([
      {
        namespace: "two",
        service: "web",
        reason: "path example.com/web is already routed to service \"web\" (id \"srv-web\") in namespace \"one\", " +
          "neither has a creation date, both names in the same form, and its service id sorts first"
      }
    ])
  })

  it("a newer host-mode host equal to a path-mode domain loses, whichever namespace is mapped first", () => {
    const paths = namespace(pathNs("b", "gw.a.test"), [
      createdAt(service("web", [], "srv-pw"), T0 + 10),
      createdAt(service("api", [], "srv-pa"), T0 + 20)
    ])
    const hosts = namespace(hostNs("a", "a.test"), [
      createdAt(service("shop", [], "srv-shop"), T0),
      createdAt(service("gw", [], "srv-gw"), T0 + 1_000)
    ])
    for (const order of [[hosts, paths], [paths, hosts]]) {
      const desired = plan(snapshot(order), options)
      expect(desired.hostRoutes.map((r) => r.host)).toEqual(["shop.a.test"])
      expect(desired.pathRoutes.map((r) => r.segment)).toEqual(["api", "web"])
      expect(quarantineOf(desired, "gw")).toEqual([{
        namespace: "a",
        service: "gw",
        // The domain's claim is its highest-ranked (oldest) path service's.
        reason: "host gw.a.test is already a path-mode domain, held by service \"web\" (id \"srv-pw\") in namespace \"b\", " +
          "created earlier (2025-01-01T00:00:00.010Z; this service 2025-01-01T00:00:01.000Z)"
      }])
    }
  })

  it("a newer path-mode domain equal to an older host-mode host loses all its routes, whichever is mapped first", () => {
    const hosts = namespace(hostNs("h", "example.com"), [createdAt(service("api", [], "srv-api"), T0)])
    const paths = namespace(pathNs("p", "api.example.com"), [
      createdAt(service("web", [], "srv-web"), T0 + 1),
      createdAt(service("shop", [], "srv-shop"), T0 + 2)
    ])
    for (const order of [[hosts, paths], [paths, hosts]]) {
      const desired = plan(snapshot(order), options)
      expect(desired.pathRoutes).toEqual([])
      expect(desired.hostRoutes.map((r) => r.host)).toEqual(["api.example.com"])
      expect(desired.quarantined.map((q) => [q.service, q.reason])).toEqual([
        ["shop", "domain api.example.com is already routed in host mode to service \"api\" (id \"srv-api\") in namespace \"h\", " +
          "created earlier (2025-01-01T00:00:00.000Z; this service 2025-01-01T00:00:00.002Z)"],
        ["web", "domain api.example.com is already routed in host mode to service \"api\" (id \"srv-api\") in namespace \"h\", " +
          "created earlier (2025-01-01T00:00:00.000Z; this service 2025-01-01T00:00:00.001Z)"]
      ])
    }
  })

  it("a quarantined service claims nothing: a valid sibling with the same route still wins", () => {
    const desired = plan(
      snapshot([
        namespace(pathNs("p", "example.com"), [
          createdAt(service("WEB", [], "srv-1"), T0 + 1),
          createdAt(service("web\n", [], "srv-0"), T0)
        ])
      ]),
      options
    )
    expect(desired.backends.map((b) => b.serviceId)).toEqual(["srv-1"])
    expect(quarantineOf(desired, "web\n")[0]?.reason).toMatch(/line break/)
  })

  it("an older service whose instances could not be read still holds its route (not quarantined, routes nothing)", () => {
    const desired = plan(
      snapshot([
        namespace(hostNs("apps", "example.com"), [
          createdAt(failedService("web", "srv-web"), T0),
          createdAt(service("Web", [instance("n1", "10.0.0.9", "80")], "srv-new"), T0 + 1)
        ])
      ]),
      options
    )
    expect(desired.backends).toEqual([])
    expect(desired.hostRoutes).toEqual([])
    expect(desired.quarantined).toEqual([{
      namespace: "apps",
      service: "Web",
      reason: "host web.example.com is already routed to service \"web\" (id \"srv-web\") in namespace \"apps\" " +
        "(its instances could not be read yet), created earlier (2025-01-01T00:00:00.000Z; this service 2025-01-01T00:00:00.001Z)"
    }])
  })
})

describe("plan: claim ranking does not depend on input order", () => {
  const services = [
    createdAt(service("web", [instance("w1", "10.0.0.1", "80")], "srv-web"), T0),
    createdAt(service("Web", [instance("n1", "10.0.0.2", "80")], "srv-0"), T0 + 7_000),
    createdAt(service("_web._tcp", [], "srv-1"), T0 + 9_000),
    createdAt(service("gw", [], "srv-gw"), T0 + 20_000),
    createdAt(service("api", [], "srv-api"), undefined),
    createdAt(service("API", [], "srv-API"), undefined)
  ]
  const paths = [
    createdAt(service("docs", [], "srv-docs"), T0 + 3),
    createdAt(service("DOCS", [], "srv-docs2"), T0 + 3),
    createdAt(service("shop", [], "srv-shop"), T0 + 4)
  ]
  const shuffle = <A>(xs: ReadonlyArray<A>, seed: number): Array<A> => {
    const out = [...xs]
    let state = seed
    for (let i = out.length - 1; i > 0; i--) {
      state = (state * 1103515245 + 12345) % 2147483648
      const j = state % (i + 1)
      ;[out[i], out[j]] = [out[j]!, out[i]!]
    }
    return out
  }

  it("shuffled namespaces and services give the same Desired", () => {
    const build = (seed: number) => {
      const nss = [
        namespace(hostNs("a", "a.test"), shuffle(services, seed)),
        namespace(pathNs("b", "gw.a.test"), shuffle(paths, seed + 1))
      ]
      return plan(snapshot(shuffle(nss, seed + 2)), options)
    }
    const reference = build(1)
    expect(reference.hostRoutes.map((r) => r.host)).toEqual(["api.a.test", "web.a.test"])
    expect(reference.pathRoutes.map((r) => r.segment)).toEqual(["docs", "shop"])
    expect(reference.backends.map((b) => b.serviceId)).toEqual(["srv-api", "srv-docs", "srv-shop", "srv-web"])
    expect(reference.quarantined.map((q) => q.service)).toEqual(["API", "Web", "_web._tcp", "gw", "DOCS"])
    for (let seed = 2; seed < 40; seed++) expect(JSON.stringify(build(seed))).toBe(JSON.stringify(reference))
  })
})
