/**
 * Which instance addresses the agent routes to, pure. A registered address is untrusted: one at
 * loopback reaches the agent's own endpoints (HAProxy is a loopback client), one at HAProxy's own
 * listen address makes a request loop, and link-local ones are the instance and task metadata
 * endpoints (169.254.169.254, 169.254.170.2). Those ranges are refused unless
 * ALLOW_INSTANCE_NETWORKS admits them; the agent's own endpoints (LISTEN_*, HEALTH_*) are refused
 * always. IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) addresses are judged as the
 * IPv4 address they carry.
 */
import { isIPv4, isIPv6 } from "node:net"
import { Result } from "effect"

/** An address as a number of its family (IPv4: 32 bits, IPv6: 128 bits). */
interface Bits {
  readonly family: 4 | 6
  readonly value: bigint
}

export interface Cidr {
  readonly family: 4 | 6
  readonly base: bigint
  readonly prefix: number
  /** As written in ALLOW_INSTANCE_NETWORKS (normalised), for reasons and docs. */
  readonly text: string
}

const v4Bits = (address: string): bigint =>
  address.split(".").reduce((n, octet) => (n << 8n) | BigInt(Number(octet)), 0n)

const v6Bits = (address: string): bigint => {
  let text = address.toLowerCase()
  // A trailing dotted IPv4 part (::ffff:1.2.3.4) as two groups.
  const dotted = /(?:^|:)(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (dotted !== null) {
    const v4 = v4Bits(dotted[1]!)
    text = text.slice(0, text.length - dotted[1]!.length) + `${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`
  }
  const [head = "", tail] = text.split("::")
  const groups = (part: string) => (part === "" ? [] : part.split(":"))
  const left = groups(head)
  const right = tail === undefined ? [] : groups(tail)
  const all = [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right]
  return all.reduce((n, group) => (n << 16n) | BigInt(parseInt(group, 16)), 0n)
}

const MAPPED_V4 = 0xffffn << 32n
const NAT64_PREFIX = 0x64ff9bn << 96n

/** The address as bits; an IPv6 address carrying an IPv4 one (mapped, NAT64) as that IPv4 one. */
const bitsOf = (address: string): Bits | undefined => {
  if (isIPv4(address)) return { family: 4, value: v4Bits(address) }
  if (!isIPv6(address)) return undefined
  const value = v6Bits(address)
  const high = value >> 32n
  if (high === MAPPED_V4 >> 32n || high === NAT64_PREFIX >> 32n) return { family: 4, value: value & 0xffffffffn }
  return { family: 6, value }
}

const width = (family: 4 | 6) => (family === 4 ? 32 : 128)

/** `a.b.c.d/n` or `x::y/n` (a bare address is a /32 or /128); host bits must be zero. */
export const parseCidr = (raw: string): Result.Result<Cidr, string> => {
  const [address = "", prefixText, ...rest] = raw.trim().split("/")
  const family = isIPv4(address) ? 4 : isIPv6(address) ? 6 : undefined
  if (family === undefined || rest.length > 0) return Result.fail(`${JSON.stringify(raw)} is not an IPv4 or IPv6 network such as 10.0.0.0/8 or fd00::/8`)
  const prefix = prefixText === undefined ? width(family) : /^[0-9]{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN
  if (!(prefix >= 0 && prefix <= width(family))) return Result.fail(`${JSON.stringify(raw)}: the prefix length must be 0-${width(family)}`)
  const base = family === 4 ? v4Bits(address) : v6Bits(address)
  const hostBits = BigInt(width(family) - prefix)
  if ((base & ((1n << hostBits) - 1n)) !== 0n) {
    return Result.fail(`${JSON.stringify(raw)} has bits set after the /${prefix} prefix (write the network's first address)`)
  }
  return Result.succeed({ family, base, prefix, text: `${address.toLowerCase()}/${prefix}` })
}

const cidr = (raw: string): Cidr => {
  const parsed = parseCidr(raw)
  if (Result.isFailure(parsed)) throw new Error(parsed.failure)
  return parsed.success
}

const contains = (network: Cidr, bits: Bits): boolean => {
  if (network.family !== bits.family) return false
  const shift = BigInt(width(network.family) - network.prefix)
  return (bits.value >> shift) === (network.base >> shift)
}

/** Ranges refused by default, each with what lives there. */
export const REFUSED_NETWORKS: ReadonlyArray<{ readonly network: Cidr; readonly what: string }> = [
  { network: cidr("0.0.0.0/8"), what: "unspecified (this host)" },
  { network: cidr("127.0.0.0/8"), what: "loopback (this host: the agent's own endpoints)" },
  { network: cidr("169.254.0.0/16"), what: "link-local (instance metadata 169.254.169.254, ECS task metadata 169.254.170.2)" },
  { network: cidr("224.0.0.0/4"), what: "multicast" },
  { network: cidr("240.0.0.0/4"), what: "reserved and broadcast" },
  { network: cidr("::/128"), what: "unspecified (this host)" },
  { network: cidr("::1/128"), what: "loopback (this host: the agent's own endpoints)" },
  { network: cidr("fe80::/10"), what: "link-local" },
  { network: cidr("ff00::/8"), what: "multicast" },
  { network: cidr("fd00:ec2::/32"), what: "AWS instance metadata and DNS over IPv6 (fd00:ec2::254)" }
]

/** The ranges through which any address of this host is reached, whatever it binds. */
const THIS_HOST: ReadonlyArray<Cidr> = [cidr("0.0.0.0/8"), cidr("127.0.0.0/8"), cidr("::/128"), cidr("::1/128")]

/** A port of the agent's own (HAProxy's LISTEN_PORT, the agent's HEALTH_PORT) and the addresses reaching it. */
export interface OwnEndpoint {
  /** The variables it comes from, for the reason. */
  readonly name: string
  readonly port: number
  readonly addresses: ReadonlyArray<Cidr>
}

export interface InstanceNetworks {
  /** ALLOW_INSTANCE_NETWORKS. */
  readonly allowed: ReadonlyArray<Cidr>
  readonly own: ReadonlyArray<OwnEndpoint>
}

/** Nothing allowed, no own endpoint known: every refused range refused. */
export const DEFAULT_INSTANCE_NETWORKS: InstanceNetworks = { allowed: [], own: [] }

const WILDCARDS: ReadonlySet<string> = new Set(["*", "0.0.0.0", "::", ""])

/**
 * The addresses that reach a port bound at `bindAddress`: this host's loopback and unspecified
 * addresses always, the bind address, and every address of the host's interfaces for a wildcard.
 */
export const ownEndpoint = (name: string, bindAddress: string, port: number, hostAddresses: ReadonlyArray<string>): OwnEndpoint => {
  const single = (address: string): ReadonlyArray<Cidr> => {
    const bits = bitsOf(address.replace(/%.*$/, ""))
    if (bits === undefined) return []
    return [{ family: bits.family, base: bits.value, prefix: width(bits.family), text: address }]
  }
  const addresses = WILDCARDS.has(bindAddress) ? hostAddresses.flatMap(single) : single(bindAddress)
  return { name, port, addresses: [...THIS_HOST, ...addresses] }
}

/** Why an instance at `address:port` must not be routed, or undefined. `address` is a valid IP. */
export const refusedInstance = (address: string, port: number, networks: InstanceNetworks): string | undefined => {
  const bits = bitsOf(address)
  if (bits === undefined) return undefined
  const own = networks.own.find((e) => e.port === port && e.addresses.some((a) => contains(a, bits)))
  if (own !== undefined) {
    return `address ${address}:${port} is the agent's own ${own.name}: routing to it would loop or expose the agent (refused even when ALLOW_INSTANCE_NETWORKS admits the address)`
  }
  const refused = REFUSED_NETWORKS.find((r) => contains(r.network, bits))
  if (refused === undefined || networks.allowed.some((a) => contains(a, bits))) return undefined
  return `address ${address} is in ${refused.network.text}, ${refused.what}: not routed unless ALLOW_INSTANCE_NETWORKS admits it`
}
