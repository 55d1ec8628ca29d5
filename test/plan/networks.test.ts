import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { instanceNetworksOf } from "../../src/config/instance-networks.ts"
import { type InstanceNetworks, ownEndpoint, parseCidr, refusedInstance } from "../../src/plan/networks.ts"

const cidr = (raw: string) => Result.getOrThrow(parseCidr(raw))
const none: InstanceNetworks = { allowed: [], own: [] }

describe("refusedInstance: ranges refused by default", () => {
  it.each([
    "127.0.0.1", "127.255.0.9", "0.0.0.0", "169.254.169.254", "169.254.170.2", "224.0.0.1", "239.1.2.3",
    "255.255.255.255", "240.0.0.1", "::1", "::", "fe80::1", "febf::1", "ff02::1", "fd00:ec2::254",
    "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::FFFF:7f00:1", "64:ff9b::a9fe:a9fe"
  ])("%s is refused with its range named", (address) => {
    expect(refusedInstance(address, 80, none)).toMatch(/^address .* is in .*: not routed unless ALLOW_INSTANCE_NETWORKS admits it$/)
  })
  it.each(["10.0.0.1", "172.16.5.4", "192.168.1.1", "100.64.0.1", "8.8.8.8", "169.253.255.255", "169.255.0.0", "fd00::1", "2600:1f18::1", "fec0::1", "::ffff:10.0.0.1"])(
    "%s is routed",
    (address) => expect(refusedInstance(address, 80, none)).toBeUndefined()
  )
  it("ALLOW_INSTANCE_NETWORKS admits exactly its ranges", () => {
    const allowed: InstanceNetworks = { allowed: [cidr("127.0.0.0/8"), cidr("fe80::/64")], own: [] }
    expect(refusedInstance("127.0.0.1", 80, allowed)).toBeUndefined()
    expect(refusedInstance("::ffff:127.0.0.1", 80, allowed)).toBeUndefined()
    expect(refusedInstance("fe80::1", 80, allowed)).toBeUndefined()
    expect(refusedInstance("fe80:0:0:1::1", 80, allowed)).toMatch(/fe80::\/10/)
    expect(refusedInstance("::1", 80, allowed)).toMatch(/::1\/128, loopback/)
    expect(refusedInstance("169.254.169.254", 80, allowed)).toMatch(/169\.254\.0\.0\/16, link-local/)
  })
})

describe("refusedInstance: the agent's own endpoints, even when allowed", () => {
  it("MONITORING_PORT, when set, is one of them", () => {
    const config = { allowInstanceNetworks: [cidr("127.0.0.0/8")], listenAddress: "127.0.0.1", listenPort: 8080, healthAddress: "127.0.0.1", healthPort: 3000 }
    expect(refusedInstance("127.0.0.1", 8404, instanceNetworksOf(config))).toBeUndefined()
    expect(refusedInstance("127.0.0.1", 8404, instanceNetworksOf({ ...config, monitoringPort: 8404 })))
      .toMatch(/is the agent's own LISTEN_ADDRESS:MONITORING_PORT \(HAProxy's \/stats and \/metrics\)/)
  })

  const allowAll = [cidr("0.0.0.0/0"), cidr("::/0")]
  it("a specific bind: its address and this host's loopback, at its port only", () => {
    const networks: InstanceNetworks = { allowed: allowAll, own: [ownEndpoint("HEALTH_ADDRESS:HEALTH_PORT", "127.0.0.1", 3000, [])] }
    expect(refusedInstance("127.0.0.1", 3000, networks)).toMatch(/is the agent's own HEALTH_ADDRESS:HEALTH_PORT/)
    expect(refusedInstance("127.0.0.2", 3000, networks)).toMatch(/own/)
    expect(refusedInstance("::ffff:127.0.0.1", 3000, networks)).toMatch(/own/)
    expect(refusedInstance("0.0.0.0", 3000, networks)).toMatch(/own/)
    expect(refusedInstance("127.0.0.1", 3001, networks)).toBeUndefined()
    expect(refusedInstance("10.0.0.5", 3000, networks)).toBeUndefined()
  })
  it("a wildcard bind: every address of this host's interfaces too", () => {
    const own = [ownEndpoint("LISTEN_ADDRESS:LISTEN_PORT (HAProxy)", "*", 8080, ["10.0.1.20", "fe80::1%eth0", "2600:1f18::20"])]
    const networks: InstanceNetworks = { allowed: allowAll, own }
    expect(refusedInstance("10.0.1.20", 8080, networks)).toMatch(/own LISTEN_ADDRESS:LISTEN_PORT/)
    expect(refusedInstance("2600:1f18::20", 8080, networks)).toMatch(/own/)
    expect(refusedInstance("fe80::1", 8080, networks)).toMatch(/own/)
    expect(refusedInstance("10.0.1.21", 8080, networks)).toBeUndefined()
  })
})

describe("parseCidr", () => {
  it("reads networks and bare addresses", () => {
    expect(cidr("10.0.0.0/8").text).toBe("10.0.0.0/8")
    expect(cidr("10.1.2.3").prefix).toBe(32)
    expect(cidr("FD00::/8").text).toBe("fd00::/8")
  })
  it.each(["10.0.0.1/8", "10.0.0.0/33", "::/129", "example.com/8", "10.0.0.0/8/1", "10.0.0.0/x", ""])("refuses %j", (raw) => {
    expect(Result.isFailure(parseCidr(raw))).toBe(true)
  })
})
