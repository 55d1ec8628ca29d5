import { describe, expect, it } from "vitest"
import type { Desired } from "../../src/model/desired.ts"
import { plan } from "../../src/plan/plan.ts"
import { render, renderSummary } from "../../src/render/render.ts"
import { hostModeSnapshot, pathModeSnapshot, SECRET_HASH, settings } from "./fixtures.ts"

const hostDesired = plan(hostModeSnapshot(), { defaultInstancePort: undefined })
const pathDesired = plan(pathModeSnapshot(), { defaultInstancePort: 8000 })
const both: Desired = {
  backends: [...hostDesired.backends, ...pathDesired.backends].sort((a, b) => (a.name < b.name ? -1 : 1)),
  hostRoutes: hostDesired.hostRoutes,
  pathRoutes: pathDesired.pathRoutes,
  quarantined: [...hostDesired.quarantined, ...pathDesired.quarantined],
  ignoredOptions: []
}

const lines = (text: string) => text.split("\n").map((l) => l.trim())
const indexOf = (text: string, pattern: RegExp): number => lines(text).findIndex((l) => pattern.test(l))

describe("render: haproxy.cfg", () => {
  const cfg = render(both, settings({ defaultDomain: "www.example.org" }))["haproxy.cfg"]

  it("has the global and defaults the runtime and reload behaviour rely on", () => {
    for (const line of [
      "default-path config",
      "stats socket /run/cloudmap-haproxy/admin.sock mode 600 level admin",
      "nbthread 2",
      "hard-stop-after 60s",
      "mworker-max-reloads 50",
      "mode http",
      "option idle-close-on-response",
      "option redispatch",
      "option forwardfor",
      "retries 3",
      "retry-on conn-failure empty-response response-timeout",
      "balance roundrobin",
      "timeout connect 5s",
      "timeout client 65s",
      "timeout server 30s",
      "timeout http-keep-alive 65s",
      "timeout http-request 10s"
    ]) expect(lines(cfg)).toContain(line)
    expect(cfg).not.toMatch(/^\s*(master-worker|daemon|nbproc)\b/m)
  })

  it("routes with exact map lookups on map names relative to the config file, never domain/suffix matching", () => {
    expect(cfg).toContain(",map(hosts.map)")
    expect(cfg).toContain(",map(paths.map)")
    // default-path comes before anything that names a file.
    expect(indexOf(cfg, /^default-path config$/)).toBeLessThan(indexOf(cfg, /^stats socket /))
    expect(cfg).not.toContain("/run/cloudmap-haproxy/hosts.map")
    expect(cfg).not.toMatch(/hdr_dom|map_dom|map_end|map_beg|map_sub|map_reg|hdr\(host\)\s+-i/)
    expect(cfg).toContain("req.hdr(host),lower,field(1,:),regsub([.]$,)")
  })

  it("puts the metrics auth rule before use-service prometheus-exporter", () => {
    const check = indexOf(cfg, /^http-request set-var\(txn\.auth_ok\) bool\(1\) if is_metrics has_credentials \{ http_auth\(ul_metrics\) \}$/)
    const auth = indexOf(cfg, /^http-request auth realm metrics if is_metrics !\{ var\(txn\.auth_ok\) -m bool \}$/)
    expect(check).toBeGreaterThan(-1)
    expect(auth).toBeGreaterThan(check)
    const service = indexOf(cfg, /^http-request use-service prometheus-exporter if is_metrics$/)
    expect(auth).toBeGreaterThan(-1)
    expect(service).toBeGreaterThan(auth)
  })

  it("guards the stats page with its own userlist, decided before the path is rewritten", () => {
    const check = indexOf(cfg, /^http-request set-var\(txn\.auth_ok\) bool\(1\) if is_stats has_credentials \{ http_auth\(ul_stats\) \}$/)
    const auth = indexOf(cfg, /^http-request auth realm stats if is_stats !\{ var\(txn\.auth_ok\) -m bool \}$/)
    expect(check).toBeGreaterThan(-1)
    expect(auth).toBeGreaterThan(check)
    const flag = indexOf(cfg, /^http-request set-var\(txn\.stats\) bool\(1\) if is_stats$/)
    const rewrite = indexOf(cfg, /^http-request set-path /)
    expect(auth).toBeGreaterThan(-1)
    expect(flag).toBeGreaterThan(auth)
    expect(rewrite).toBeGreaterThan(flag)
    expect(lines(cfg)).toContain("use_backend be_stats if { var(txn.stats) -m bool }")
    expect(cfg).toMatch(/\nbackend be_stats\n {4}stats enable\n {4}stats uri \/stats\n/)
  })

  it("writes SHA-512-crypt hashes single-quoted, never double-quoted, never a plaintext password", () => {
    expect(lines(cfg)).toContain(`user admin password '${SECRET_HASH}'`)
    expect(lines(cfg)).toContain(`user prom password '${SECRET_HASH}'`)
    expect(cfg).not.toMatch(/password "/)
    expect(cfg).not.toContain("insecure-password")
    expect(cfg).not.toMatch(/stats auth/)
    expect(cfg).not.toMatch(/\bsecret\b/)
  })

  it("redirects unknown hosts to the default domain (not itself), else answers 404", () => {
    expect(lines(cfg)).toContain(
      "http-request redirect location http://www.example.org/ code 302 unless { var(txn.route) -m found } || { var(txn.stats) -m bool } || { var(txn.host) -m str www.example.org }"
    )
    expect(lines(cfg)).toContain("http-request return status 404 unless { var(txn.route) -m found } || { var(txn.stats) -m bool }")
    const without = render(both, settings({ defaultDomain: undefined }))["haproxy.cfg"]
    expect(without).not.toContain("redirect")
    expect(without).toContain("http-request return status 404")
  })

  it("writes one backend per route with sorted servers, IPv6 in brackets, check on every server", () => {
    expect(cfg).toContain(
      "backend be_web.example.com\n" +
        "    server i-0f1e2d3c4b5a69788796a5b4c3d2e1f0 10.0.1.11:8080 check inter 2s fall 3 rise 2\n" +
        "    server i-7c3a9e1b2d4f60718293a4b5c6d7e8f9 10.0.1.12:8080 check inter 2s fall 3 rise 2\n"
    )
    expect(cfg).toMatch(/\n {4}server h-[0-9a-f]{16} \[2001:db8::10\]:8443 check inter 2s fall 3 rise 2\n/)
    expect(cfg).toContain("backend be_idle.example.com\n\nbackend") // zero instances: no servers
    expect(cfg).toContain("backend be_example.net_docs\n    # Path mode: strip the matched /<segment> (/web -> /, /web/a?q=1 -> /a?q=1).\n    http-request set-path %[path,regsub(^/[^/]*/?,/)] if { var(txn.strip) -m bool }\n    server i-task-3 10.0.2.23:8000 check")
    const servers = lines(cfg).filter((l) => l.startsWith("server "))
    expect(servers).toHaveLength(6)
    for (const s of servers) expect(s).toMatch(/^server [a-z0-9_.-]+ (\d+\.\d+\.\d+\.\d+|\[[0-9a-f:.]+\]):\d+ check inter 2s fall 3 rise 2$/)
    const backends = lines(cfg).filter((l) => l.startsWith("backend be_") && l.includes(".")).map((l) => l.slice(8))
    expect(backends).toHaveLength(5)
    expect(backends).toEqual([...backends].sort())
  })

  it("never writes the Cloud Map instance id when it is not itself the server name", () => {
    expect(cfg).not.toContain("arn:task/API-1")
  })

  it("leaves out the stats page and the exporter when they are disabled", () => {
    const none = render(both, settings({ stats: undefined, metrics: undefined }))["haproxy.cfg"]
    expect(none).not.toMatch(/userlist|is_stats|is_metrics|prometheus-exporter|be_stats|txn\.stats|stats enable/)
    expect(none).toContain("stats socket") // the runtime API stays
    const statsOnly = render(both, settings({ metrics: undefined }))["haproxy.cfg"]
    expect(statsOnly).toContain("userlist ul_stats")
    expect(statsOnly).not.toContain("ul_metrics")
    expect(statsOnly).not.toContain("prometheus-exporter")
    const metricsOnly = render(both, settings({ stats: undefined }))["haproxy.cfg"]
    expect(metricsOnly).toContain("prometheus-exporter")
    expect(metricsOnly).not.toContain("ul_stats")
    expect(metricsOnly).not.toContain("txn.stats")
  })

  it("binds the configured address and port, IPv6 in brackets", () => {
    expect(lines(cfg)).toContain("bind 127.0.0.1:8080")
    expect(lines(render(both, settings({ listenAddress: "*", listenPort: 80 }))["haproxy.cfg"])).toContain("bind *:80")
    expect(lines(render(both, settings({ listenAddress: "::" }))["haproxy.cfg"])).toContain("bind [::]:8080")
  })

  it("contains only printable ASCII and starts with a generated-file header", () => {
    expect(cfg).toMatch(/^# Generated by cloudmap-haproxy/)
    expect(cfg).toMatch(/^[\x20-\x7e\n]*$/)
    expect(cfg.endsWith("\n")).toBe(true)
  })
})

describe("render: map files", () => {
  const files = render(both, settings())

  it("writes `<key> <backend>` lines, sorted", () => {
    expect(files["hosts.map"]).toBe(
      "api.example.com be_api.example.com\n" +
        "idle.example.com be_idle.example.com\n" +
        "web.example.com be_web.example.com\n"
    )
    expect(files["paths.map"]).toBe(
      "example.net/docs be_example.net_docs\n" +
        "example.net/web be_example.net_web\n"
    )
  })

  it("writes empty maps for an empty Desired", () => {
    const empty = render({ backends: [], hostRoutes: [], pathRoutes: [], quarantined: [], ignoredOptions: [] }, settings())
    expect(empty["hosts.map"]).toBe("")
    expect(empty["paths.map"]).toBe("")
    expect(empty["haproxy.cfg"]).not.toMatch(/^backend be_[a-z0-9.-]+\.[a-z]/m)
  })
})

describe("render: determinism", () => {
  it("gives the same bytes for the same input, whatever the order of the Desired arrays", () => {
    const shuffled: Desired = {
      backends: [...both.backends].reverse().map((b) => ({ ...b, servers: [...b.servers].reverse() })),
      hostRoutes: [...both.hostRoutes].reverse(),
      pathRoutes: [...both.pathRoutes].reverse(),
      quarantined: [...both.quarantined].reverse(),
      ignoredOptions: []
    }
    const a = render(both, settings())
    expect(render(both, settings())).toEqual(a)
    expect(render(shuffled, settings())).toEqual(a)
  })

  it("does not depend on quarantined records (they are never rendered into HAProxy files)", () => {
    expect(render({ ...both, quarantined: [] }, settings())).toEqual(render(both, settings()))
  })
})

describe("render: refuses unsafe settings and Desired (defense in depth)", () => {
  it.each([
    ["configDir relative", { configDir: "run/haproxy" }, /configDir/],
    ["configDir with a space", { configDir: "/run/ha proxy" }, /configDir/],
    ["configDir with a newline", { configDir: "/run/x\nlisten pwn" }, /configDir/],
    ["configDir with ..", { configDir: "/run/../etc" }, /configDir/],
    ["listenAddress a hostname", { listenAddress: "localhost" }, /listenAddress/],
    ["listenPort 0", { listenPort: 0 }, /listenPort/],
    ["nbthread 0", { nbthread: 0 }, /nbthread/],
    ["hard-stop-after 1.5", { hardStopAfterSeconds: 1.5 }, /hardStopAfterSeconds/],
    ["defaultDomain with a space", { defaultDomain: "example.org code 301" }, /defaultDomain/],
    ["stats user with a space", { stats: { user: "ad min", passwordHash: SECRET_HASH } }, /stats\.user/],
    ["stats plaintext password", { stats: { user: "admin", passwordHash: "secret" } }, /stats\.passwordHash/],
    ["metrics hash with a quote", { metrics: { user: "prom", passwordHash: `${SECRET_HASH}'` } }, /metrics\.passwordHash/],
    ["metrics yescrypt hash", { metrics: { user: "prom", passwordHash: "$y$j9T$abc$def" } }, /metrics\.passwordHash/]
  ])("%s", (_label, overrides, expected) => {
    expect(() => render(both, settings(overrides))).toThrow(expected)
  })

  it("does not echo a password hash in the error", () => {
    expect(() => render(both, settings({ stats: { user: "admin", passwordHash: "hunter2" } }))).toThrow(
      /^((?!hunter2).)*$/s
    )
  })

  it("refuses a Desired that did not come from the planner", () => {
    const bad = (patch: Partial<Desired>) => () => render({ ...both, ...patch }, settings())
    expect(bad({ backends: [{ ...both.backends[0]!, name: "be_x\nlisten pwn" }] })).toThrow(/invalid Desired/)
    expect(bad({ hostRoutes: [{ host: "a.example.com b", backend: "be_a.example.com" }] })).toThrow(/invalid Desired/)
    const server = both.backends[0]!.servers[0]!
    expect(bad({ backends: [{ ...both.backends[0]!, servers: [{ ...server, address: "127.0.0.1 backup" }] }] }))
      .toThrow(/invalid Desired/)
    expect(bad({ backends: [{ ...both.backends[0]!, servers: [{ ...server, port: 0 }] }] })).toThrow(/invalid Desired/)
  })
})

describe("renderSummary", () => {
  it("lists routes with backends and instance counts, and quarantined records with reasons", () => {
    const summary = renderSummary(both)
    expect(summary).toContain("Routes: 5 (3 host, 2 path)")
    expect(summary).toMatch(/host web\.example\.com\s+-> be_web\.example\.com\s+2 instances\n/)
    expect(summary).toMatch(/host idle\.example\.com\s+-> be_idle\.example\.com\s+0 instances \(answers 503\)\n/)
    expect(summary).toMatch(/host api\.example\.com\s+-> be_api\.example\.com\s+1 instance\n/)
    expect(summary).toMatch(/path example\.net\/docs\s+-> be_example\.net_docs\s+1 instance\n/)
    expect(summary).toContain("Quarantined: 2")
    expect(summary).toContain("namespace \"apps\" service \"bad name\": service name contains a space")
    expect(summary).toContain("namespace \"internal\" service \"metrics\": path segment /metrics is reserved")
  })

  it("escapes untrusted values so a summary never carries raw control characters", () => {
    const summary = renderSummary({
      backends: [],
      hostRoutes: [],
      pathRoutes: [],
      quarantined: [
        { namespace: "apps", service: "x\nInjected: line", instanceId: "i\u001b[31m", reason: "raw\nreason\u202e" }
      ],
      ignoredOptions: []
    })
    expect(summary).toBe(
      "Routes: 0 (0 host, 0 path)\nQuarantined: 1\n" +
        "  namespace \"apps\" service \"x\\nInjected: line\" instance \"i\\u001b[31m\": raw\\u000areason\\u202e\n"
    )
  })
})
