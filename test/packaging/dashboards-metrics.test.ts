/**
 * Every metric examples/grafana-dashboard.json and examples/prometheus-alerts.yml name exists:
 * scraped from a real agent (HEALTH_PORT /metrics) and its real HAProxy's Prometheus exporter
 * (/metrics on the traffic port, basic auth), against the mock Cloud Map. The failure counters
 * and runtime update counters appear once something happened, so an instance is added (runtime
 * API), a new service's candidate is made to fail validation (the fault wrapper's fail-check) and
 * the change feed is denied for a moment (the mock's fault injection: the feed becomes
 * unavailable, counted by problem) before scraping.
 */
import { mkdtempSync, realpathSync, rmSync, unlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type MockCloudMapHandle, startMockCloudMap } from "../../src/mock/server.ts"
import { type AgentProcess, APPS_HOST_MAP, eventually, startAgent, viaHaproxy } from "../support/agent.ts"
import { type Backends, startBackends } from "../support/backends.ts"
import { createService, namespaceId, register, sdkFor } from "../support/cloudmap-sdk.ts"
import { faultWrapper } from "../support/fault-wrapper.ts"
import { appsFixture } from "../support/fixtures.ts"
import { dashboardExprs, exposedNames, loadDashboard, loadRules, promqlNames } from "./promql.ts"

const PROM_USER = "prom-user"
const PROM_PASSWD = "prom-secret-5e1a"

describe("the metrics the dashboard and the alert rules name exist", () => {
  let backends: Backends
  let mock: MockCloudMapHandle
  let agent: AgentProcess
  let faultDir: string
  let exposed: Set<string>
  let haproxyText: string

  const scrapeHaproxy = async () =>
    viaHaproxy(agent.listenPort, "metrics.example.test", "/metrics", {
      authorization: `Basic ${Buffer.from(`${PROM_USER}:${PROM_PASSWD}`).toString("base64")}`
    })

  beforeAll(async () => {
    backends = await startBackends([{ name: "web-1" }, { name: "web-2" }, { name: "rejected-1" }])
    mock = await startMockCloudMap({ fixture: appsFixture(backends, { web: ["web-1"] }) })
    faultDir = realpathSync(mkdtempSync(join(tmpdir(), "cmh-dashboards-fault-")))
    agent = await startAgent({
      AWS_ENDPOINT_URL_SERVICEDISCOVERY: mock.url,
      NAMESPACE_MAP: APPS_HOST_MAP,
      STATS_PASSWD: "stats-secret-2b7c",
      PROM_USER,
      PROM_PASSWD,
      HAPROXY_BIN: faultWrapper(faultDir)
    })
    await agent.ready()
    // Traffic through a route backend, so that its counters have moved.
    await eventually("web serving", async () => (await viaHaproxy(agent.listenPort, "web.example.test")).status === 200)
    const sdk = sdkFor(mock.url)
    // A new instance of a served service goes through the runtime API.
    await register(sdk, "srv-web", "web-2", backends.byName("web-2").port)
    await eventually("a runtime update counted", async () =>
      (await agent.get("/metrics")).body.includes("cloudmap_haproxy_runtime_updates_total{"))
    // A new service needs a reload; its candidate is refused by `haproxy -c`.
    writeFileSync(join(faultDir, "fail-check"), "")
    const id = await createService(sdk, await namespaceId(sdk, "apps"), "rejected")
    await register(sdk, id, "rejected-1", backends.byName("rejected-1").port)
    await eventually("a refused candidate counted", async () =>
      (await agent.get("/metrics")).body.includes("cloudmap_haproxy_validation_failures_total"))
    unlinkSync(join(faultDir, "fail-check"))
    await eventually("the new service applied after all", async () => (await viaHaproxy(agent.listenPort, "rejected.example.test")).status === 200)

    // The supervisor counts HAProxy's workers every 5 s.
    await eventually("the workers counted", async () => (await agent.get("/metrics")).body.includes("cloudmap_haproxy_haproxy_workers "))

    // ListOperations denied: the change feed becomes unavailable (counted by problem) and revision polling takes over.
    const denied = await fetch(`${mock.url}/_mock/faults`, { method: "POST", body: JSON.stringify({ kind: "accessDenied", operation: "ListOperations" }) })
    expect(denied.status).toBe(200)
    await eventually("the feed's unavailability counted", async () =>
      /^cloudmap_haproxy_change_feed_unavailable_total\{[^}]*problem="denied"[^}]*\} \d+$/m.test((await agent.get("/metrics")).body))
    await fetch(`${mock.url}/_mock/faults`, { method: "DELETE" })

    const own = await agent.get("/metrics")
    expect(own.status).toBe(200)
    const haproxy = await scrapeHaproxy()
    expect(haproxy.status).toBe(200)
    haproxyText = haproxy.body
    exposed = new Set([...exposedNames(own.body), ...exposedNames(haproxy.body)])
  }, 120_000)

  afterAll(async () => {
    await agent?.stop()
    await mock?.close()
    await backends?.close()
    if (faultDir !== undefined) rmSync(faultDir, { recursive: true, force: true })
  })

  it("both endpoints were scraped: the agent's metrics, histograms as _bucket/_sum/_count, and HAProxy's per backend", () => {
    for (const m of [
      "cloudmap_haproxy_ready", "cloudmap_haproxy_refresh_seconds_bucket", "cloudmap_haproxy_refresh_seconds_count",
      "cloudmap_haproxy_refresh_seconds_sum", "cloudmap_haproxy_cloudmap_calls_total", "haproxy_backend_http_requests_total",
      "haproxy_server_status", "haproxy_process_start_time_seconds"
    ]) expect(exposed.has(m), m).toBe(true)
    // The labels the dashboard and the rules group and filter by.
    expect(haproxyText).toMatch(/^haproxy_backend_http_responses_total\{proxy="be_web\.example\.test",code="5xx"\} \d+$/m)
    expect(haproxyText).toMatch(/^haproxy_server_status\{proxy="be_web\.example\.test",server="[^"]+",state="UP"\} 1$/m)
    expect(haproxyText).toMatch(/^haproxy_backend_active_servers\{proxy="be_stats"\} 0$/m)
    // The change feed's gauge, and its counter's series by problem (the feed was denied above).
    for (const m of ["cloudmap_haproxy_change_feed_active", "cloudmap_haproxy_change_feed_unavailable_total"]) expect(exposed.has(m), m).toBe(true)
  })

  it("HAProxy's exporter wants the password", async () => {
    const r = await viaHaproxy(agent.listenPort, "metrics.example.test", "/metrics")
    expect(r.status).toBe(401)
  })

  it("every metric in the dashboard's expressions and variable queries", () => {
    const missing = dashboardExprs(loadDashboard()).flatMap((e) => e.names.metrics.filter((m) => !exposed.has(m)).map((m) => `${e.where}: ${m}`))
    expect(missing).toEqual([])
  })

  it("every metric in the alert rules' expressions", () => {
    const rules = loadRules().groups.flatMap((g) => g.rules)
    expect(rules.length).toBeGreaterThan(0)
    const missing = rules.flatMap((r) => promqlNames(r.expr).metrics.filter((m) => !exposed.has(m)).map((m) => `${r.alert}: ${m}`))
    expect(missing).toEqual([])
  })

  it("a misspelt metric would be reported", () => {
    expect(promqlNames("rate(cloudmap_haproxy_reload_total[5m])").metrics.filter((m) => !exposed.has(m))).toEqual(["cloudmap_haproxy_reload_total"])
  })
})
