/**
 * Metric names out of PromQL (and Grafana's variable queries), and the expressions of
 * examples/grafana-dashboard.json and examples/prometheus-alerts.yml, for the tests that check
 * them against what the agent and HAProxy really export.
 */
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { BUN, ROOT } from "../support/agent.ts"

export const DASHBOARD = join(ROOT, "examples/grafana-dashboard.json")
export const ALERTS = join(ROOT, "examples/prometheus-alerts.yml")

/** PromQL's functions and aggregation operators (Prometheus 2.x and 3.x). */
export const PROMQL_FUNCTIONS: ReadonlySet<string> = new Set([
  // aggregations
  "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile",
  "limitk", "limit_ratio",
  // functions
  "abs", "absent", "absent_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min", "day_of_month",
  "day_of_week", "day_of_year", "days_in_month", "delta", "deriv", "exp", "floor", "histogram_avg", "histogram_count",
  "histogram_fraction", "histogram_quantile", "histogram_stddev", "histogram_stdvar", "histogram_sum", "holt_winters",
  "double_exponential_smoothing", "hour", "idelta", "increase", "info", "irate", "label_join", "label_replace", "ln",
  "log2", "log10", "minute", "month", "predict_linear", "rate", "resets", "round", "scalar", "sgn", "sort", "sort_desc",
  "sort_by_label", "sort_by_label_desc", "sqrt", "time", "timestamp", "vector", "year", "avg_over_time",
  "min_over_time", "max_over_time", "sum_over_time", "count_over_time", "quantile_over_time", "stddev_over_time",
  "stdvar_over_time", "last_over_time", "present_over_time", "mad_over_time", "acos", "acosh", "asin", "asinh", "atan",
  "atanh", "cos", "cosh", "sin", "sinh", "tan", "tanh", "deg", "rad", "pi",
  // the @ modifier's start() and end()
  "start", "end"
])

/** Keywords that are not metric names: binary operators, modifiers, Inf and NaN. */
const KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "atan2", "inf", "nan"])

export interface Names {
  readonly metrics: ReadonlyArray<string>
  readonly functions: ReadonlyArray<string>
}

/**
 * The metric names a PromQL expression selects, and the functions it calls. Grafana variables
 * ($job, ${job}, $__rate_interval) may appear anywhere a label value, range or number can.
 */
export const promqlNames = (expr: string): Names => {
  const metrics = new Set<string>()
  const functions = new Set<string>()
  // {__name__="x"} selects x.
  for (const m of expr.matchAll(/__name__\s*=\s*"([A-Za-z_:][\w:]*)"/g)) metrics.add(m[1]!)
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""') // string literals (label values, regexes)
    .replace(/\{[^}]*\}/g, "{}") // label matchers
    .replace(/\[[^\]]*\]/g, "[]") // ranges and subqueries
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, " ") // label lists
    .replace(/\$\{[^}]*\}|\$\w+/g, "0") // Grafana variables left outside strings and ranges
  for (const m of bare.matchAll(/(?<![\w:.])[A-Za-z_:][\w:]*/g)) {
    const word = m[0]
    const after = bare.slice(m.index + word.length)
    if (/^\s*\(/.test(after)) functions.add(word)
    else if (!KEYWORDS.has(word.toLowerCase())) metrics.add(word)
  }
  return { metrics: [...metrics].sort(), functions: [...functions].sort() }
}

/** The PromQL of a Grafana Prometheus variable query: label_values(selector, label), query_result(q) or q. */
export const variablePromql = (query: string): string => {
  const labelValues = /^\s*label_values\(\s*(.*?)\s*,\s*[A-Za-z_]\w*\s*\)\s*$/s.exec(query)
  if (labelValues !== null) return labelValues[1]!
  const queryResult = /^\s*query_result\((.*)\)\s*$/s.exec(query)
  return queryResult === null ? query : queryResult[1]!
}

export const variableQueryNames = (query: string): Names => promqlNames(variablePromql(query))

export interface DashboardExpr {
  readonly where: string
  /** As written in the dashboard. */
  readonly expr: string
  /** Its PromQL (a variable query's selector). */
  readonly promql: string
  readonly names: Names
}

interface Panel {
  readonly id: number
  readonly type: string
  readonly title: string
  readonly datasource?: { type: string; uid: string }
  readonly targets?: ReadonlyArray<{ refId: string; expr: string; datasource?: { uid: string } }>
  readonly panels?: ReadonlyArray<Panel>
}
interface Variable {
  readonly name: string
  readonly type: string
  readonly datasource?: { uid: string }
  readonly query: string | { query: string }
}
export interface Dashboard {
  readonly schemaVersion: number
  readonly uid: string
  readonly title: string
  readonly panels: ReadonlyArray<Panel>
  readonly templating: { list: ReadonlyArray<Variable> }
}

export const loadDashboard = (): Dashboard => JSON.parse(readFileSync(DASHBOARD, "utf8")) as Dashboard

/** Every panel, those inside collapsed rows included. */
export const allPanels = (d: Dashboard): Array<Panel> => d.panels.flatMap((p) => [p, ...(p.panels ?? [])])

/** Every PromQL expression of the dashboard: panel targets and variable queries. */
export const dashboardExprs = (d: Dashboard): Array<DashboardExpr> => [
  ...allPanels(d).flatMap((p) =>
    (p.targets ?? []).map((t) => ({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr, promql: t.expr, names: promqlNames(t.expr) }))
  ),
  ...d.templating.list.filter((v) => v.type === "query").map((v) => {
    const q = typeof v.query === "string" ? v.query : v.query.query
    return { where: `variable ${v.name}`, expr: q, promql: variablePromql(q), names: variableQueryNames(q) }
  })
]

export interface AlertRule {
  readonly alert?: string
  readonly record?: string
  readonly expr: string
  readonly for?: string
  readonly labels?: Record<string, string>
  readonly annotations?: Record<string, string>
}
export interface RuleFile {
  readonly groups: ReadonlyArray<{ name: string; rules: ReadonlyArray<AlertRule> }>
}

/** The rules file, parsed with the YAML parser of the bun the project already depends on. */
export const loadRules = (path = ALERTS): RuleFile =>
  JSON.parse(execFileSync(BUN, ["-e", "console.log(JSON.stringify(Bun.YAML.parse(await Bun.file(process.argv[1]).text())))", path], {
    encoding: "utf8"
  })) as RuleFile

/** Metric names of an exposition (Prometheus text): every sample's name, _bucket/_sum/_count included. */
export const exposedNames = (text: string): Set<string> =>
  new Set(text.split("\n").filter((l) => l !== "" && !l.startsWith("#")).map((l) => /^[A-Za-z_:][\w:]*/.exec(l)?.[0] ?? l))

/** `promtool` on PATH, or undefined. */
export const promtool = (): string | undefined => {
  try {
    return execFileSync("sh", ["-c", "command -v promtool"], { encoding: "utf8" }).trim() || undefined
  } catch {
    return undefined
  }
}
