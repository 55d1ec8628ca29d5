/**
 * HAProxy's own monitoring in the rendered configuration: the stats page (/stats) and the
 * Prometheus exporter (/metrics), each behind basic auth with a SHA-512-crypt hash.
 *
 * Where they are served: with `monitoringPort` unset, on the traffic frontend, claimed on every
 * host before routing (the original image's behaviour, so a drop-in migration keeps its scrape
 * targets; an application's own /metrics is then unreachable through the router). With
 * `monitoringPort` set, in a frontend of their own on that port only (HAProxy's convention is
 * 8404), and the traffic frontend claims no path: every path of every host reaches its service.
 */
import type { RenderSettings } from "./settings.ts"

/** Backend serving the stats page; never clashes with a route backend (those all contain a `.`). */
export const STATS_BACKEND = "be_stats"
export const STATS_USERLIST = "ul_stats"
export const METRICS_USERLIST = "ul_metrics"
export const MONITORING_FRONTEND = "fe_monitoring"

/** The condition that marks a request for the stats page (set by monitoringRules). */
export const STATS_REQUEST = "{ var(txn.stats) -m bool }"

/** Whether the traffic frontend claims /stats and /metrics itself (no monitoring port). */
export const monitoringOnTrafficPort = (settings: RenderSettings): boolean => settings.monitoringPort === undefined

/**
 * Wrong passwords on /stats and /metrics are bounded before the hash is computed: checking one
 * SHA-512-crypt password costs HAProxy ~1.35 ms of CPU, so a flood of wrong ones starved the
 * traffic. Failed attempts are counted per source address and in total (behind an ALB every
 * client shares one source address); beyond either bound a request with credentials gets 429
 * without its password being checked. A request without credentials costs nothing (401).
 */
export const AUTH_FAILURES = {
  /** Failed attempts of one source address per minute. */
  perSourcePerMinute: 10,
  /** Failed attempts of all sources together per 10 s: at most ~7 ms of CPU a second. */
  totalPer10s: 50
} as const
const AUTH_SOURCE_TABLE = "st_auth_fail_src"
const AUTH_TOTAL_TABLE = "st_auth_fail_total"

/**
 * Frontend lines that answer /metrics and mark /stats (`txn.stats`) behind their passwords,
 * decided on the original path, before any rewrite; wrong passwords bounded first (AUTH_FAILURES).
 * Nothing when both pages are off.
 */
export const monitoringRules = (settings: RenderSettings, where: string): Array<string> => {
  if (settings.metrics === undefined && settings.stats === undefined) return []
  // Same-named acls are ORed.
  const lines: Array<string> = [""]
  if (settings.metrics !== undefined) lines.push("acl is_metrics path /metrics", "acl is_monitoring path /metrics")
  if (settings.stats !== undefined) {
    lines.push("acl is_stats path /stats", "acl is_stats path_beg /stats;", "acl is_monitoring path /stats", "acl is_monitoring path_beg /stats;")
  }
  const failed = "has_credentials !{ var(txn.auth_ok) -m bool }"
  lines.push(
    "acl has_credentials req.fhdr(authorization) -m found",
    "",
    "# Wrong passwords are bounded BEFORE the SHA-512-crypt hash is computed (~1.35 ms of CPU each):",
    `# ${AUTH_FAILURES.perSourcePerMinute} failures a minute per source, ${AUTH_FAILURES.totalPer10s} per 10 s in total (behind an ALB all clients share`,
    "# one source); beyond that, credentials get 429 unchecked. No credentials: 401, no hash.",
    `http-request track-sc0 src table ${AUTH_SOURCE_TABLE} if is_monitoring has_credentials`,
    `http-request track-sc1 int(0) table ${AUTH_TOTAL_TABLE} if is_monitoring has_credentials`,
    `http-request deny deny_status 429 if is_monitoring has_credentials { sc0_gpc0_rate ge ${AUTH_FAILURES.perSourcePerMinute} }`,
    `http-request deny deny_status 429 if is_monitoring has_credentials { sc1_gpc0_rate ge ${AUTH_FAILURES.totalPer10s} }`
  )
  if (settings.metrics !== undefined) {
    lines.push(`http-request set-var(txn.auth_ok) bool(1) if is_metrics has_credentials { http_auth(${METRICS_USERLIST}) }`)
  }
  if (settings.stats !== undefined) {
    lines.push(`http-request set-var(txn.auth_ok) bool(1) if is_stats has_credentials { http_auth(${STATS_USERLIST}) }`)
  }
  lines.push(`http-request sc-inc-gpc0(0) if is_monitoring ${failed}`, `http-request sc-inc-gpc0(1) if is_monitoring ${failed}`)
  if (settings.metrics !== undefined) {
    lines.push(
      "",
      `# Prometheus exporter ${where}; the auth rule must stay before use-service.`,
      "http-request auth realm metrics if is_metrics !{ var(txn.auth_ok) -m bool }",
      "http-request use-service prometheus-exporter if is_metrics"
    )
  }
  if (settings.stats !== undefined) {
    lines.push(
      "",
      `# Stats page ${where}.`,
      "http-request auth realm stats if is_stats !{ var(txn.auth_ok) -m bool }",
      "http-request set-var(txn.stats) bool(1) if is_stats"
    )
  }
  return lines
}

/** The stick tables of the auth bounds, [header, line] (backends of their own: no server, never routed to); none when both pages are off. */
export const authTables = (settings: RenderSettings): Array<readonly [string, string]> =>
  settings.stats === undefined && settings.metrics === undefined ? [] : [
    [`backend ${AUTH_SOURCE_TABLE}`, "stick-table type ipv6 size 20k expire 2m store gpc0,gpc0_rate(1m)"],
    [`backend ${AUTH_TOTAL_TABLE}`, "stick-table type integer size 1 expire 1m store gpc0,gpc0_rate(10s)"]
  ]

/** The monitoring frontend's lines when it has a port of its own; undefined otherwise (or when both pages are off). */
export const monitoringFrontendLines = (settings: RenderSettings, bind: string): Array<string> | undefined => {
  if (monitoringOnTrafficPort(settings) || (settings.stats === undefined && settings.metrics === undefined)) return undefined
  const lines = [`bind ${bind}`, ...monitoringRules(settings, "on this port only"), ""]
  if (settings.stats !== undefined) {
    lines.push(`http-request return status 404 unless ${STATS_REQUEST}`, `use_backend ${STATS_BACKEND} if ${STATS_REQUEST}`)
  } else {
    lines.push("http-request return status 404")
  }
  return lines
}

/** The userlists of the enabled pages: [name, user line]. Hashes single-quoted: `$` expands inside double quotes. */
export const monitoringUserlists = (settings: RenderSettings): Array<readonly [string, string]> => [
  ...(settings.stats === undefined ? [] : [[`userlist ${STATS_USERLIST}`, `user ${settings.stats.user} password '${settings.stats.passwordHash}'`] as const]),
  ...(settings.metrics === undefined ? [] : [[`userlist ${METRICS_USERLIST}`, `user ${settings.metrics.user} password '${settings.metrics.passwordHash}'`] as const])
]
