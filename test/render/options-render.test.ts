/**
 * Every per-service option, alone and all together, in host and path mode and with zone
 * affinity, renders a config that `haproxy -c` accepts on 2.6 AND 3.x (all binaries in one
 * run: the 3.2 one from scripts/haproxy3.sh, skipped only when it is not there, and the 3.4 one
 * from scripts/haproxy34.sh when it is there), plus the exact
 * backend lines of a few. Default options render as before: test/render/golden.test.ts.
 */
import { spawnSync } from "node:child_process"
import { existsSync, realpathSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "vitest"
import { serverCookie } from "../../src/model/names.ts"
import type { DiscoveredInstance } from "../../src/model/snapshot.ts"
import { plan, type PlanOptions } from "../../src/plan/plan.ts"
import type { ZoneAffinity } from "../../src/plan/zones.ts"
import { render } from "../../src/render/render.ts"
import { configProblems } from "../support/haproxy-process.ts"
import { hostNs, instance, ipv6Instance, namespace, pathNs, removeTempDirs, service, settings, snapshot, tempDir, writeRendered } from "./fixtures.ts"

afterAll(removeTempDirs)

const HAPROXY3 = fileURLToPath(new URL("../../.cache/haproxy3/bin/haproxy", import.meta.url))
const HAPROXY34 = fileURLToPath(new URL("../../.cache/haproxy34/bin/haproxy", import.meta.url))

/** The Debian 2.6, the 3.2 and 3.4 builds, and $HAPROXY_BIN if it is yet another one; each once. */
const binaries = (() => {
  const candidates = [
    existsSync("/usr/sbin/haproxy") ? "/usr/sbin/haproxy" : "haproxy",
    HAPROXY3,
    HAPROXY34,
    ...(process.env["HAPROXY_BIN"] !== undefined ? [process.env["HAPROXY_BIN"]] : [])
  ]
  const seen = new Set<string>()
  const found: Array<{ readonly version: string; readonly bin: string }> = []
  for (const bin of candidates) {
    const v = spawnSync(bin, ["-v"], { encoding: "utf8", timeout: 10_000 })
    if (v.status !== 0) continue
    const real = bin.includes("/") ? realpathSync(bin) : bin
    const version = /version (\S+)/.exec(v.stdout)?.[1] ?? bin
    if (seen.has(real) || seen.has(version)) continue
    seen.add(real)
    seen.add(version)
    found.push({ version, bin })
  }
  return found
})()

const check = (bin: string, cfg: string) => {
  const r = spawnSync(bin, ["-c", "-f", cfg], { encoding: "utf8", timeout: 30_000 })
  const output = `${r.stdout ?? ""}${r.stderr ?? ""}`
  // nbthread above the machine's CPUs draws a warning from 3.x: about the machine, not the file.
  const problems = configProblems(output)
  return { ok: r.status === 0, output, problems }
}

const zoned = (id: string, ip: string, zone: string, extra: Record<string, string> = {}): DiscoveredInstance =>
  instance(id, ip, "8080", { AVAILABILITY_ZONE: zone, ...extra })

const INSTANCES: ReadonlyArray<DiscoveredInstance> = [
  zoned("task-a1", "10.0.1.11", "us-east-1a", { "haproxy.weight": "3" }),
  zoned("task-a2", "10.0.1.12", "us-east-1a"),
  zoned("task-b1", "10.0.2.11", "us-east-1b", { "haproxy.weight": "0" }),
  instance("task-n1", "10.0.3.11", "8080", { "haproxy.weight": "256" }),
  ipv6Instance("task-v6", "2001:db8::11", "8443")
]

/** One option set per case; `hosts` only in host mode, `path.strip` only in path mode. */
const OPTION_CASES: ReadonlyArray<readonly [string, Record<string, string>]> = [
  ["defaults", {}],
  ["check=tcp", { "haproxy.check": "tcp" }],
  ["check=http", { "haproxy.check": "http" }],
  ["check interval alone", { "haproxy.check.interval": "750ms" }],
  ["http check with path, query and status list", {
    "haproxy.check": "http",
    "haproxy.check.path": "/health/ready?verbose=1&x=%2F~_.-",
    "haproxy.check.status": "200,204,300-302",
    "haproxy.check.interval": "1m"
  }],
  ["http check, widest status list", { "haproxy.check": "http", "haproxy.check.status": "100,101-199,200-599,204,205,206,207,208,226,300" }],
  ["timeout.server", { "haproxy.timeout.server": "168h" }],
  ["timeout.connect", { "haproxy.timeout.connect": "1ms" }],
  ["timeout.tunnel", { "haproxy.timeout.tunnel": "1500ms" }],
  ["balance leastconn", { "haproxy.balance": "leastconn" }],
  ["balance random", { "haproxy.balance": "random" }],
  ["balance source", { "haproxy.balance": "source" }],
  ["maxconn 1", { "haproxy.maxconn": "1" }],
  ["maxconn 100000", { "haproxy.maxconn": "100000" }],
  ["protocol h2c, tcp check", { "haproxy.protocol": "h2c" }],
  ["protocol h2c, http check", { "haproxy.protocol": "h2c", "haproxy.check": "http", "haproxy.check.path": "/grpc.health.v1.Health/Check" }],
  ["protocol http1", { "haproxy.protocol": "http1" }],
  ["cookie", { "haproxy.cookie": "SERVERID" }],
  ["cookie, 64 characters", { "haproxy.cookie": "C_-".repeat(21) + "x" }],
  ["hosts", { "haproxy.hosts": "www.example.com,Shop.Example.com.,a.b.c.example.com" }],
  ["path.strip=false", { "haproxy.path.strip": "false" }],
  ["path.strip=true", { "haproxy.path.strip": "true" }],
  ["everything", {
    "haproxy.check": "http",
    "haproxy.check.interval": "5s",
    "haproxy.check.path": "/healthz?probe=lb",
    "haproxy.check.status": "200-299,304",
    "haproxy.timeout.server": "2m",
    "haproxy.timeout.connect": "500ms",
    "haproxy.timeout.tunnel": "1h",
    "haproxy.balance": "leastconn",
    "haproxy.maxconn": "64",
    "haproxy.protocol": "h2c",
    "haproxy.cookie": "SRV",
    "haproxy.hosts": "www.example.com",
    "haproxy.path.strip": "false"
  }]
]

const AFFINITY: ZoneAffinity = { zone: "us-east-1a", minHealthy: 1 }
const FAILOVER: ZoneAffinity = { zone: "us-east-1a", minHealthy: 5 }

type Variant = { readonly mode: "host" | "path"; readonly zone: ZoneAffinity | undefined; readonly label: string }
const VARIANTS: ReadonlyArray<Variant> = [
  { mode: "host", zone: undefined, label: "host mode" },
  { mode: "path", zone: undefined, label: "path mode" },
  { mode: "host", zone: AFFINITY, label: "host mode, zone affinity" },
  { mode: "path", zone: FAILOVER, label: "path mode, zone affinity failing over" }
]

/** Two services (`web` with the options, `plain` without) in one namespace of the variant's mode. */
const desiredFor = (attributes: Record<string, string>, variant: Variant) => {
  const mapping = variant.mode === "host" ? hostNs("apps", "example.com") : pathNs("apps", "example.com")
  const options: PlanOptions = {
    defaultInstancePort: undefined,
    serviceAttributes: new Map([["srv-web", attributes]]),
    zoneAffinity: variant.zone
  }
  return plan(
    snapshot([namespace(mapping, [service("web", INSTANCES, "srv-web"), service("plain", [instance("p1", "10.0.9.1", "80")], "srv-plain")])]),
    options
  )
}

/** The lines of one backend section, without the indent. */
const backendSection = (cfg: string, name: string): ReadonlyArray<string> => {
  const start = cfg.indexOf(`backend ${name}\n`)
  expect(start, `backend ${name} in\n${cfg}`).toBeGreaterThanOrEqual(0)
  const end = cfg.indexOf("\n\n", start)
  return cfg.slice(start, end === -1 ? undefined : end).trimEnd().split("\n").slice(1).map((l) => l.trim())
}

describe("binaries under test", () => {
  it("finds HAProxy 2.6 and a 3.x", () => {
    expect(binaries.some((b) => b.version.startsWith("2.6"))).toBe(true)
    if (!existsSync(HAPROXY3)) {
      console.warn(`HAProxy 3.x not found at ${HAPROXY3} (run scripts/haproxy3.sh): checked on ${binaries.map((b) => b.version).join(", ")} only`)
      return
    }
    expect(binaries.some((b) => /^3\./.test(b.version))).toBe(true)
  })
})

describe.each(binaries)("haproxy $version -c accepts every option", ({ bin }) => {
  describe.each(VARIANTS)("$label", (variant) => {
    it.each(OPTION_CASES)("%s", (_label, attributes) => {
      const desired = desiredFor(attributes, variant)
      // Options that do not apply to the mode are ignored, never rendered.
      for (const o of desired.ignoredOptions) expect(["haproxy.hosts", "haproxy.path.strip"]).toContain(o.key)
      const dir = tempDir("options")
      const result = check(bin, writeRendered(dir, render(desired, settings({ configDir: dir }))))
      expect(result.problems, result.output).toEqual([])
      expect(result.ok, result.output).toBe(true)
    })
  })
})

describe("rendered lines", () => {
  const cfgOf = (attributes: Record<string, string>, variant: Variant = VARIANTS[0]!) =>
    render(desiredFor(attributes, variant), settings())["haproxy.cfg"]
  const servers = (words: string, cookie = false) => [
    `server i-task-a1 10.0.1.11:8080 ${words.replace("WEIGHT", " weight 3").replace(/ {2,}/g, " ")}`,
    `server i-task-a2 10.0.1.12:8080 ${words.replace("WEIGHT", "").replace(/ {2,}/g, " ")}`,
    `server i-task-b1 10.0.2.11:8080 ${words.replace("WEIGHT", " weight 0").replace(/ {2,}/g, " ")}`,
    `server i-task-n1 10.0.3.11:8080 ${words.replace("WEIGHT", " weight 256").replace(/ {2,}/g, " ")}`,
    `server i-task-v6 [2001:db8::11]:8443 ${words.replace("WEIGHT", "").replace(/ {2,}/g, " ")}`
  ].map((l) => l.trimEnd() + (cookie ? ` cookie ${serverCookie(l.split(" ")[1]!)}` : ""))

  it("defaults: server lines only (weights as registered)", () => {
    expect(backendSection(cfgOf({}), "be_web.example.com")).toEqual(servers("check inter 2s fall 3 rise 2WEIGHT"))
  })

  it("an HTTP check with every setting", () => {
    const cfg = cfgOf({ "haproxy.check": "http", "haproxy.check.path": "/healthz?x=1", "haproxy.check.status": "200,204", "haproxy.check.interval": "500ms" })
    expect(backendSection(cfg, "be_web.example.com")).toEqual([
      "option httpchk",
      "http-check send meth GET uri /healthz?x=1",
      "http-check expect status 200,204",
      ...servers("check inter 500ms fall 3 rise 2WEIGHT")
    ])
  })

  it("timeouts, balance and maxconn, in that order", () => {
    const cfg = cfgOf({
      "haproxy.maxconn": "64",
      "haproxy.timeout.tunnel": "1h",
      "haproxy.timeout.server": "1500ms",
      "haproxy.timeout.connect": "90s",
      "haproxy.balance": "source"
    })
    expect(backendSection(cfg, "be_web.example.com")).toEqual([
      "balance source",
      "hash-type consistent",
      "timeout connect 90s",
      "timeout server 1500ms",
      "timeout tunnel 3600s",
      ...servers("check inter 2s fall 3 rise 2WEIGHT maxconn 64")
    ])
  })

  it("h2c: proto h2 on every server, check-proto h2 only with an HTTP check", () => {
    expect(backendSection(cfgOf({ "haproxy.protocol": "h2c" }), "be_web.example.com"))
      .toEqual(servers("check inter 2s fall 3 rise 2WEIGHT proto h2"))
    expect(backendSection(cfgOf({ "haproxy.protocol": "h2c", "haproxy.check": "http" }), "be_web.example.com")).toEqual([
      "option httpchk",
      "http-check send meth GET uri /",
      "http-check expect status 200-399",
      ...servers("check inter 2s fall 3 rise 2WEIGHT proto h2 check-proto h2")
    ])
  })

  it("cookie stickiness: the cookie line, and a stable per-server cookie last on each server line", () => {
    const lines = backendSection(cfgOf({ "haproxy.cookie": "SRV" }), "be_web.example.com")
    expect(lines).toEqual(["cookie SRV insert indirect nocache httponly", ...servers("check inter 2s fall 3 rise 2WEIGHT", true)])
    expect(serverCookie("i-task-a1")).toMatch(/^[0-9a-f]{16}$/)
    expect(new Set(lines.slice(1).map((l) => l.split(" ").at(-1))).size).toBe(5)
  })

  it("extra hosts are map entries to the same backend, not config lines", () => {
    const desired = desiredFor({ "haproxy.hosts": "www.example.com" }, VARIANTS[0]!)
    const files = render(desired, settings())
    expect(files["hosts.map"]).toBe("plain.example.com be_plain.example.com\nweb.example.com be_web.example.com\nwww.example.com be_web.example.com\n")
    expect(files["haproxy.cfg"]).not.toContain("www.example.com")
  })

  it("path mode: the strip rule in each path backend, left out with path.strip=false", () => {
    const strip = ["# Path mode: strip the matched /<segment> (/web -> /, /web/a?q=1 -> /a?q=1).", "http-request set-path %[path,regsub(^/[^/]*/?,/)] if { var(txn.strip) -m bool }"]
    const cfg = cfgOf({ "haproxy.path.strip": "false" }, VARIANTS[1]!)
    expect(backendSection(cfg, "be_example.com_web")).toEqual(servers("check inter 2s fall 3 rise 2WEIGHT"))
    expect(backendSection(cfg, "be_example.com_plain")).toEqual([...strip, "server i-p1 10.0.9.1:80 check inter 2s fall 3 rise 2"])
    expect(backendSection(cfgOf({}, VARIANTS[1]!), "be_example.com_web").slice(0, 2)).toEqual(strip)
  })

  it("zone affinity: option allbackups; other and unknown zones are backups; failover zeroes in-zone weights", () => {
    expect(backendSection(cfgOf({}, VARIANTS[2]!), "be_web.example.com")).toEqual([
      "option allbackups",
      "server i-task-a1 10.0.1.11:8080 check inter 2s fall 3 rise 2 weight 3",
      "server i-task-a2 10.0.1.12:8080 check inter 2s fall 3 rise 2",
      "server i-task-b1 10.0.2.11:8080 check inter 2s fall 3 rise 2 weight 0 backup",
      "server i-task-n1 10.0.3.11:8080 check inter 2s fall 3 rise 2 weight 256 backup",
      "server i-task-v6 [2001:db8::11]:8443 check inter 2s fall 3 rise 2 backup"
    ])
    const failover = cfgOf({ "haproxy.maxconn": "8" }, { mode: "host", zone: FAILOVER, label: "" })
    expect(backendSection(failover, "be_web.example.com")).toEqual([
      "option allbackups",
      "server i-task-a1 10.0.1.11:8080 check inter 2s fall 3 rise 2 weight 0 maxconn 8",
      "server i-task-a2 10.0.1.12:8080 check inter 2s fall 3 rise 2 weight 0 maxconn 8",
      "server i-task-b1 10.0.2.11:8080 check inter 2s fall 3 rise 2 weight 0 maxconn 8 backup",
      "server i-task-n1 10.0.3.11:8080 check inter 2s fall 3 rise 2 weight 256 maxconn 8 backup",
      "server i-task-v6 [2001:db8::11]:8443 check inter 2s fall 3 rise 2 maxconn 8 backup"
    ])
  })

  it("a service without options renders no backend setting lines in host mode", () => {
    expect(backendSection(cfgOf({ "haproxy.cookie": "SRV", "haproxy.check": "http" }), "be_plain.example.com"))
      .toEqual(["server i-p1 10.0.9.1:80 check inter 2s fall 3 rise 2"])
  })
})

describe("render refuses options outside the grammar (defense in depth)", () => {
  const base = () => desiredFor({}, VARIANTS[0]!)
  const withOptions = (patch: Record<string, unknown>, serverPatch: Record<string, unknown> = {}) => {
    const d = base()
    return {
      ...d,
      backends: d.backends.map((b) =>
        b.name === "be_web.example.com"
          ? { ...b, options: { ...b.options, ...patch }, servers: b.servers.map((s) => ({ ...s, ...serverPatch })) }
          : b
      )
    }
  }
  const http = (path: string, status = "200") => ({ check: { _tag: "Http", intervalMs: 2000, path, status } })

  it.each([
    ["check path with a space", http("/a b")],
    ["check path with a newline", http("/a\n    server evil 10.9.9.9:80")],
    ["check path with #", http("/a#b")],
    ["check path not absolute", http("health")],
    ["check status not a list", http("/", "200 OK")],
    ["cookie name with a space", { cookie: "a b" }],
    ["balance outside the list", { balance: "uri" }],
    ["check interval 0", { check: { _tag: "Tcp", intervalMs: 0 } }],
    ["fractional timeout", { timeoutServerMs: 1.5 }],
    ["negative timeout", { timeoutTunnelMs: -1 }],
    ["maxconn 0", { maxconn: 0 }]
  ])("%s", (_label, patch) => {
    expect(() => render(withOptions(patch) as never, settings())).toThrow(/^render: invalid Desired: /)
  })

  it.each([-1, 257, 1.5])("server weight %d", (weight) => {
    expect(() => render(withOptions({}, { weight }) as never, settings())).toThrow(/^render: invalid Desired: server i-task-a1 weight/)
  })
})
