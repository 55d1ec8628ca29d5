/**
 * End to end with a REAL HAProxy: echo backends on 127.0.0.1, a Snapshot pointing at them,
 * plan -> render -> files in a temp configDir -> `haproxy -W -db -S ... -f ...`, then real HTTP
 * with explicit Host headers.
 *
 * Two HAProxy instances: A has a default domain, the stats page and the Prometheus exporter;
 * B has none of them (unknown hosts get 404, /stats and /metrics are ordinary paths).
 */
import { request } from "node:http"
import { connect } from "node:net"
import { encrypt } from "unixcrypt"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { DiscoveredInstance } from "../../src/model/snapshot.ts"
import { plan } from "../../src/plan/plan.ts"
import { render } from "../../src/render/render.ts"
import { type Backends, type EchoReply, ipv6LoopbackAvailable, startBackends } from "../support/backends.ts"
import { checkConfig, type HaproxyProcess, isAlive, startHaproxy } from "../support/haproxy-process.ts"
import { LOOPBACK_ALLOWED } from "../support/networks.ts"
import { freePort } from "../support/ports.ts"
import {
  hostNs,
  instance,
  ipv6Instance,
  namespace,
  pathNs,
  removeTempDirs,
  service,
  settings,
  snapshot,
  tempDir,
  writeRendered
} from "./fixtures.ts"

interface Reply {
  readonly status: number
  readonly headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  readonly body: string
}

const get = (port: number, host: string | undefined, path: string, auth?: string): Promise<Reply> =>
  new Promise((resolve, reject) => {
    const headers: Record<string, string> = {}
    if (host !== undefined) headers["host"] = host
    if (auth !== undefined) headers["authorization"] = `Basic ${Buffer.from(auth).toString("base64")}`
    const req = request({ host: "127.0.0.1", port, path, method: "GET", headers, agent: false }, (res) => {
      let body = ""
      res.setEncoding("utf8")
      res.on("data", (chunk: string) => (body += chunk))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
      res.on("error", reject)
    })
    req.setTimeout(10_000, () => req.destroy(new Error(`timeout: ${host} ${path}`)))
    req.on("error", reject)
    req.end()
  })

/** The status line of a hand-written request (e.g. HTTP/1.0 with no Host header at all). */
const rawStatusLine = (port: number, raw: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port }, () => socket.end(raw))
    let data = ""
    socket.setEncoding("utf8")
    socket.setTimeout(10_000, () => socket.destroy(new Error("timeout")))
    socket.on("data", (chunk: string) => (data += chunk))
    socket.on("end", () => resolve(data.split("\r\n")[0] ?? ""))
    socket.on("error", reject)
  })

const echo = (reply: Reply): EchoReply => {
  expect(reply.status, reply.body).toBe(200)
  return JSON.parse(reply.body) as EchoReply
}

const STATS_HASH = encrypt("statspw", "$6$rounds=1000$statsalt")
const METRICS_HASH = encrypt("metricspw", "$6$rounds=1000$promsalt")

let backends: Backends
let withIpv6 = false
let portA = 0
let portB = 0
let haproxyA: HaproxyProcess | undefined
let haproxyB: HaproxyProcess | undefined
const stopped: Array<number> = []

beforeAll(async () => {
  withIpv6 = await ipv6LoopbackAvailable()
  backends = await startBackends([
    { name: "web-1" },
    { name: "web-2" },
    { name: "api-1" },
    { name: "path-web-1" },
    { name: "path-docs-1" },
    ...(withIpv6 ? [{ name: "v6-1", host: "::1" }] : [])
  ])
  const at = (name: string, id: string): DiscoveredInstance => {
    const b = backends.byName(name)
    return b.host === "::1" ? ipv6Instance(id, "::1", String(b.port)) : instance(id, b.host, String(b.port))
  }
  const desired = plan(
    snapshot([
      namespace(hostNs("apps", "example.com"), [
        service("web", [at("web-1", "task-web-1"), at("web-2", "task-web-2")]),
        service("_api._tcp", [at("api-1", "Task/API-1")]),
        service("idle", []),
        ...(withIpv6 ? [service("v6", [at("v6-1", "task-v6-1")])] : [])
      ]),
      namespace(pathNs("int", "example.net"), [
        service("web", [at("path-web-1", "task-p-1")]),
        service("docs", [at("path-docs-1", "task-p-2")])
      ])
    ]),
    { defaultInstancePort: undefined, instanceNetworks: LOOPBACK_ALLOWED }
  )
  expect(desired.quarantined).toEqual([])

  const dirA = tempDir("e2e-a")
  const dirB = tempDir("e2e-b")
  portA = await freePort()
  portB = await freePort()
  const filesA = render(desired, settings({
    listenPort: portA,
    configDir: dirA,
    defaultDomain: "www.example.org",
    stats: { user: "admin", passwordHash: STATS_HASH },
    metrics: { user: "prom", passwordHash: METRICS_HASH }
  }))
  const filesB = render(desired, settings({ listenPort: portB, configDir: dirB, stats: undefined, metrics: undefined }))
  const cfgA = writeRendered(dirA, filesA)
  const cfgB = writeRendered(dirB, filesB)
  for (const cfg of [cfgA, cfgB]) {
    const check = checkConfig(cfg)
    expect(check.ok, check.output).toBe(true)
  }
  haproxyA = await startHaproxy({ dir: dirA, cfgPath: cfgA, port: portA })
  haproxyB = await startHaproxy({ dir: dirB, cfgPath: cfgB, port: portB })
})

afterAll(async () => {
  for (const h of [haproxyA, haproxyB]) {
    if (h === undefined) continue
    stopped.push(h.pid, ...h.workerPids())
    await h.stop()
  }
  await backends?.close()
  removeTempDirs()
  // Nothing left behind: neither the masters nor their workers.
  for (const pid of stopped) expect(isAlive(pid), `haproxy pid ${pid} still alive`).toBe(false)
})

describe("HAProxy process", () => {
  it("runs as master + worker", () => {
    expect(haproxyA?.workerPids().length).toBeGreaterThan(0)
    expect(haproxyA?.output()).toMatch(/Loading success/)
  })
})

describe("host mode", () => {
  it("routes the exact host to its backend, round-robin over its instances", async () => {
    const seen = new Set<string>()
    for (let i = 0; i < 6; i++) seen.add(echo(await get(portA, "web.example.com", "/hello")).server)
    expect([...seen].sort()).toEqual(["web-1", "web-2"])
  })

  it("forwards the path untouched", async () => {
    expect(echo(await get(portA, "web.example.com", "/a/b?q=1")).path).toBe("/a/b?q=1")
  })

  it.each(["web.example.com:8080", "WEB.EXAMPLE.COM", "Web.Example.Com.", "web.example.com.:80"])(
    "normalises Host %j",
    async (host) => {
      expect(echo(await get(portB, host, "/")).server).toMatch(/^web-[12]$/)
    }
  )

  it("routes an SRV-style service by its plain name", async () => {
    expect(echo(await get(portB, "api.example.com", "/")).server).toBe("api-1")
  })

  it("reaches an IPv6 server", async (ctx) => {
    if (!withIpv6) ctx.skip()
    expect(echo(await get(portB, "v6.example.com", "/six")).server).toBe("v6-1")
  })

  it.each(["example.com.evil.net", "xweb.example.com", "web.example.com.evil.net", "evil.web.example.com", "example.com"])(
    "does not route look-alike host %j (404 without a default domain)",
    async (host) => {
      const reply = await get(portB, host, "/")
      expect(reply.status).toBe(404)
      expect(reply.body).not.toContain("\"server\"")
    }
  )

  it.each([":web.example.com", "web.example.com, other.example.com", "web.example.com other", "web.example.com:80:80"])(
    "refuses a Host that is not one host[:port] %j with 400",
    async (host) => {
      const reply = await get(portB, host, "/")
      expect(reply.status).toBe(400)
      expect(reply.body).not.toContain("\"server\"")
    }
  )

  it("answers 503 for a service with zero instances", async () => {
    expect((await get(portB, "idle.example.com", "/")).status).toBe(503)
  })

  it("redirects an unknown host to the default domain (302)", async () => {
    const reply = await get(portA, "unknown.example.com", "/x")
    expect(reply.status).toBe(302)
    expect(reply.headers["location"]).toBe("http://www.example.org/")
  })

  it("answers 404 instead of redirecting the default domain to itself", async () => {
    expect((await get(portA, "www.example.org", "/")).status).toBe(404)
  })

  it("answers 404 without a default domain, also for a request without Host", async () => {
    expect((await get(portB, "unknown.example.com", "/")).status).toBe(404)
    expect(await rawStatusLine(portB, "GET /web HTTP/1.0\r\n\r\n")).toMatch(/^HTTP\/1\.[01] 404 /)
  })
})

describe("path mode", () => {
  it.each([
    ["/web", "path-web-1", "/"],
    ["/web/", "path-web-1", "/"],
    ["/web/x?q=1", "path-web-1", "/x?q=1"],
    ["/web?q=2", "path-web-1", "/?q=2"],
    ["/web/a/b/", "path-web-1", "/a/b/"],
    ["/docs/guide", "path-docs-1", "/guide"]
  ])("%s reaches %s with the prefix stripped (%s)", async (path, server, forwarded) => {
    const reply = echo(await get(portB, "example.net", path))
    expect(reply.server).toBe(server)
    expect(reply.path).toBe(forwarded)
  })

  it.each(["EXAMPLE.NET:8080", "example.net."])("normalises Host %j", async (host) => {
    expect(echo(await get(portB, host, "/web/x")).path).toBe("/x")
  })

  it.each(["/webfoo", "/", "/WEB", "/x/web", "//web"])("does not route %j", async (path) => {
    expect((await get(portB, "example.net", path)).status).toBe(404)
  })

  it("does not route a path-mode segment on another host", async () => {
    expect((await get(portB, "www.example.net", "/web")).status).toBe(404)
  })
})

describe("monitoring", () => {
  it.each([
    ["/stats", "admin:statspw"],
    ["/stats;csv", "admin:statspw"],
    ["/metrics", "prom:metricspw"]
  ])("%s: 401 without credentials, 401 with a wrong password, 200 with the right one", async (path, good) => {
    const none = await get(portA, "web.example.com", path)
    expect(none.status).toBe(401)
    expect(none.headers["www-authenticate"]).toMatch(/^Basic realm=/)
    expect((await get(portA, "web.example.com", path, `${good.split(":")[0]}:wrong`)).status).toBe(401)
    const ok = await get(portA, "web.example.com", path, good)
    expect(ok.status).toBe(200)
    expect(ok.body).not.toContain("\"server\"")
  })

  it("keeps the two userlists apart", async () => {
    expect((await get(portA, "web.example.com", "/metrics", "admin:statspw")).status).toBe(401)
    expect((await get(portA, "web.example.com", "/stats", "prom:metricspw")).status).toBe(401)
  })

  it("serves the exporter and the stats page for what they are", async () => {
    const metrics = await get(portA, "anything.example", "/metrics", "prom:metricspw")
    expect(metrics.body).toMatch(/^haproxy_process_build_info/m)
    expect(metrics.body).toContain("be_web.example.com")
    const stats = await get(portA, "anything.example", "/stats;csv", "admin:statspw")
    expect(stats.body).toMatch(/^# pxname,svname,/)
  })

  it("is decided on the original path: /web/stats in path mode goes to the service, not the stats page", async () => {
    const reply = echo(await get(portA, "example.net", "/web/stats", "admin:statspw"))
    expect(reply).toMatchObject({ server: "path-web-1", path: "/stats" })
  })

  it("without stats/metrics configured, /stats and /metrics are ordinary paths", async () => {
    expect(echo(await get(portB, "web.example.com", "/stats")).path).toBe("/stats")
    expect(echo(await get(portB, "web.example.com", "/metrics")).path).toBe("/metrics")
  })
})
