import { describe, expect, it } from "vitest"
import { Result } from "effect"
import {
  checkIdentifier,
  checkInstanceId,
  checkIpv4,
  checkIpv6,
  normaliseHostname,
  normaliseServiceName,
  parsePort,
  quote
} from "../../src/model/grammar.ts"
import { hostBackendName, pathBackendName, serverNameForInstance } from "../../src/model/names.ts"

const value = <A>(checked: Result.Result<A, string>): A => {
  if (Result.isFailure(checked)) throw new Error(`expected a success, got a failure: ${checked.failure}`)
  return checked.success
}
const reason = <A>(checked: Result.Result<A, string>): string => {
  if (Result.isSuccess(checked)) throw new Error(`expected a failure, got ${JSON.stringify(checked.success)}`)
  return checked.failure
}

describe("normaliseHostname", () => {
  it.each([
    ["web.example.com", "web.example.com"],
    ["WEB.Example.COM", "web.example.com"],
    ["web.example.com.", "web.example.com"],
    ["xn--bcher-kva.example", "xn--bcher-kva.example"],
    ["a-b.c0.example", "a-b.c0.example"],
    ["localhost", "localhost"]
  ])("accepts %j as %j", (raw, expected) => {
    expect(value(normaliseHostname(raw))).toBe(expected)
  })

  it.each([
    ["", /empty/],
    [".", /empty/],
    ["web.example.com..", /empty label/],
    ["web..example.com", /empty label/],
    ["-web.example.com", /starting or ending with '-'/],
    ["web-.example.com", /starting or ending with '-'/],
    ["web_1.example.com", /'_'/],
    ["web example.com", /a space/],
    ["web\texample.com", /a tab/],
    ["web\nexample.com", /a line break/],
    ["web\r.example.com", /a line break/],
    ["web\u0000.example.com", /control character \(U\+0000\)/],
    ["web#.example.com", /'#'/],
    ["web\".example.com", /quote/],
    ["web'.example.com", /quote/],
    ["web\\.example.com", /escape/],
    ["web$.example.com", /environment variable/],
    ["web;.example.com", /runtime API/],
    ["web%.example.com", /log-format/],
    ["wéb.example.com", /non-ASCII character \(U\+00E9/],
    ["ｗｅｂ.example.com", /non-ASCII character \(U\+FF57/],
    ["\u212Aelvin.example.com", /U\+212A/], // KELVIN SIGN lowercases to ASCII "k"
    ["web\u00a0.example.com", /non-ASCII whitespace/],
    ["*.example.com", /the character '\*'/],
    [`${"a".repeat(64)}.example.com`, /label of 64 characters/],
    [`${"a.".repeat(126)}ab`, /254 characters long/]
  ])("rejects %j (%s)", (raw, expected) => {
    expect(reason(normaliseHostname(raw))).toMatch(expected)
  })

  it("accepts exactly 253 characters and a 63-character label", () => {
    const host = `${"a".repeat(63)}.${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(61)}`
    expect(host.length).toBe(253)
    expect(value(normaliseHostname(host))).toBe(host)
    expect(value(normaliseHostname(`${host}.`))).toBe(host)
  })
})

describe("normaliseServiceName", () => {
  it.each([
    ["web", "web"],
    ["WEB", "web"],
    ["_web._tcp", "web"],
    ["_Web._TCP", "web"],
    ["api-v2", "api-v2"],
    ["9lives", "9lives"]
  ])("normalises %j to %j", (raw, expected) => {
    expect(value(normaliseServiceName(raw))).toBe(expected)
  })

  it.each([
    ["", /empty/],
    ["_web", /SRV-style/],
    ["_web._udp", /SRV-style/],
    ["web.v2", /single DNS label/],
    ["_web.v2._tcp", /SRV-style/],
    ["web_v2", /'_'/],
    ["__web._tcp", /'_'/],
    ["_._tcp", /empty label/],
    ["-web", /'-'/],
    ["web\nlisten pwn", /line break/],
    ["wéb", /non-ASCII/],
    ["a".repeat(64), /64 characters/]
  ])("rejects %j (%s)", (raw, expected) => {
    expect(reason(normaliseServiceName(raw))).toMatch(expected)
  })
})

describe("parsePort (plain decimal 1-65535)", () => {
  it.each([["1", 1], ["80", 80], ["8080", 8080], ["65535", 65535]])("accepts %j", (raw, expected) => {
    expect(value(parsePort(raw))).toBe(expected)
  })

  it.each([
    ["", /empty/],
    ["0", /out of range/],
    ["00", /out of range/],
    ["65536", /out of range/],
    ["99999999999999999999", /out of range/],
    ["080", /leading zero/],
    ["-1", /'-'/],
    ["+80", /'\+'/],
    ["80 ", /a space/],
    [" 80", /a space/],
    ["80\nbackup", /line break/],
    ["0x50", /'x'/],
    ["8O", /'O'/],
    ["8e1", /'e'/],
    ["80.0", /'\.'/],
    ["８０", /non-ASCII/]
  ])("rejects %j (%s)", (raw, expected) => {
    expect(reason(parsePort(raw))).toMatch(expected)
  })
})

describe("addresses", () => {
  it.each(["10.0.0.1", "127.0.0.1", "255.255.255.255"])("accepts IPv4 %j", (raw) => {
    expect(value(checkIpv4(raw))).toBe(raw)
  })
  it.each([
    ["1.2.3", /not a valid/],
    ["256.1.1.1", /not a valid/],
    ["010.1.1.1", /not a valid/],
    ["localhost", /the character 'l'/],
    ["127.0.0.1 backup", /a space/],
    ["127.0.0.1\n", /line break/],
    ["::1", /the character ':'/],
    ["0.0.0.0", /unspecified/],
    ["", /not a valid/]
  ])("rejects IPv4 %j (%s)", (raw, expected) => {
    expect(reason(checkIpv4(raw))).toMatch(expected)
  })
  it.each([
    ["::1", "::1"],
    ["2001:DB8::1", "2001:db8::1"],
    ["::ffff:10.0.0.1", "::ffff:10.0.0.1"]
  ])("accepts IPv6 %j as %j", (raw, expected) => {
    expect(value(checkIpv6(raw))).toBe(expected)
  })
  it.each([
    ["fe80::1%eth0", /log-format/],
    ["::", /unspecified/],
    ["0:0:0:0:0:0:0:0", /unspecified/],
    ["2001:db8::g", /the character 'g'/],
    ["[::1]", /the character '\['/],
    ["1:2:3:4:5:6:7:8:9", /not a valid/]
  ])("rejects IPv6 %j (%s)", (raw, expected) => {
    expect(reason(checkIpv6(raw))).toMatch(expected)
  })
})

describe("checkInstanceId", () => {
  it.each(["0123abcd", "i-0123456789abcdef", "A/B:c.d@e_f-g", "x".repeat(64)])("accepts %j", (raw) => {
    expect(value(checkInstanceId(raw))).toBe(raw)
  })
  it.each([
    ["", /empty/],
    ["x".repeat(65), /65 characters/],
    ["a b", /space/],
    ["a\nb", /line break/],
    ["a#b", /'#'/],
    ["a;b", /runtime API/],
    ["é", /non-ASCII/]
  ])("rejects %j (%s)", (raw, expected) => {
    expect(reason(checkInstanceId(raw))).toMatch(expected)
  })
})

describe("checkIdentifier", () => {
  it("accepts generated names and refuses anything else", () => {
    expect(value(checkIdentifier("be_web.example.com"))).toBe("be_web.example.com")
    expect(value(checkIdentifier("i-abc_1.2-3"))).toBe("i-abc_1.2-3")
    expect(reason(checkIdentifier("Be_web"))).toMatch(/'B'/)
    expect(reason(checkIdentifier("be:web"))).toMatch(/':'/)
    expect(reason(checkIdentifier("_be"))).toMatch(/start with a letter/)
    expect(reason(checkIdentifier(""))).toMatch(/empty/)
    expect(value(checkIdentifier(`be_${"a".repeat(253)}`))).toHaveLength(256)
    expect(reason(checkIdentifier(`be_${"a".repeat(254)}`))).toMatch(/257 characters/)
  })
})

describe("names", () => {
  it("derives stable, injective server names from instance ids", () => {
    expect(serverNameForInstance("0123456789abcdef0123456789abcdef")).toBe("i-0123456789abcdef0123456789abcdef")
    expect(serverNameForInstance("web-1.a_b")).toBe("i-web-1.a_b")
    // Uppercase, '/', ':' and '@' are hashed; case-only differences give different names.
    const upper = serverNameForInstance("A")
    expect(upper).toMatch(/^h-[0-9a-f]{16}$/)
    expect(upper).not.toBe(serverNameForInstance("a"))
    expect(serverNameForInstance("A")).toBe(upper) // stable
    expect(serverNameForInstance("task/abc")).not.toBe(serverNameForInstance("task:abc"))
    for (const id of ["A", "task/abc", "x@y", "a:b"]) expect(value(checkIdentifier(serverNameForInstance(id)))).toBeTruthy()
  })

  it("keeps host-mode and path-mode backend names apart", () => {
    expect(hostBackendName("web.example.com")).toBe("be_web.example.com")
    expect(pathBackendName("example.com", "web")).toBe("be_example.com_web")
    // After `be_`, a host-mode name never has `_`, a path-mode name always has one.
    expect(hostBackendName("web.example.com").slice(3)).not.toContain("_")
    expect(pathBackendName("example.com", "web").slice(3)).toContain("_")
  })
})

describe("quote", () => {
  it("renders untrusted values printable, ASCII-only and bounded", () => {
    expect(quote("a\nb")).toBe("\"a\\nb\"")
    expect(quote("wéb")).toBe("\"w\\u00e9b\"")
    expect(quote("x\u2028y\u202e")).toBe("\"x\\u2028y\\u202e\"")
    expect(quote("a".repeat(100))).toMatch(/^"a{80}"\.\.\. \(100 characters\)$/)
  })
})
