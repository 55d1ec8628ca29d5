/**
 * The agent's own Prometheus metrics (served at the agent's /metrics). Definitions only: the
 * modules that observe something update these, src/http formats them.
 */
import { Metric } from "effect"

const seconds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

export const cloudMapCalls = Metric.counter("cloudmap_haproxy_cloudmap_calls_total", {
  description: "Cloud Map API attempts by operation and outcome (ok, throttled, error, denied, timeout)",
  incremental: true
})
export const cloudMapCallSeconds = Metric.histogram("cloudmap_haproxy_cloudmap_call_seconds", {
  description: "Duration of Cloud Map API attempts",
  boundaries: seconds
})
export const refreshes = Metric.counter("cloudmap_haproxy_refreshes_total", {
  description: "Refreshes by kind (full, fast) and outcome (ok, partial, failed)",
  incremental: true
})
export const refreshSeconds = Metric.histogram("cloudmap_haproxy_refresh_seconds", {
  description: "Duration of refreshes",
  boundaries: seconds
})
export const lastSuccessTimestamp = Metric.gauge("cloudmap_haproxy_last_success_timestamp_seconds", {
  description: "Unix time of the last refresh that reached Cloud Map successfully"
})
export const changeFeedActive = Metric.gauge("cloudmap_haproxy_change_feed_active", {
  description: "1 while changes are found through Cloud Map's operations (the change feed), 0 while revision polling runs instead (see /status changeFeed)"
})
export const changeFeedUnavailable = Metric.counter("cloudmap_haproxy_change_feed_unavailable_total", {
  description: "Times the change feed became unavailable, by problem (denied, throttled, pages, failing, misses)",
  incremental: true
})
export const changeFeedOperations = Metric.counter("cloudmap_haproxy_change_feed_operations_total", {
  description: "Instance operations the change feed saw for the first time",
  incremental: true
})
export const servicesGauge = Metric.gauge("cloudmap_haproxy_services", { description: "Routed services" })
export const instancesGauge = Metric.gauge("cloudmap_haproxy_instances", { description: "Routed instances" })
export const quarantinedGauge = Metric.gauge("cloudmap_haproxy_quarantined", {
  description: "Cloud Map records left out of routing (see /status for reasons)"
})
export const ignoredOptionsGauge = Metric.gauge("cloudmap_haproxy_ignored_options", {
  description: "Routing options (service or instance attributes under haproxy.) not applied (see /status for reasons)"
})
export const failedServicesGauge = Metric.gauge("cloudmap_haproxy_failed_services", {
  description: "Services whose last Cloud Map read failed (their previous instances are kept)"
})
export const reloads = Metric.counter("cloudmap_haproxy_reloads_total", {
  description: "HAProxy reloads by reason and outcome",
  incremental: true
})
export const runtimeUpdates = Metric.counter("cloudmap_haproxy_runtime_updates_total", {
  description: "Changes applied through the HAProxy runtime API without a reload, by kind and outcome",
  incremental: true
})
export const validationFailures = Metric.counter("cloudmap_haproxy_validation_failures_total", {
  description: "Candidate configurations rejected by haproxy -c",
  incremental: true
})
export const configGeneration = Metric.gauge("cloudmap_haproxy_config_generation", {
  description: "Number of configurations applied since start"
})
export const haproxyWorkers = Metric.gauge("cloudmap_haproxy_haproxy_workers", {
  description: "HAProxy worker processes (current plus old ones still draining)"
})
export const haproxyUnresponsive = Metric.gauge("cloudmap_haproxy_haproxy_unresponsive_seconds", {
  description: "Seconds HAProxy has not answered on its admin socket and master CLI (0 while it answers); /readyz fails at HAPROXY_WATCHDOG, /healthz at HAPROXY_WATCHDOG_LIVENESS"
})
export const suppressedRemovals = Metric.counter("cloudmap_haproxy_suppressed_removals_total", {
  description: "Instance removals held back by the anti-flap guard (which services: /status suppressedChanges)",
  incremental: true
})
export const applyFailures = Metric.counter("cloudmap_haproxy_apply_failures_total", {
  description: "Configurations that could not be applied, by stage (write, validate, start, reload); retried",
  incremental: true
})
export const lastSuccessfulReadAge = Metric.gauge("cloudmap_haproxy_last_successful_read_age_seconds", {
  description: "Seconds since Cloud Map was last read successfully (since start if never); alarm on it"
})
export const degraded = Metric.gauge("cloudmap_haproxy_degraded", {
  description: "1 while serving with a problem (Cloud Map unreachable, a namespace gone, reads failing, a change not applied); reasons in /status"
})
export const ready = Metric.gauge("cloudmap_haproxy_ready", {
  description: "1 when /readyz answers 200"
})
export const effectiveRevisionInterval = Metric.gauge("cloudmap_haproxy_effective_revision_interval_seconds", {
  description: "Seconds between the last two rounds: CHANGE_FEED_RATE while the change feed is used; with revision polling, between two checks of each service (REVISION_POLL_RATE, or longer when the fleet needs more than CLOUDMAP_RATE_LIMIT allows)"
})
export const effectiveRefreshInterval = Metric.gauge("cloudmap_haproxy_effective_refresh_interval_seconds", {
  description: "Seconds between two DiscoverInstances reads of each service (REFRESH_RATE, or longer when the fleet needs more than CLOUDMAP_READ_RATE_LIMIT allows)"
})
export const changeFeedMisses = Metric.counter("cloudmap_haproxy_change_feed_misses_total", {
  description: "Changes a read found (an InstancesRevision that changed) that no operation of the change feed named: a feed that is blind without failing (see /status changeFeed.misses)",
  incremental: true
})
