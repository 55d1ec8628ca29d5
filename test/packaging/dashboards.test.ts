/**
 * examples/grafana-dashboard.json and examples/prometheus-alerts.yml: the dashboard's structure
 * (a Prometheus datasource variable, job/instance variables, a target with an expression on every
 * panel), both files' PromQL checked by promtool, the alert rules' severity, `for` and
 * annotations, and what each file covers (docs/metrics.md "Dashboards and alerts"). That every metric they
 * name exists is checked against a running agent and HAProxy in dashboards-metrics.test.ts.
 */
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { ALERTS, allPanels, dashboardExprs, loadDashboard, loadRules, PROMQL_FUNCTIONS, promqlNames, promtool, variableQueryNames } from "./promql.ts"

const PROMTOOL = promtool()
const dashboard = loadDashboard()
const rules = loadRules().groups.flatMap((g) => g.rules)
const scratch = mkdtempSync(join(tmpdir(), "cmh-promtool-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

/** promtool check rules on a file: exit status and output. */
const checkRules = (path: string): { ok: boolean; output: string } => {
  try {
    return { ok: true, output: execFileSync(PROMTOOL!, ["check", "rules", path], { encoding: "utf8", stdio: "pipe" }) }
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string }
    return { ok: false, output: `${err.stdout ?? ""}${err.stderr ?? ""}` }
  }
}

describe("metric names out of PromQL", () => {
  it.each([
    ["rate(a_total[5m])", ["a_total"], ["rate"]],
    ['sum by (proxy, code) (rate(haproxy_backend_http_responses_total{code="5xx", proxy!="be_stats"}[$__rate_interval]))', ["haproxy_backend_http_responses_total"], ["rate", "sum"]],
    ["histogram_quantile(0.95, sum by (le) (rate(x_seconds_bucket[5m])))", ["x_seconds_bucket"], ["histogram_quantile", "rate", "sum"]],
    ["sum(rate(a_sum[1m])) without (instance) / on (job) group_left (kind) sum(b_count)", ["a_sum", "b_count"], ["rate", "sum"]],
    ["(a + b) == 0 and c > bool 1e-9 unless d offset 5m", ["a", "b", "c", "d"], []],
    ['{__name__="named_metric", job="x"} or time() - last_ts{instance=~"$instance"}', ["last_ts", "named_metric"], ["time"]],
    ['label_replace(up_ish{a="b,c"}, "dst", "$1", "src", "(.*)") > ${threshold}', ["up_ish"], ["label_replace"]],
    ["max_over_time(ns:metric:rate5m[1h:5m]) * Inf", ["ns:metric:rate5m"], ["max_over_time"]],
    ["sum (rate (spaced_total [5m]))", ["spaced_total"], ["rate", "sum"]]
  ])("%s", (expr, metrics, functions) => {
    expect(promqlNames(expr)).toEqual({ metrics, functions })
  })

  it("a Grafana variable query names the metric of label_values, not the label", () => {
    expect(variableQueryNames('label_values(cloudmap_haproxy_ready{job=~"$job"}, instance)').metrics).toEqual(["cloudmap_haproxy_ready"])
    expect(variableQueryNames("query_result(topk(3, m_total))").metrics).toEqual(["m_total"])
  })
})

describe("examples/grafana-dashboard.json", () => {
  const panels = allPanels(dashboard).filter((p) => p.type !== "row")
  const variables = dashboard.templating.list
  const exprs = dashboardExprs(dashboard)

  it("is a dashboard of Grafana's current schema with a Prometheus datasource variable and job/instance variables", () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36)
    expect(dashboard.schemaVersion).toBeLessThanOrEqual(41)
    expect(dashboard.uid).toBe("cloudmap-haproxy")
    expect(variables.find((v) => v.name === "datasource")).toMatchObject({ type: "datasource", query: "prometheus" })
    for (const name of ["job", "instance"]) expect(variables.find((v) => v.name === name), name).toMatchObject({ type: "query" })
    for (const v of variables.filter((x) => x.type === "query")) expect(v.datasource?.uid, v.name).toBe("${datasource}")
  })

  it("every panel queries the datasource variable with at least one expression, and ids are unique", () => {
    expect(panels.length).toBeGreaterThanOrEqual(15)
    for (const p of panels) {
      expect(p.datasource, p.title).toEqual({ type: "prometheus", uid: "${datasource}" })
      expect(p.targets?.length ?? 0, p.title).toBeGreaterThan(0)
      for (const t of p.targets ?? []) {
        expect(t.expr.trim(), `${p.title} ${t.refId}`).not.toBe("")
        if (t.datasource !== undefined) expect(t.datasource.uid, p.title).toBe("${datasource}")
      }
      // The agent's panels follow the job/instance variables.
      for (const t of p.targets ?? []) {
        if (t.expr.includes("cloudmap_haproxy_")) expect(t.expr, p.title).toContain('job=~"$job", instance=~"$instance"')
      }
    }
    const ids = allPanels(dashboard).map((p) => p.id)
    expect(new Set(ids).size).toBe(ids.length)
  })

  it("calls only PromQL functions, and names a metric in every expression", () => {
    for (const e of exprs) {
      expect(e.names.metrics.length, e.where).toBeGreaterThan(0)
      for (const f of e.names.functions) expect(PROMQL_FUNCTIONS.has(f), `${e.where}: ${f}`).toBe(true)
    }
  })

  it("covers requests and 5xx per backend, instances up, convergence, reloads, runtime updates, Cloud Map calls, read age, degraded, quarantine, ignored options and the change feed", () => {
    const named = new Set(exprs.flatMap((e) => e.names.metrics))
    for (const m of [
      "haproxy_backend_http_requests_total", "haproxy_backend_http_responses_total", "haproxy_backend_active_servers",
      "cloudmap_haproxy_refresh_seconds_bucket", "cloudmap_haproxy_effective_revision_interval_seconds",
      "cloudmap_haproxy_reloads_total", "cloudmap_haproxy_runtime_updates_total", "cloudmap_haproxy_cloudmap_calls_total",
      "cloudmap_haproxy_last_successful_read_age_seconds", "cloudmap_haproxy_degraded", "cloudmap_haproxy_quarantined",
      "cloudmap_haproxy_ignored_options", "cloudmap_haproxy_change_feed_active", "cloudmap_haproxy_change_feed_unavailable_total"
    ]) expect(named.has(m), m).toBe(true)
    const all = exprs.map((e) => e.expr).join("\n")
    expect(all).toMatch(/code="5xx"/)
    expect(all).toMatch(/sum by \(reason, outcome\) \(increase\(cloudmap_haproxy_reloads_total/)
    expect(all).toMatch(/sum by \(operation, outcome\) \(rate\(cloudmap_haproxy_cloudmap_calls_total/)
    expect(all).toMatch(/sum by \(problem\) \(increase\(cloudmap_haproxy_change_feed_unavailable_total/)
  })

  it.skipIf(PROMTOOL === undefined)("every expression is valid PromQL (promtool, Grafana's variables filled in)", () => {
    const fill = (expr: string) => expr.replace(/\$__(rate_interval|interval|range)\b/g, "5m").replace(/\$\{\w+\}|\$\w+/g, ".*")
    const file = join(scratch, "dashboard-rules.yml")
    const recorded = exprs.map((e, i) => `      - record: dashboard:expr_${i}\n        expr: ${JSON.stringify(fill(e.promql))}`)
    writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${recorded.join("\n")}\n`)
    const r = checkRules(file)
    expect(r.ok, r.output).toBe(true)
    expect(r.output).toContain(`SUCCESS: ${exprs.length} rules found`)
  })
})

describe("examples/prometheus-alerts.yml", () => {
  it.skipIf(PROMTOOL === undefined)("passes promtool check rules, and the test can tell a broken file", () => {
    const r = checkRules(ALERTS)
    expect(r.ok, r.output).toBe(true)
    expect(r.output).toContain(`SUCCESS: ${rules.length} rules found`)
    const broken = join(scratch, "broken.yml")
    writeFileSync(broken, "groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: rate(a[5m]\n")
    expect(checkRules(broken).ok).toBe(false)
  })

  it("every rule is an alert with `for`, a severity, and a summary and description that point to /status and a document that exists", () => {
    expect(rules.length).toBeGreaterThanOrEqual(8)
    const names = rules.map((r) => r.alert)
    expect(new Set(names).size).toBe(names.length)
    for (const r of rules) {
      expect(r.alert, r.expr).toMatch(/^CloudMapHaproxy[A-Za-z]+$/)
      expect(r.for, r.alert).toMatch(/^\d+[smh]$/)
      expect(["critical", "warning", "info"], r.alert).toContain(r.labels?.severity)
      expect(r.annotations?.summary, r.alert).toBeTruthy()
      expect(r.annotations?.description, r.alert).toContain("/status")
      const docs = r.annotations?.description?.match(/docs\/[a-z-]+\.md/g) ?? []
      expect(docs.length, `${r.alert} names no docs/*.md`).toBeGreaterThan(0)
      for (const doc of docs) expect(existsSync(new URL(`../../${doc}`, import.meta.url)), `${r.alert}: ${doc}`).toBe(true)
      for (const f of promqlNames(r.expr).functions) expect(PROMQL_FUNCTIONS.has(f), `${r.alert}: ${f}`).toBe(true)
    }
  })

  it("alerts on read age, degraded, reload and validation failures, quarantine (info), ignored options, a service without instances (be_stats excluded) and readiness", () => {
    const on = (metric: string) => rules.filter((r) => promqlNames(r.expr).metrics.includes(metric))
    for (const m of [
      "cloudmap_haproxy_last_successful_read_age_seconds", "cloudmap_haproxy_degraded", "cloudmap_haproxy_apply_failures_total",
      "cloudmap_haproxy_validation_failures_total", "cloudmap_haproxy_ignored_options", "cloudmap_haproxy_ready"
    ]) expect(on(m).length, m).toBeGreaterThan(0)
    expect(on("cloudmap_haproxy_quarantined").map((r) => r.labels?.severity)).toEqual(["info"])
    expect(on("cloudmap_haproxy_ignored_options").map((r) => r.labels?.severity)).toEqual(["info"])
    const noInstance = on("haproxy_backend_active_servers")
    expect(noInstance).toHaveLength(1)
    expect(noInstance[0]!.expr).toContain('proxy!="be_stats"')
    expect(on("cloudmap_haproxy_ready")[0]!.expr).toMatch(/== 0/)
  })

  it("alerts, at info, on a change feed unavailable for 30 minutes (not on CHANGE_FEED=false), saying routing still works", () => {
    const feed = rules.filter((r) => promqlNames(r.expr).metrics.includes("cloudmap_haproxy_change_feed_unavailable_total"))
    expect(feed).toHaveLength(1)
    const rule = feed[0]!
    expect(rule.expr).toMatch(/^cloudmap_haproxy_change_feed_active == 0 and on \(job, instance\) cloudmap_haproxy_change_feed_unavailable_total > 0$/)
    expect(rule.for).toBe("30m")
    expect(rule.labels?.severity).toBe("info")
    expect(rule.annotations?.description).toContain("Routing still works")
    expect(rule.annotations?.description).toContain("revision polling")
    expect(rule.annotations?.description).toContain("/status (changeFeed)")
  })

  it("alerts, at info, on a change feed that keeps missing changes while it stays active", () => {
    const misses = rules.filter((r) => promqlNames(r.expr).metrics.includes("cloudmap_haproxy_change_feed_misses_total"))
    expect(misses).toHaveLength(1)
    const rule = misses[0]!
    expect(rule.expr).toMatch(/increase\(cloudmap_haproxy_change_feed_misses_total\[1h\]\) > 0 and on \(job, instance\) cloudmap_haproxy_change_feed_active == 1/)
    expect(rule.labels?.severity).toBe("info")
    expect(rule.annotations?.description).toContain("/status (changeFeed.misses)")
  })
})
