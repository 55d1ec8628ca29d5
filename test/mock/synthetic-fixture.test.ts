import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import { decodeFixtureResult, syntheticFixture } from "../../src/mock/fixture.ts"

describe("syntheticFixture attributes", () => {
  const base = { namespaces: 1, servicesPerNamespace: 2, instancesPerService: 2, basePort: 20000 }

  it("sets no service attributes and only address and port by default", () => {
    const services = syntheticFixture(base).namespaces[0]!.services!
    expect(services.map((s) => "attributes" in s)).toEqual([false, false])
    expect(services[0]!.instances![0]!.attributes).toEqual({ AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: "20000" })
  })

  it("puts serviceAttributes on every service and extraInstanceAttributes on every instance; address and port win", () => {
    const fixture = syntheticFixture({
      ...base,
      healthCheck: "none",
      serviceAttributes: { "haproxy.check": "http", "haproxy.balance": "leastconn" },
      extraInstanceAttributes: { "haproxy.weight": "10", AWS_INSTANCE_PORT: "1" }
    })
    const services = fixture.namespaces[0]!.services!
    for (const s of services) {
      expect(s.healthCheck).toBe("none")
      expect(s.attributes).toEqual({ "haproxy.check": "http", "haproxy.balance": "leastconn" })
      for (const i of s.instances!) expect(i.attributes["haproxy.weight"]).toBe("10")
    }
    expect(services[1]!.instances![1]!.attributes["AWS_INSTANCE_PORT"]).toBe("20003")
    expect(services[0]!.attributes).not.toBe(services[1]!.attributes)
    expect(Result.isSuccess(decodeFixtureResult(fixture))).toBe(true)
  })
})
