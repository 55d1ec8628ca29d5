/**
 * MONITORING_PORT through a real HAProxy (2.6 here, 3.x with HAPROXY_BIN): with a monitoring port,
 * /stats and /metrics are served on that port only, behind their passwords, and every path of
 * every host on the traffic port reaches its service (an application's own /metrics and /stats
 * too). Without one, the traffic port keeps claiming both on every host, as the original image did.
 */
import { request } from "node:http"
import { encrypt } from "unixcrypt"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { plan } from "../../src/plan/plan.ts"
import { render } from "../../src/render/render.ts"
import { type Backends, type EchoReply, startBackends } from "../support/backends.ts"
import { checkConfig, type HaproxyProcess, isAlive, startHaproxy } from "../support/haproxy-process.ts"
import { freePort } from "../support/ports.ts"
import { hostNs, instance, namespace, removeTempDirs, service, settings, snapshot, tempDir, writeRendered } from "./fixtures.ts"
import { LOOPBACK_ALLOWED } from "../support/networks.ts"

interface Reply {
  readonly status: number
  readonly body: string
  readonly contentType: string
}

const get = (port: number, host: string, path: string, auth?: string): Promise<Reply> =>
  new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host }
    if (auth !== undefined) headers["authorization"] = `Basic ${Buffer.from(auth).toString("base64")}`
    const req = request({ host: "127.0.0.1", port, path, method: "GET", headers, agent: false }, (res) => {
      let body = ""
      res.setEncoding("utf8")
      res.on("data", (chunk: string) => (body += chunk))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, contentType: String(res.headers["content-type"] ?? "") }))
      res.on("error", reject)
    })
    req.setTimeout(10_000, () => req.destroy(new Error(`timeout: ${host} ${path}`)))
    req.on("error", reject)
    req.end()
  })

const STATS = { user: "admin", passwordHash: encrypt("statspw", "$6$statsalt") }
const METRICS = { user: "prom", passwordHash: encrypt("metricspw", "$6$promsalt") }

let backends: Backends
let traffic = 0
let monitoring = 0
let shared = 0
const running: Array<HaproxyProcess> = []

beforeAll(async () => {
  backends = await startBackends([{ name: "web-1" }])
  const b = backends.byName("web-1")
  const desired = plan(snapshot([namespace(hostNs("apps", "example.com"), [service("web", [instance("task-1", b.host, String(b.port))])])]), {
    defaultInstancePort: undefined,
    instanceNetworks: LOOPBACK_ALLOWED
  })
  traffic = await freePort()
  monitoring = await freePort()
  shared = await freePort()
  const dedicated = tempDir("monitoring-port")
  const today = tempDir("monitoring-shared")
  const files = [
    { dir: dedicated, port: traffic, files: render(desired, settings({ listenPort: traffic, monitoringPort: monitoring, configDir: dedicated, defaultDomain: "www.example.org", stats: STATS, metrics: METRICS })) },
    { dir: today, port: shared, files: render(desired, settings({ listenPort: shared, configDir: today, stats: STATS, metrics: METRICS })) }
  ]
  for (const f of files) {
    const cfg = writeRendered(f.dir, f.files)
    const check = checkConfig(cfg)
    expect(check.ok, check.output).toBe(true)
    running.push(await startHaproxy({ dir: f.dir, cfgPath: cfg, port: f.port }))
  }
})

afterAll(async () => {
  const pids = running.flatMap((h) => [h.pid, ...h.workerPids()])
  for (const h of running) await h.stop()
  await backends?.close()
  removeTempDirs()
  for (const pid of pids) expect(isAlive(pid), `haproxy pid ${pid} still alive`).toBe(false)
})

describe("with MONITORING_PORT", () => {
  it.each(["/metrics", "/stats", "/stats;csv", "/stats/x"])("the traffic port sends %s of a routed host to its service", async (path) => {
    const reply = await get(traffic, "web.example.com", path)
    expect(reply.status, reply.body).toBe(200)
    expect(JSON.parse(reply.body) as EchoReply).toMatchObject({ server: "web-1", path })
  })

  it("the traffic port treats /metrics of an unknown host like any unknown host (the default domain's redirect)", async () => {
    expect((await get(traffic, "nobody.example.net", "/metrics")).status).toBe(302)
    expect((await get(traffic, "nobody.example.net", "/stats", "admin:statspw")).status).toBe(302)
  })

  it("the monitoring port serves the exporter and the stats page behind their own passwords, whatever the Host", async () => {
    expect((await get(monitoring, "web.example.com", "/metrics")).status).toBe(401)
    expect((await get(monitoring, "web.example.com", "/metrics", "admin:statspw")).status).toBe(401)
    const metrics = await get(monitoring, "10.0.0.7:8404", "/metrics", "prom:metricspw")
    expect(metrics.status).toBe(200)
    expect(metrics.body).toMatch(/^haproxy_process_/m)
    expect((await get(monitoring, "web.example.com", "/stats")).status).toBe(401)
    expect((await get(monitoring, "web.example.com", "/stats", "prom:metricspw")).status).toBe(401)
    const stats = await get(monitoring, "anything", "/stats", "admin:statspw")
    expect(stats.status).toBe(200)
    expect(stats.contentType).toContain("text/html")
    expect(stats.body).toContain("Statistics Report")
  })

  it("the monitoring port routes nothing else: no service is reachable through it", async () => {
    for (const path of ["/", "/hello", "/metricsx"]) expect((await get(monitoring, "web.example.com", path)).status, path).toBe(404)
  })
})

describe("without MONITORING_PORT (the default)", () => {
  it("the traffic port claims /metrics and /stats on every host, as before", async () => {
    expect((await get(shared, "web.example.com", "/metrics")).status).toBe(401)
    expect((await get(shared, "web.example.com", "/metrics", "prom:metricspw")).body).toMatch(/^haproxy_process_/m)
    expect((await get(shared, "web.example.com", "/stats")).status).toBe(401)
    expect(JSON.parse((await get(shared, "web.example.com", "/hello")).body)).toMatchObject({ server: "web-1" })
  })
})
