/** The status page's access rule (src/http/access.ts): loopback peers, Basic credentials, stats off. */
import { Buffer } from "node:buffer"
import { describe, expect, it } from "vitest"
import { Redacted } from "effect"
import { basicCredentials, credentialsMatch, decideAccess, isLoopback, refusalHeaders } from "../../src/http/access.ts"

const STATS = { user: "stats_user", password: Redacted.make("s3cret:with:colons") }
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`, "utf8").toString("base64")}`

describe("isLoopback", () => {
  it.each(["127.0.0.1", "127.1.2.3", "127.255.255.255", "::1", "::ffff:127.0.0.1", "::FFFF:127.0.0.9", "0:0:0:0:0:0:0:1"])("%s is loopback", (a) => {
    expect(isLoopback(a)).toBe(true)
  })
  it.each([
    undefined, "", "10.0.0.1", "128.0.0.1", "127.0.0.256", "127.0.0", "1127.0.0.1", "127.0.0.1.evil", "::2", "::ffff:10.0.0.1",
    "fe80::1", "::ffff:127.0.0.1:80", "0.0.0.0", "::", "localhost", " 127.0.0.1"
  ])("%s is not", (a) => {
    expect(isLoopback(a)).toBe(false)
  })
})

describe("Basic credentials", () => {
  it("parses user:password (the password may hold colons)", () => {
    expect(basicCredentials(basic("stats_user", "a:b:c"))).toEqual({ user: "stats_user", password: "a:b:c" })
    expect(basicCredentials("basic " + Buffer.from("u:p").toString("base64"))).toEqual({ user: "u", password: "p" })
  })
  it.each([undefined, "", "Bearer abc", "Basic", "Basic !!!", `Basic ${Buffer.from("nocolon").toString("base64")}`])("refuses %s", (h) => {
    expect(basicCredentials(h)).toBeUndefined()
  })
  it("matches only the exact user and password", () => {
    expect(credentialsMatch(basic("stats_user", "s3cret:with:colons"), STATS)).toBe(true)
    expect(credentialsMatch(basic("stats_user", "s3cret:with:colon"), STATS)).toBe(false)
    expect(credentialsMatch(basic("stats_user", "s3cret:with:colonsX"), STATS)).toBe(false)
    expect(credentialsMatch(basic("stats_use", "s3cret:with:colons"), STATS)).toBe(false)
    expect(credentialsMatch(basic("", ""), STATS)).toBe(false)
    expect(credentialsMatch(undefined, STATS)).toBe(false)
  })
})

describe("decideAccess", () => {
  it("loopback needs nothing, even with stats disabled or wrong credentials", () => {
    expect(decideAccess("127.0.0.1", undefined, STATS)._tag).toBe("Allowed")
    expect(decideAccess("::1", basic("x", "y"), undefined)._tag).toBe("Allowed")
    expect(decideAccess("::ffff:127.0.0.1", undefined, undefined)).toEqual({ _tag: "Allowed", via: "loopback" })
  })
  it("another host needs the stats credentials: 401 with WWW-Authenticate without or with wrong ones", () => {
    const none = decideAccess("10.0.0.7", undefined, STATS)
    expect(none._tag).toBe("Unauthorized")
    expect(refusalHeaders(none)["www-authenticate"]).toMatch(/^Basic realm="[^"]+"/)
    expect(decideAccess("10.0.0.7", basic("stats_user", "nope"), STATS)._tag).toBe("Unauthorized")
    expect(decideAccess("10.0.0.7", basic("stats_user", "s3cret:with:colons"), STATS)).toEqual({ _tag: "Allowed", via: "credentials" })
    expect(decideAccess(undefined, undefined, STATS)._tag).toBe("Unauthorized")
  })
  it("another host with stats disabled gets 403 saying how to enable them", () => {
    const d = decideAccess("192.0.2.1", basic("stats_user", "s3cret:with:colons"), undefined)
    expect(d._tag).toBe("Forbidden")
    if (d._tag === "Forbidden") expect(d.message).toMatch(/STATS_ENABLED=true.*STATS_PASSWD/)
    expect(refusalHeaders(d)).toEqual({})
  })
})
