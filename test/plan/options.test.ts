/**
 * decodeServiceOptions and decodeInstanceWeight: every `haproxy.` key with good and bad values.
 * A bad value is ignored with a reason and the default stays; nothing else about the service
 * changes. Keys outside the prefix are none of the agent's business and are not reported.
 */
import { describe, expect, it } from "vitest"
import { quote } from "../../src/model/grammar.ts"
import { DEFAULT_OPTIONS, type ServiceOptions } from "../../src/model/service-options.ts"
import { decodeInstanceWeight, decodeServiceOptions, type OptionContext, SERVICE_OPTION_KEYS } from "../../src/plan/options.ts"

const HOST: OptionContext = { mode: "host", domain: "example.com" }
const PATH: OptionContext = { mode: "path", domain: "example.net" }

const decode = (attributes: Record<string, string>, context: OptionContext = HOST) => decodeServiceOptions(attributes, context)

/** The options from attributes that must all decode. */
const ok = (attributes: Record<string, string>, context: OptionContext = HOST): ServiceOptions => {
  const decoded = decode(attributes, context)
  expect(decoded.ignored).toEqual([])
  return decoded.options
}

/** The one reason `key` is ignored for; the options stay the defaults. */
const rejected = (attributes: Record<string, string>, key: string, context: OptionContext = HOST): string => {
  const decoded = decode(attributes, context)
  expect(decoded.ignored.map((p) => p.key)).toEqual([key])
  return decoded.ignored[0]!.reason
}

const KNOWN = [
  "haproxy.check",
  "haproxy.check.interval",
  "haproxy.check.path",
  "haproxy.check.status",
  "haproxy.timeout.server",
  "haproxy.timeout.connect",
  "haproxy.timeout.tunnel",
  "haproxy.balance",
  "haproxy.maxconn",
  "haproxy.protocol",
  "haproxy.cookie",
  "haproxy.hosts",
  "haproxy.path.strip"
]

describe("decodeServiceOptions: defaults", () => {
  it("no attributes, or none under haproxy.: the defaults, nothing reported", () => {
    expect(decodeServiceOptions(undefined, HOST)).toEqual({ options: DEFAULT_OPTIONS, ignored: [] })
    expect(decode({})).toEqual({ options: DEFAULT_OPTIONS, ignored: [] })
    expect(decode({ team: "payments", haproxy: "1", "xhaproxy.check": "http" }))
      .toEqual({ options: DEFAULT_OPTIONS, ignored: [] })
  })

  it("the prefix in another case is reported with the lowercase key, not silently ignored", () => {
    expect(decode({ "HAPROXY.check": "http", "Haproxy.cookie": "x" })).toEqual({
      options: DEFAULT_OPTIONS,
      ignored: [
        { key: "HAPROXY.check", reason: "unknown option; did you mean haproxy.check?" },
        { key: "Haproxy.cookie", reason: "unknown option; did you mean haproxy.cookie?" }
      ]
    })
  })

  it("SERVICE_OPTION_KEYS lists every service key, with the prefix", () => {
    expect([...SERVICE_OPTION_KEYS].sort()).toEqual([...KNOWN].sort())
  })
})

describe("haproxy.check and its settings", () => {
  it("http: GET / expecting 200-399 at the default interval; tcp: the default check", () => {
    expect(ok({ "haproxy.check": "http" }).check).toEqual({ _tag: "Http", intervalMs: 2000, path: "/", status: "200-399" })
    expect(ok({ "haproxy.check": "tcp" }).check).toEqual({ _tag: "Tcp", intervalMs: 2000 })
  })

  it.each(["HTTP", "https", "", " http", "http ", "udp"])("rejects check %j", (raw) => {
    expect(rejected({ "haproxy.check": raw }, "haproxy.check")).toBe(`expected one of tcp, http, got ${quote(raw)}`)
  })

  it("interval, path and status together, whatever order the attributes come in", () => {
    const attributes = {
      "haproxy.check.status": "200,204,300-302",
      "haproxy.check.path": "/health?full=1&x=%2F",
      "haproxy.check.interval": "500ms",
      "haproxy.check": "http"
    }
    expect(ok(attributes).check).toEqual({ _tag: "Http", intervalMs: 500, path: "/health?full=1&x=%2F", status: "200,204,300-302" })
  })

  it("the interval applies to a TCP check too", () => {
    expect(ok({ "haproxy.check.interval": "10s" }).check).toEqual({ _tag: "Tcp", intervalMs: 10_000 })
    expect(ok({ "haproxy.check": "tcp", "haproxy.check.interval": "1m" }).check).toEqual({ _tag: "Tcp", intervalMs: 60_000 })
  })

  it.each([["100ms", 100], ["1s", 1000], ["90s", 90_000], ["60m", 3_600_000], ["1h", 3_600_000], ["0100ms", 100]])(
    "interval %j is %i ms", (raw, ms) => {
      expect(ok({ "haproxy.check.interval": raw }).check.intervalMs).toBe(ms)
    })

  it.each(["99ms", "0s", "61m", "2h", "3600001ms"])("interval %j is out of range (100ms to 1h)", (raw) => {
    expect(rejected({ "haproxy.check.interval": raw }, "haproxy.check.interval")).toBe(`${quote(raw)} is out of range (100ms to 1h)`)
  })

  it.each(["", "5", "5 s", "5S", "1.5s", "-1s", "1d", "5sec", "s", "1234567890ms", "1s2"])("interval %j is not a duration", (raw) => {
    expect(rejected({ "haproxy.check.interval": raw }, "haproxy.check.interval"))
      .toBe(`expected a duration such as 500ms, 10s, 1m or 1h (100ms to 1h), got ${quote(raw)}`)
  })

  it("path and status apply only with haproxy.check=http", () => {
    for (const check of [{}, { "haproxy.check": "tcp" }, { "haproxy.check": "HTTP" }]) {
      const decoded = decode({ ...check, "haproxy.check.path": "/health", "haproxy.check.status": "200" })
      expect(decoded.options.check._tag).toBe("Tcp")
      expect(decoded.ignored.filter((p) => p.key !== "haproxy.check")).toEqual([
        { key: "haproxy.check.path", reason: "applies only with haproxy.check=http" },
        { key: "haproxy.check.status", reason: "applies only with haproxy.check=http" }
      ])
    }
  })

  it.each(["/", "/health", "/a/b/c/", "/a.b_c~d-e", "/%20", "/%aF", "/?", "/h?a=1&b=2", "/h?x=%2f", "/" + "a".repeat(199)])(
    "path %j is accepted", (path) => {
      const check = ok({ "haproxy.check": "http", "haproxy.check.path": path }).check
      expect(check._tag === "Http" && check.path).toBe(path)
    })

  it.each([
    "", "health", "//evil.example/".slice(1) + "x y", "/a b", "/a\tb", "/a\nb", "/a\"b", "/a'b", "/a#b", "/a$b", "/${HOME}",
    "/a%zz", "/a%2", "/%", "/a\\b", "/é", "/caf\u00e9", "/\u202e", "/a?b?c", "/a?b#c", "/a?b c", "/a?b%zz", "/a;b", "/a,b", "/a{b}",
    "/a*b", "/a:b", "/a@b", "/a+b", "http://x/", "/" + "a".repeat(200)
  ])("path %j is rejected", (path) => {
    expect(rejected({ "haproxy.check": "http", "haproxy.check.path": path }, "haproxy.check.path"))
      .toBe(`expected an absolute path such as /health (URL-safe characters, at most 200), got ${quote(path)}`)
  })

  it.each(["200", "100-599", "200-200", "200,204", "200,204,300-302", "100,101,102,103,104,105,106,107,108,109"])(
    "status %j is accepted", (status) => {
      const check = ok({ "haproxy.check": "http", "haproxy.check.status": status }).check
      expect(check._tag === "Http" && check.status).toBe(status)
    })

  it.each([
    "", "2xx", "20", "2000", "600", "099", "000", "200-600", "599-600", "399-200", "201-200", "200,", ",200", "200,,204",
    "200-", "-200", "200-300-400", "200 204", "200;204", " 200", "100,101,102,103,104,105,106,107,108,109,110"
  ])("status %j is rejected", (status) => {
    expect(rejected({ "haproxy.check": "http", "haproxy.check.status": status }, "haproxy.check.status"))
      .toBe(`expected HTTP status codes or ranges such as 200-399 or 200,204 (100-599, at most 10), got ${quote(status)}`)
  })

  it("a bad setting keeps the check's other settings", () => {
    const decoded = decode({ "haproxy.check": "http", "haproxy.check.path": "/a b", "haproxy.check.status": "204", "haproxy.check.interval": "1x" })
    expect(decoded.options.check).toEqual({ _tag: "Http", intervalMs: 2000, path: "/", status: "204" })
    expect(decoded.ignored.map((p) => p.key)).toEqual(["haproxy.check.interval", "haproxy.check.path"])
  })
})

describe("timeouts", () => {
  const keys = [
    ["haproxy.timeout.server", "timeoutServerMs"],
    ["haproxy.timeout.connect", "timeoutConnectMs"],
    ["haproxy.timeout.tunnel", "timeoutTunnelMs"]
  ] as const

  it.each(keys)("%s takes ms, s, m and h from 1ms to 7 days", (key, field) => {
    expect(ok({ [key]: "1ms" })[field]).toBe(1)
    expect(ok({ [key]: "250ms" })[field]).toBe(250)
    expect(ok({ [key]: "45s" })[field]).toBe(45_000)
    expect(ok({ [key]: "10m" })[field]).toBe(600_000)
    expect(ok({ [key]: "168h" })[field]).toBe(7 * 86_400_000)
    expect(ok({ [key]: "604800000ms" })[field]).toBe(7 * 86_400_000)
    expect(DEFAULT_OPTIONS[field]).toBeUndefined()
  })

  it.each(keys)("%s rejects 0, more than 7 days and anything not a duration", (key, field) => {
    for (const raw of ["0ms", "0s", "169h", "604800001ms", "10081m"]) {
      expect(rejected({ [key]: raw }, key)).toBe(`${quote(raw)} is out of range (1ms to 7 days)`)
    }
    for (const raw of ["", "30", "30 s", "1.5s", "-1s", "7d", "1w", "30S", "inf", "1e3ms", "30s\n    server evil 10.0.0.1:80"]) {
      const decoded = decode({ [key]: raw })
      expect(decoded.options[field]).toBeUndefined()
      expect(decoded.ignored).toEqual([{ key, reason: `expected a duration such as 500ms, 10s, 1m or 1h (1ms to 7 days), got ${quote(raw)}` }])
    }
  })
})

describe("balance, maxconn, protocol, cookie", () => {
  it.each(["roundrobin", "leastconn", "random", "source"] as const)("balance %s", (balance) => {
    expect(ok({ "haproxy.balance": balance }).balance).toBe(balance)
  })

  it.each(["", "RoundRobin", "uri", "first", "static-rr", "hdr(host)", "leastconn "])("balance %j is rejected", (raw) => {
    expect(rejected({ "haproxy.balance": raw }, "haproxy.balance")).toBe(`expected one of roundrobin, leastconn, random, source, got ${quote(raw)}`)
  })

  it.each([["1", 1], ["100", 100], ["100000", 100_000], ["007", 7]])("maxconn %j is %i", (raw, n) => {
    expect(ok({ "haproxy.maxconn": raw }).maxconn).toBe(n)
  })

  it.each(["0", "100001", "9999999", "12345678", "", "-1", "+1", "1.0", "1e3", "0x10", " 1", "ten"])("maxconn %j is rejected", (raw) => {
    expect(rejected({ "haproxy.maxconn": raw }, "haproxy.maxconn")).toBe(`expected an integer 1-100000, got ${quote(raw)}`)
  })

  it("protocol http1 (the default) or h2c", () => {
    expect(ok({ "haproxy.protocol": "h2c" }).protocol).toBe("h2c")
    expect(ok({ "haproxy.protocol": "http1" }).protocol).toBe("http1")
    for (const raw of ["h2", "H2C", "http2", "grpc", ""]) {
      expect(rejected({ "haproxy.protocol": raw }, "haproxy.protocol")).toBe(`expected one of http1, h2c, got ${quote(raw)}`)
    }
  })

  it.each(["SERVERID", "a", "sticky_cookie-1", "x".repeat(64)])("cookie name %j", (name) => {
    expect(ok({ "haproxy.cookie": name }).cookie).toBe(name)
  })

  it.each(["", "x".repeat(65), "a b", "a=b", "a;b", "a.b", "a,b", "é", "a\"b", "SERVERID insert", "$x", "a#b"])(
    "cookie name %j is rejected", (name) => {
      expect(rejected({ "haproxy.cookie": name }, "haproxy.cookie")).toBe(`expected a cookie name of 1-64 of [A-Za-z0-9_-], got ${quote(name)}`)
    })
})

describe("haproxy.hosts", () => {
  it("names under the namespace's domain, normalised (case, trailing dot), spaces trimmed, duplicates dropped", () => {
    expect(ok({ "haproxy.hosts": "www.example.com" }).hosts).toEqual(["www.example.com"])
    expect(ok({ "haproxy.hosts": " WWW.Example.COM. , a.b.example.com,www.example.com,,api.example.com" }).hosts)
      .toEqual(["www.example.com", "a.b.example.com", "api.example.com"])
  })

  it("at most 10 names (after dropping empty items), at least 1", () => {
    const ten = Array.from({ length: 10 }, (_, i) => `h${i}.example.com`)
    expect(ok({ "haproxy.hosts": ten.join(",") }).hosts).toEqual(ten)
    const eleven = [...ten, "h10.example.com"].join(",")
    expect(rejected({ "haproxy.hosts": eleven }, "haproxy.hosts")).toMatch(/^expected 1-10 comma-separated host names, got "h0\.example\.com,/)
    for (const raw of ["", ",", " , "]) {
      expect(rejected({ "haproxy.hosts": raw }, "haproxy.hosts")).toBe(`expected 1-10 comma-separated host names, got ${quote(raw)}`)
    }
  })

  it("a name outside the domain (or the domain itself) rejects the whole list", () => {
    for (const name of ["example.com", "www.example.org", "wwwexample.com", "example.com.evil.net", "www.example.co"]) {
      const decoded = decode({ "haproxy.hosts": `ok.example.com,${name}` })
      expect(decoded.options.hosts).toEqual([])
      expect(decoded.ignored).toEqual([{ key: "haproxy.hosts", reason: `host ${quote(name)} is not under the namespace's domain example.com` }])
    }
  })

  it("a name that is not a valid host name is rejected with the grammar's reason", () => {
    for (const name of ["bad_name.example.com", "a b.example.com", "-a.example.com", "é.example.com", "a..example.com", `${"a".repeat(64)}.example.com`, "*.example.com"]) {
      expect(rejected({ "haproxy.hosts": name }, "haproxy.hosts").startsWith(`host ${quote(name)} `)).toBe(true)
    }
  })

  it("path mode has no extra host names", () => {
    expect(rejected({ "haproxy.hosts": "www.example.net" }, "haproxy.hosts", PATH)).toBe("extra host names apply to host-mode namespaces only")
  })

  it("the domain given is the normalised one: names are matched against it after normalising", () => {
    expect(ok({ "haproxy.hosts": "A.Example.Net." }, { mode: "host", domain: "example.net" }).hosts).toEqual(["a.example.net"])
  })
})

describe("haproxy.path.strip", () => {
  it("path mode: true (the default) or false", () => {
    expect(DEFAULT_OPTIONS.stripPath).toBe(true)
    expect(ok({ "haproxy.path.strip": "false" }, PATH).stripPath).toBe(false)
    expect(ok({ "haproxy.path.strip": "true" }, PATH).stripPath).toBe(true)
    for (const raw of ["False", "0", "no", "", "yes"]) {
      expect(rejected({ "haproxy.path.strip": raw }, "haproxy.path.strip", PATH)).toBe(`expected one of true, false, got ${quote(raw)}`)
    }
  })

  it("host mode: ignored, whatever the value", () => {
    for (const raw of ["false", "true", "junk"]) {
      const decoded = decode({ "haproxy.path.strip": raw })
      expect(decoded.options.stripPath).toBe(true)
      expect(decoded.ignored).toEqual([{ key: "haproxy.path.strip", reason: "applies to path-mode namespaces only" }])
    }
  })
})

describe("unknown keys", () => {
  it.each([
    ["haproxy.chek", "haproxy.check"],
    ["haproxy.timeout.sever", "haproxy.timeout.server"],
    ["haproxy.timeout.conect", "haproxy.timeout.connect"],
    ["haproxy.check.pth", "haproxy.check.path"],
    ["haproxy.host", "haproxy.hosts"],
    ["haproxy.CHECK", "haproxy.check"],
    ["haproxy.maxcon", "haproxy.maxconn"],
    ["haproxy.cookies", "haproxy.cookie"],
    ["haproxy.path_strip", "haproxy.path.strip"]
  ])("%s: did you mean %s?", (key, suggestion) => {
    expect(decode({ [key]: "http" })).toEqual({
      options: DEFAULT_OPTIONS,
      ignored: [{ key, reason: `unknown option; did you mean ${suggestion}?` }]
    })
  })

  it.each(["haproxy.zzzzzzzz", "haproxy.", "haproxy.server", "haproxy.check.evil\nbackend x", "haproxy.timeout"])(
    "%j is far from every key: the known keys are listed", (key) => {
      expect(rejected({ [key]: "1" }, key)).toBe(`unknown option (known: ${KNOWN.join(", ")})`)
    })

  it("haproxy.weight on a service: a per-instance option", () => {
    expect(rejected({ "haproxy.weight": "5" }, "haproxy.weight")).toBe("a per-instance option: set it on the instances (RegisterInstance attributes)")
  })

  it("every problem is reported, in key order, and the good keys still apply", () => {
    const decoded = decode({
      "haproxy.timeout.server": "2m",
      "haproxy.zeta": "1",
      "haproxy.balance": "nope",
      "haproxy.check": "http",
      "haproxy.alpha": "1",
      "haproxy.maxconn": "50",
      owner: "team-a"
    })
    expect(decoded.ignored.map((p) => p.key)).toEqual(["haproxy.alpha", "haproxy.balance", "haproxy.zeta"])
    expect(decoded.options).toEqual({
      ...DEFAULT_OPTIONS,
      check: { _tag: "Http", intervalMs: 2000, path: "/", status: "200-399" },
      timeoutServerMs: 120_000,
      maxconn: 50
    })
  })
})

describe("reasons are printable", () => {
  it("a hostile value is quoted and escaped in the reason, never copied raw", () => {
    const hostile = "30s\n    server evil 10.9.9.9:80 # \u00e9\u202e\u0000"
    const decoded = decode(Object.fromEntries(KNOWN.map((k) => [k, hostile])))
    expect(decoded.options).toEqual(DEFAULT_OPTIONS)
    expect(decoded.ignored.map((p) => p.key).sort()).toEqual([...KNOWN].sort())
    for (const { reason } of decoded.ignored) expect(reason).toMatch(/^[\x20-\x7e]*$/)
  })
})

describe("every key at once", () => {
  it("host mode", () => {
    expect(ok({
      "haproxy.check": "http",
      "haproxy.check.interval": "5s",
      "haproxy.check.path": "/healthz",
      "haproxy.check.status": "200",
      "haproxy.timeout.server": "2m",
      "haproxy.timeout.connect": "500ms",
      "haproxy.timeout.tunnel": "1h",
      "haproxy.balance": "leastconn",
      "haproxy.maxconn": "64",
      "haproxy.protocol": "h2c",
      "haproxy.cookie": "SRV",
      "haproxy.hosts": "www.example.com"
    })).toEqual({
      check: { _tag: "Http", intervalMs: 5000, path: "/healthz", status: "200" },
      timeoutServerMs: 120_000,
      timeoutConnectMs: 500,
      timeoutTunnelMs: 3_600_000,
      balance: "leastconn",
      maxconn: 64,
      protocol: "h2c",
      cookie: "SRV",
      hosts: ["www.example.com"],
      stripPath: true
    })
  })
})

describe("decodeInstanceWeight", () => {
  it("no haproxy.weight: weight 1", () => {
    expect(decodeInstanceWeight({})).toEqual({ weight: 1, ignored: [] })
    expect(decodeInstanceWeight({ AWS_INSTANCE_IPV4: "10.0.0.1", AVAILABILITY_ZONE: "us-east-1a" })).toEqual({ weight: 1, ignored: [] })
    expect(decodeInstanceWeight({ "HAPROXY.weight": "9" }).ignored.map((p) => p.key)).toEqual(["HAPROXY.weight"])
  })

  it.each([["0", 0], ["1", 1], ["10", 10], ["256", 256], ["0010", 10]])("weight %j is %i", (raw, weight) => {
    expect(decodeInstanceWeight({ "haproxy.weight": raw })).toEqual({ weight, ignored: [] })
  })

  it.each(["257", "1000", "-1", "", "1.5", "ten", " 5", "5\n", "0x10", "1e2", "12345678"])("weight %j is rejected: weight 1", (raw) => {
    expect(decodeInstanceWeight({ "haproxy.weight": raw })).toEqual({
      weight: 1,
      ignored: [{ key: "haproxy.weight", reason: `expected an integer 0-256, got ${quote(raw)}` }]
    })
  })

  it("other haproxy. keys on an instance are reported; the weight still applies", () => {
    expect(decodeInstanceWeight({ "haproxy.weight": "3", "haproxy.wieght": "4", "haproxy.check": "http" })).toEqual({
      weight: 3,
      ignored: [
        { key: "haproxy.check", reason: "unknown option (known: haproxy.weight) (instances take only haproxy.weight)" },
        { key: "haproxy.wieght", reason: "unknown option; did you mean haproxy.weight? (instances take only haproxy.weight)" }
      ]
    })
  })
})

describe("decodeServiceOptions: memoised", () => {
  it("decodes an attribute record once per context: the same options object comes back, so an unchanged service compares by reference", () => {
    const attributes = { "haproxy.check": "http", "haproxy.maxconn": "5" }
    const first = decodeServiceOptions(attributes, HOST)
    expect(decodeServiceOptions(attributes, HOST)).toBe(first)
    expect(decodeServiceOptions({ ...attributes }, HOST)).not.toBe(first)
    expect(decodeServiceOptions({ ...attributes }, HOST)).toEqual(first)
    expect(decodeServiceOptions(attributes, { mode: "path", domain: "example.com" })).not.toBe(first)
  })
})
