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
import type { RenderSettings } from "../model/render-settings.ts"

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
 * Frontend lines that answer /metrics and mark /stats (`txn.stats`) behind their passwords,
 * decided on the original path, before any rewrite.
 */
export const monitoringRules = (settings: RenderSettings, where: string): Array<string> => {
  const lines: Array<string> = []
  if (settings.metrics !== undefined) {
    lines.push(
      "",
      `# Prometheus exporter ${where}; the auth rule must stay before use-service.`,
      "acl is_metrics path /metrics",
      `http-request auth realm metrics if is_metrics !{ http_auth(${METRICS_USERLIST}) }`,
      "http-request use-service prometheus-exporter if is_metrics"
    )
  }
  if (settings.stats !== undefined) {
    lines.push(
      "",
      `# Stats page ${where}. Decided on the original path, before any rewrite.`,
      "acl is_stats path /stats",
      "acl is_stats path_beg /stats;",
      `http-request auth realm stats if is_stats !{ http_auth(${STATS_USERLIST}) }`,
      "http-request set-var(txn.stats) bool(1) if is_stats"
    )
  }
  return lines
}

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
