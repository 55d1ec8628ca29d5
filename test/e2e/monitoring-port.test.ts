/**
 * MONITORING_PORT through the whole agent (variable → rendering → HAProxy): the application's own
 * /metrics and /stats reach it through LISTEN_PORT, and HAProxy's are on MONITORING_PORT, behind
 * their passwords.
 */
import { request } from "node:http"
import { afterAll, beforeAll, expect, it } from "vitest"
import { type MockCloudMapHandle, startMockCloudMap } from "../../src/mock/server.ts"
import { type AgentProcess, APPS_HOST_MAP, startAgent } from "../support/agent.ts"
import { type Backends, startBackends } from "../support/backends.ts"
import { appsFixture } from "../support/fixtures.ts"
import { freePort } from "../support/ports.ts"

const get = (port: number, host: string, path: string, auth?: string) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const headers: Record<string, string> = { host }
    if (auth !== undefined) headers["authorization"] = `Basic ${Buffer.from(auth).toString("base64")}`
    const req = request({ host: "127.0.0.1", port, path, headers, agent: false }, (res) => {
      let body = ""
      res.setEncoding("utf8")
      res.on("data", (c: string) => (body += c))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.setTimeout(10_000, () => req.destroy(new Error(`timeout ${path}`)))
    req.on("error", reject)
    req.end()
  })

let backends: Backends
let mock: MockCloudMapHandle
let agent: AgentProcess
let monitoring = 0

beforeAll(async () => {
  backends = await startBackends([{ name: "web-1" }])
  mock = await startMockCloudMap({ fixture: appsFixture(backends, { web: ["web-1"] }) })
  monitoring = await freePort()
  agent = await startAgent({
    AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url,
    NAMESPACE_MAP: APPS_HOST_MAP,
    MONITORING_PORT: String(monitoring)
  })
  await agent.ready(40_000)
})

afterAll(async () => {
  await agent?.stop()
  await mock?.close()
  await backends?.close()
})

it("the application's /metrics and /stats reach it through LISTEN_PORT", async () => {
  for (const path of ["/metrics", "/stats"]) {
    const reply = await get(agent.listenPort, "web.example.test", path)
    expect(reply.status, reply.body).toBe(200)
    expect(JSON.parse(reply.body)).toMatchObject({ server: "web-1", path })
  }
})

it("HAProxy's /metrics and /stats are on MONITORING_PORT, behind PROM_USER and STATS_USER", async () => {
  expect((await get(monitoring, "x", "/metrics")).status).toBe(401)
  const metrics = await get(monitoring, "x", "/metrics", "stats:prom-secret")
  expect(metrics.status).toBe(200)
  expect(metrics.body).toMatch(/^haproxy_server_status\{proxy="be_web\.example\.test"/m)
  expect((await get(monitoring, "x", "/stats", "stats_user:stats-secret")).body).toContain("Statistics Report")
  expect((await get(monitoring, "web.example.test", "/")).status).toBe(404)
})
