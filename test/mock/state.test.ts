import { readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import { decideFaults, makeFaultRule } from "../../src/mock/faults.ts"
import { decodeFixtureResult, decodeFixtureSync, demoFixture, type Fixture, syntheticFixture } from "../../src/mock/fixture.ts"
import type { CloudMapError } from "../../src/mock/cloudmap-error.ts"
import { runOperation } from "../../src/mock/dispatch.ts"
import { initialState } from "../../src/mock/initial-state.ts"
import { type MockState, namespaceIdFor, serviceIdFor } from "../../src/mock/state-model.ts"

const seeded = (seed: number) => {
  let a = seed
  return () => {
    a = (a * 1103515245 + 12345) % 2147483648
    return a / 2147483648
  }
}
const ctx = { now: 1_700_000_000_000, random: seeded(7) }

/** Runs an operation that must succeed; returns [newState, output]. */
const ok = (state: MockState, op: string, input: Record<string, unknown>): [MockState, any] => {
  const r = runOperation(state, op, input, ctx)
  if (Result.isFailure(r)) throw new Error(`${op} failed: ${r.failure.code} ${r.failure.message}`)
  return [r.success.state, r.success.output]
}
const err = (state: MockState, op: string, input: Record<string, unknown>): CloudMapError => {
  const r = runOperation(state, op, input, ctx)
  if (Result.isSuccess(r)) throw new Error(`${op} unexpectedly succeeded`)
  return r.failure
}

const twoServices: Fixture = {
  namespaces: [{
    name: "apps",
    services: [
      {
        name: "web",
        instances: [
          { id: "w1", attributes: { AWS_INSTANCE_IPV4: "10.0.0.1", AWS_INSTANCE_PORT: "80", stage: "prod", az: "a" } },
          { id: "w2", attributes: { AWS_INSTANCE_IPV4: "10.0.0.2", AWS_INSTANCE_PORT: "80", stage: "prod", az: "b" } },
          { id: "w3", attributes: { AWS_INSTANCE_IPV4: "10.0.0.3", AWS_INSTANCE_PORT: "80", stage: "beta", az: "a" } }
        ]
      },
      {
        name: "plain",
        healthCheck: "none",
        instances: [{ id: "p1", attributes: { AWS_INSTANCE_IPV4: "10.0.1.1" }, health: "UNHEALTHY" }]
      }
    ]
  }]
}
const webId = serviceIdFor(namespaceIdFor("apps"), "web")
const plainId = serviceIdFor(namespaceIdFor("apps"), "plain")
const discover = (state: MockState, extra: Record<string, unknown> = {}) =>
  ok(state, "DiscoverInstances", { NamespaceName: "apps", ServiceName: "web", ...extra })[1]
const ids = (out: any): Array<string> => out.Instances.map((i: any) => i.InstanceId).sort()

describe("fixture", () => {
  it("the built-in demo fixture is fixtures/demo.json", () => {
    const file = JSON.parse(readFileSync(new URL("../../fixtures/demo.json", import.meta.url), "utf8"))
    expect(decodeFixtureSync(file, "fixtures/demo.json")).toEqual(demoFixture)
    expect(demoFixture.namespaces[0]!.services!.map((s) => s.name)).toEqual(["web", "api", "_admin._tcp", "shop"])
  })

  it("names the path of every schema problem and rejects unknown keys", () => {
    const r = decodeFixtureResult({
      namespaces: [{ name: "apps", services: [{ name: "we b", instances: [{ id: "x", attributes: { A: 1 } }] }, { name: "api", healtCheck: "none" }] }]
    }, "bad.json")
    expect(Result.isFailure(r)).toBe(true)
    const message = Result.isFailure(r) ? r.failure.message : ""
    expect(message).toContain("bad.json")
    expect(message).toContain(`at ["namespaces"][0]["services"][0]["name"]`)
    expect(message).toContain(`at ["namespaces"][0]["services"][0]["instances"][0]["attributes"]["A"]`)
    expect(message).toContain(`at ["namespaces"][0]["services"][1]["healtCheck"]`)
  })

  it("rejects duplicates and attributes Cloud Map would refuse", () => {
    const r = decodeFixtureResult({
      namespaces: [
        { name: "apps", services: [{ name: "web" }, { name: "web" }] },
        { name: "other", httpName: "apps" },
        { name: "x", services: [{ name: "s", instances: [{ id: "a", attributes: { AWS_INIT_HEALTH_STATUS: "MAYBE" } }, { id: "a", attributes: { k: " leading-space" } }] }] }
      ]
    })
    const message = Result.isFailure(r) ? r.failure.message : ""
    expect(message).toContain(`namespaces[0].services[1].name: duplicate service name "web"`)
    expect(message).toContain(`namespaces[1].httpName: duplicate HttpName "apps"`)
    expect(message).toContain("namespaces[2].services[0].instances[0].attributes: AWS_INIT_HEALTH_STATUS must be HEALTHY or UNHEALTHY")
    expect(message).toContain(`namespaces[2].services[0].instances[1].id: duplicate instance id "a"`)
    expect(message).toContain("namespaces[2].services[0].instances[1].attributes: attribute k has an invalid value")
  })

  it("generates deterministic ids and synthetic fixtures", () => {
    const a = initialState(syntheticFixture({ namespaces: 2, servicesPerNamespace: 3, instancesPerService: 2, basePort: 30000 }), ctx)
    const b = initialState(syntheticFixture({ namespaces: 2, servicesPerNamespace: 3, instancesPerService: 2, basePort: 30000 }), ctx)
    expect([...a.services.keys()]).toEqual([...b.services.keys()])
    expect([...a.namespaces.keys()]).toEqual([namespaceIdFor("ns0"), namespaceIdFor("ns1")])
    expect(namespaceIdFor("ns0")).toMatch(/^ns-[a-z0-9]{16}$/)
    expect(a.services.size).toBe(6)
    const ports = [...a.services.values()].flatMap((s) => [...s.instances.values()].map((i) => Number(i.attributes["AWS_INSTANCE_PORT"])))
    expect(ports).toEqual([...Array(12).keys()].map((i) => 30000 + i))
    expect(() => syntheticFixture({ namespaces: 1, servicesPerNamespace: 10, instancesPerService: 10, basePort: 65500 })).toThrow(RangeError)
    expect(syntheticFixture({ namespaces: 1, servicesPerNamespace: 1, instancesPerService: 1, basePort: 1 }).namespaces[0]!.name).toBe("apps")
  })
})

describe("InstancesRevision", () => {
  it("is bumped by register (new or changed) and deregister, not by health or identical re-registration", () => {
    let s = initialState(twoServices, ctx)
    const rev = () => ok(s, "DiscoverInstancesRevision", { NamespaceName: "apps", ServiceName: "web" })[1].InstancesRevision as number
    const r0 = rev()
    ;[s] = ok(s, "RegisterInstance", { ServiceId: webId, InstanceId: "w4", Attributes: { AWS_INSTANCE_IPV4: "10.0.0.4" } })
    const r1 = rev()
    expect(r1).toBeGreaterThan(r0)
    ;[s] = ok(s, "RegisterInstance", { ServiceId: webId, InstanceId: "w4", Attributes: { AWS_INSTANCE_IPV4: "10.0.0.4" } })
    expect(rev()).toBe(r1)
    ;[s] = ok(s, "UpdateInstanceCustomHealthStatus", { ServiceId: webId, InstanceId: "w4", Status: "UNHEALTHY" })
    expect(rev()).toBe(r1)
    ;[s] = ok(s, "RegisterInstance", { ServiceId: webId, InstanceId: "w4", Attributes: { AWS_INSTANCE_IPV4: "10.0.0.5" } })
    const r2 = rev()
    expect(r2).toBeGreaterThan(r1)
    // Re-registration keeps the current health.
    expect(ok(s, "GetInstancesHealthStatus", { ServiceId: webId, Instances: ["w4"] })[1].Status).toEqual({ w4: "UNHEALTHY" })
    ;[s] = ok(s, "DeregisterInstance", { ServiceId: webId, InstanceId: "w4" })
    expect(rev()).toBeGreaterThan(r2)
    expect(err(s, "DeregisterInstance", { ServiceId: webId, InstanceId: "w4" }).code).toBe("InstanceNotFound")
    // Other services keep their revision.
    expect(ok(s, "DiscoverInstancesRevision", { NamespaceName: "apps", ServiceName: "plain" })[1].InstancesRevision).toBe(r0)
  })

  it("never goes back across a reset to the fixture", () => {
    let s = initialState(twoServices, ctx)
    ;[s] = ok(s, "DeregisterInstance", { ServiceId: webId, InstanceId: "w1" })
    const before = s.services.get(webId)!.revision
    const reset = initialState(twoServices, { ...ctx, revisionBase: s.revisionClock })
    expect(reset.services.get(webId)!.instances.size).toBe(3)
    expect(reset.services.get(webId)!.revision).toBeGreaterThan(before)
  })
})

describe("DiscoverInstances", () => {
  it("honours AWS_INIT_HEALTH_STATUS and the HealthStatus filters", () => {
    let s = initialState(twoServices, ctx)
    ;[s] = ok(s, "RegisterInstance", { ServiceId: webId, InstanceId: "w4", Attributes: { AWS_INIT_HEALTH_STATUS: "UNHEALTHY" } })
    expect(ids(discover(s))).toEqual(["w1", "w2", "w3"]) // default HEALTHY
    expect(ids(discover(s, { HealthStatus: "UNHEALTHY" }))).toEqual(["w4"])
    expect(ids(discover(s, { HealthStatus: "ALL" }))).toEqual(["w1", "w2", "w3", "w4"])
    expect(ids(discover(s, { HealthStatus: "HEALTHY_OR_ELSE_ALL" }))).toEqual(["w1", "w2", "w3"])
    for (const id of ["w1", "w2", "w3"]) {
      ;[s] = ok(s, "UpdateInstanceCustomHealthStatus", { ServiceId: webId, InstanceId: id, Status: "UNHEALTHY" })
    }
    expect(ids(discover(s, { HealthStatus: "HEALTHY" }))).toEqual([])
    expect(ids(discover(s, { HealthStatus: "HEALTHY_OR_ELSE_ALL" }))).toEqual(["w1", "w2", "w3", "w4"])
    expect(err(s, "DiscoverInstances", { NamespaceName: "apps", ServiceName: "web", HealthStatus: "SICK" }).code).toBe("InvalidInput")
  })

  it("ignores HealthStatus for services without a health check and reports UNKNOWN", () => {
    const s = initialState(twoServices, ctx)
    const out = ok(s, "DiscoverInstances", { NamespaceName: "apps", ServiceName: "plain", HealthStatus: "HEALTHY" })[1]
    expect(out.Instances).toEqual([{ InstanceId: "p1", NamespaceName: "apps", ServiceName: "plain", HealthStatus: "UNKNOWN", Attributes: { AWS_INSTANCE_IPV4: "10.0.1.1" } }])
    expect(err(s, "UpdateInstanceCustomHealthStatus", { ServiceId: plainId, InstanceId: "p1", Status: "HEALTHY" }).code).toBe("CustomHealthNotFound")
  })

  it("filters with QueryParameters and prefers OptionalParameters matches", () => {
    const s = initialState(twoServices, ctx)
    expect(ids(discover(s, { QueryParameters: { stage: "prod" } }))).toEqual(["w1", "w2"])
    expect(ids(discover(s, { QueryParameters: { stage: "prod", az: "b" } }))).toEqual(["w2"])
    expect(ids(discover(s, { QueryParameters: { stage: "prod" }, OptionalParameters: { az: "a" } }))).toEqual(["w1"])
    expect(ids(discover(s, { QueryParameters: { stage: "prod" }, OptionalParameters: { az: "z" } }))).toEqual(["w1", "w2"])
    expect(ids(discover(s, { QueryParameters: { stage: "qa" } }))).toEqual([])
  })

  it("returns a random subset of MaxResults, reproducible with the same random source", () => {
    const s = initialState(syntheticFixture({ namespaces: 1, servicesPerNamespace: 1, instancesPerService: 50, basePort: 20000 }), ctx)
    const order = (seed: number, max?: number) => {
      const r = runOperation(s, "DiscoverInstances", { NamespaceName: "apps", ServiceName: "svc0", ...(max === undefined ? {} : { MaxResults: max }) }, { now: 0, random: seeded(seed) })
      return Result.isSuccess(r) ? (r.success.output["Instances"] as Array<any>).map((i) => i.InstanceId as string) : []
    }
    const a = order(1)
    expect(a).toEqual(order(1))
    expect(a).not.toEqual(order(2))
    expect([...a].sort()).toEqual([...Array(50).keys()].map((i) => `svc0-${i}`).sort())
    expect(a).not.toEqual([...Array(50).keys()].map((i) => `svc0-${i}`))
    const five = order(3, 5)
    expect(five).toHaveLength(5)
    expect(new Set(five).size).toBe(5)
  })

  it("accepts a namespace ARN and rejects unknown names with the modeled errors", () => {
    const s = initialState(twoServices, ctx)
    const arn = s.namespaces.get(namespaceIdFor("apps"))!.arn
    expect(ok(s, "DiscoverInstances", { NamespaceName: arn, ServiceName: "web" })[1].Instances).toHaveLength(3)
    expect(err(s, "DiscoverInstances", { NamespaceName: "nope", ServiceName: "web" }).code).toBe("NamespaceNotFound")
    expect(err(s, "DiscoverInstances", { NamespaceName: "apps", ServiceName: "nope" }).code).toBe("ServiceNotFound")
    expect(err(s, "DiscoverInstances", { NamespaceName: "apps" }).code).toBe("InvalidInput")
    expect(err(s, "DiscoverInstances", { NamespaceName: "apps", ServiceName: "web", MaxResults: 1001 }).code).toBe("InvalidInput")
  })
})

describe("pagination", () => {
  const many: Fixture = {
    emptyPages: true,
    namespaces: [...Array(7).keys()].map((i) => ({ name: i === 6 ? "target" : `n${i}` }))
  }

  it("filtered ListNamespaces can return empty pages with a token (emptyPages)", () => {
    const s = initialState(many, ctx)
    const pages: Array<{ names: Array<string>; token: boolean }> = []
    let token: string | undefined
    do {
      const [, out] = ok(s, "ListNamespaces", { MaxResults: 3, Filters: [{ Name: "NAME", Values: ["target"], Condition: "EQ" }], ...(token ? { NextToken: token } : {}) })
      pages.push({ names: out.Namespaces.map((n: any) => n.Name), token: out.NextToken !== undefined })
      token = out.NextToken
    } while (token !== undefined)
    expect(pages).toEqual([{ names: [], token: true }, { names: [], token: true }, { names: ["target"], token: false }])
  })

  it("without emptyPages, pages are filled and the last page has no token", () => {
    const s = initialState({ ...many, emptyPages: false }, ctx)
    const [, out] = ok(s, "ListNamespaces", { MaxResults: 3, Filters: [{ Name: "NAME", Values: ["n"], Condition: "BEGINS_WITH" }] })
    expect(out.Namespaces.map((n: any) => n.Name)).toEqual(["n0", "n1", "n2"])
    const [, out2] = ok(s, "ListNamespaces", { MaxResults: 3, NextToken: out.NextToken, Filters: [{ Name: "NAME", Values: ["n"], Condition: "BEGINS_WITH" }] })
    expect(out2.Namespaces.map((n: any) => n.Name)).toEqual(["n3", "n4", "n5"])
    expect(out2.NextToken).toBeUndefined()
  })

  it("rejects tokens that are not ours or belong to other parameters, and bad MaxResults", () => {
    const s = initialState(many, ctx)
    const [, out] = ok(s, "ListNamespaces", { MaxResults: 2 })
    expect(typeof out.NextToken).toBe("string")
    expect(out.NextToken).not.toMatch(/^\d+$/)
    expect(err(s, "ListNamespaces", { NextToken: "2" }).code).toBe("InvalidInput")
    expect(err(s, "ListServices", { NextToken: out.NextToken }).code).toBe("InvalidInput")
    expect(err(s, "ListNamespaces", { MaxResults: 101 }).message).toContain("less than or equal to 100")
    expect(err(s, "ListNamespaces", { MaxResults: 0 }).code).toBe("InvalidInput")
    expect(err(s, "ListNamespaces", { Filters: [{ Name: "COLOR", Values: ["x"] }] }).code).toBe("InvalidInput")
  })

  it("ListInstances pagination does not skip instances when one is deregistered between pages", () => {
    let s = initialState(syntheticFixture({ namespaces: 1, servicesPerNamespace: 1, instancesPerService: 10, basePort: 20000 }), ctx)
    const svc = serviceIdFor(namespaceIdFor("apps"), "svc0")
    const [, p1] = ok(s, "ListInstances", { ServiceId: svc, MaxResults: 4 })
    expect(p1.Instances.map((i: any) => i.Id)).toEqual(["svc0-0", "svc0-1", "svc0-2", "svc0-3"])
    ;[s] = ok(s, "DeregisterInstance", { ServiceId: svc, InstanceId: "svc0-1" })
    const [, p2] = ok(s, "ListInstances", { ServiceId: svc, MaxResults: 4, NextToken: p1.NextToken })
    expect(p2.Instances.map((i: any) => i.Id)).toEqual(["svc0-4", "svc0-5", "svc0-6", "svc0-7"])
  })
})

describe("writes", () => {
  it("creates namespaces and services, with the modeled conflicts", () => {
    let s = initialState(twoServices, ctx)
    let out: any
    ;[s, out] = ok(s, "CreateHttpNamespace", { Name: "shop" })
    expect(out.OperationId).toMatch(/^op-/)
    const op = ok(s, "GetOperation", { OperationId: out.OperationId })[1].Operation
    expect(op).toMatchObject({ Status: "SUCCESS", Type: "CREATE_NAMESPACE", Targets: { NAMESPACE: namespaceIdFor("shop") } })
    expect(err(s, "CreateHttpNamespace", { Name: "shop" })).toMatchObject({ code: "NamespaceAlreadyExists", fields: { NamespaceId: namespaceIdFor("shop") } })
    ;[s, out] = ok(s, "CreateService", { Name: "cart", NamespaceId: namespaceIdFor("shop"), HealthCheckCustomConfig: {} })
    expect(out.Service).toMatchObject({ Name: "cart", NamespaceId: namespaceIdFor("shop"), HealthCheckCustomConfig: { FailureThreshold: 1 }, InstanceCount: 0 })
    expect(err(s, "CreateService", { Name: "cart", NamespaceId: namespaceIdFor("shop") }).code).toBe("ServiceAlreadyExists")
    expect(err(s, "CreateService", { Name: "x", NamespaceId: "ns-nope" }).code).toBe("NamespaceNotFound")
    expect(err(s, "CreateService", { Name: "bad name", NamespaceId: namespaceIdFor("shop") }).code).toBe("InvalidInput")
    expect(ok(s, "GetNamespace", { Id: namespaceIdFor("shop") })[1].Namespace.ServiceCount).toBe(1)
  })

  it("validates RegisterInstance input", () => {
    const s = initialState(twoServices, ctx)
    expect(err(s, "RegisterInstance", { ServiceId: webId, InstanceId: "bad id", Attributes: {} }).code).toBe("InvalidInput")
    expect(err(s, "RegisterInstance", { ServiceId: webId, InstanceId: "ok" }).code).toBe("InvalidInput")
    expect(err(s, "RegisterInstance", { ServiceId: "srv-nope", InstanceId: "ok", Attributes: {} }).code).toBe("ServiceNotFound")
    const tooMany = Object.fromEntries([...Array(31).keys()].map((i) => [`k${i}`, "v"]))
    expect(err(s, "RegisterInstance", { ServiceId: webId, InstanceId: "ok", Attributes: tooMany }).message).toContain("30 custom attributes")
    expect(err(s, "NoSuchOperation", {}).code).toBe("UnknownOperationException")
  })

  it("refuses the 1001st instance of a service", () => {
    let s = initialState(syntheticFixture({ namespaces: 1, servicesPerNamespace: 1, instancesPerService: 1000, basePort: 10000 }), ctx)
    const svc = serviceIdFor(namespaceIdFor("apps"), "svc0")
    expect(err(s, "RegisterInstance", { ServiceId: svc, InstanceId: "extra", Attributes: {} }).code).toBe("ResourceLimitExceeded")
    ;[s] = ok(s, "RegisterInstance", { ServiceId: svc, InstanceId: "svc0-5", Attributes: { changed: "yes" } })
    expect(s.services.get(svc)!.instances.size).toBe(1000)
  })

  it("merges and deletes service attributes", () => {
    let s = initialState(twoServices, ctx)
    ;[s] = ok(s, "UpdateServiceAttributes", { ServiceId: webId, Attributes: { team: "edge", tier: "1" } })
    ;[s] = ok(s, "UpdateServiceAttributes", { ServiceId: webId, Attributes: { tier: "2" } })
    expect(ok(s, "GetServiceAttributes", { ServiceId: webId })[1].ServiceAttributes.Attributes).toEqual({ team: "edge", tier: "2" })
    ;[s] = ok(s, "DeleteServiceAttributes", { ServiceId: webId, Attributes: ["team"] })
    expect(ok(s, "GetServiceAttributes", { ServiceId: webId })[1].ServiceAttributes.Attributes).toEqual({ tier: "2" })
    const full = Object.fromEntries([...Array(30).keys()].map((i) => [`k${i}`, "v"]))
    expect(err(s, "UpdateServiceAttributes", { ServiceId: webId, Attributes: full }).code).toBe("ServiceAttributesLimitExceededException")
  })
})

describe("request input (decoded with Schema)", () => {
  it("answers a bad input with InvalidInput (400) naming every member that is wrong", () => {
    const s = initialState(twoServices, ctx)
    const missing = err(s, "DiscoverInstances", { MaxResults: 1001, HealthStatus: "SICK" })
    expect(missing).toMatchObject({ code: "InvalidInput", status: 400 })
    expect(missing.message).toContain("4 validation errors detected")
    expect(missing.message).toContain("NamespaceName is required")
    expect(missing.message).toContain("ServiceName is required")
    expect(missing.message).toContain("MaxResults must have value less than or equal to 1000, got 1001")
    expect(missing.message).toContain("HealthStatus must be HEALTHY, UNHEALTHY, ALL or HEALTHY_OR_ELSE_ALL")
    const badTypes = err(s, "RegisterInstance", { ServiceId: webId, InstanceId: "", Attributes: { port: 80 } })
    expect(badTypes).toMatchObject({ code: "InvalidInput", status: 400 })
    expect(badTypes.message).toContain("InstanceId must be 1-64 characters")
    expect(badTypes.message).toContain("Attributes.port: Expected string")
  })

  it("checks filters and service attributes member by member", () => {
    const s = initialState(twoServices, ctx)
    const filters = err(s, "ListNamespaces", {
      Filters: [
        { Name: "NAME", Values: ["a", "b"] },
        { Name: "TYPE", Values: ["CLOUD"], Condition: "IN" },
        { Name: "HTTP_NAME", Values: ["x"], Condition: "BETWEEN" }
      ]
    })
    expect(filters.code).toBe("InvalidInput")
    expect(filters.message).toContain("Filters[0]: Condition EQ takes exactly one value")
    expect(filters.message).toContain("Filters[1]: Invalid TYPE value: CLOUD")
    expect(filters.message).toContain("Filters[2]: Condition BETWEEN is not supported for filter HTTP_NAME")
    expect(err(s, "ListServices", { Filters: [{ Name: "NAME", Values: ["web"] }] }).message)
      .toContain("Filters[0].Name must be one of NAMESPACE_ID, RESOURCE_OWNER")
    expect(err(s, "UpdateServiceAttributes", { ServiceId: webId, Attributes: {} }).message).toContain("Attributes must not be empty")
    expect(err(s, "DeleteServiceAttributes", { ServiceId: webId }).message).toContain("Attributes is required")
    expect(err(s, "UpdateInstanceCustomHealthStatus", { ServiceId: webId, InstanceId: "w1", Status: "SICK" }).message)
      .toContain("Status must be HEALTHY or UNHEALTHY")
  })

  it("treats null members as absent and ignores unknown members, as Cloud Map does", () => {
    const s = initialState(twoServices, ctx)
    const [, out] = ok(s, "ListNamespaces", { MaxResults: null, NextToken: null, Filters: null, Unknown: 1 })
    expect(out.Namespaces.map((n: any) => n.Name)).toEqual(["apps"])
    expect(ids(discover(s, { HealthStatus: null, QueryParameters: null }))).toEqual(["w1", "w2", "w3"])
    expect(err(s, "GetService", { Id: null }).message).toContain("Id is required")
  })
})

describe("fault rules", () => {
  const rng = seeded(11)

  it("fire for the next N matching calls, scoped by operation and service", () => {
    let rules = [makeFaultRule({ kind: "throttle", operation: "DiscoverInstances", service: "web", times: 2 }, "f1")]
    const outcomes: Array<string> = []
    for (const call of [
      { operation: "DiscoverInstances", service: "api" },
      { operation: "ListServices", service: undefined },
      { operation: "DiscoverInstances", service: "web" },
      { operation: "DiscoverInstances", service: "web" },
      { operation: "DiscoverInstances", service: "web" }
    ]) {
      const r = decideFaults(rules, call, rng)
      rules = [...r.rules]
      outcomes.push(r.decision.fault?.kind ?? "none")
    }
    expect(outcomes).toEqual(["none", "none", "throttle", "throttle", "none"])
    expect(rules).toEqual([])
  })

  it("combine latency with the first other matching rule; probability is respected", () => {
    const rules = [
      makeFaultRule({ kind: "latency", latencyMs: 50 }, "a"),
      makeFaultRule({ kind: "5xx", status: 503 }, "b"),
      makeFaultRule({ kind: "accessDenied" }, "c"),
      makeFaultRule({ kind: "latency", latencyMs: 80, operation: "*" }, "d")
    ]
    const r = decideFaults(rules, { operation: "GetService", service: "web" }, rng)
    expect(r.decision.latencyMs).toBe(80)
    expect(r.decision.fault).toMatchObject({ id: "b", status: 503, code: "InternalFailure" })
    let half = [makeFaultRule({ kind: "5xx", probability: 0.5 }, "p")]
    let fired = 0
    for (let i = 0; i < 200; i++) {
      const d = decideFaults(half, { operation: "ListServices", service: undefined }, Math.random)
      half = [...d.rules]
      if (d.decision.fault !== undefined) fired++
    }
    expect(fired).toBeGreaterThan(60)
    expect(fired).toBeLessThan(140)
    expect(half[0]!.fired).toBe(fired)
  })
})
