/**
 * The agent's state as reported by /healthz, /readyz and /status. Written by the reconciler and
 * the run command, read by src/http. Pure data plus the health rules (README "Health endpoints"):
 *
 * - liveness: the polling loop makes progress and, once a configuration was applied, HAProxy runs.
 *   Cloud Map never fails it.
 * - readiness: every mapped namespace was found and read and a configuration built from those
 *   reads was applied (latched in `initialSyncAt`); HAProxy runs; not shutting down. After that,
 *   a Cloud Map outage or a namespace that disappears is `degraded`, not unready, unless the
 *   opt-in staleness limit (READY_MAX_STALENESS) is set.
 */
import type { Desired } from "../model/desired.ts"
import type { RoutingMode } from "../model/snapshot.ts"

/** A Cloud Map read that failed this round, kept for /status and metrics. */
export interface ReadFailure {
  readonly namespace: string
  /** Absent when the namespace's ListServices failed. */
  readonly service?: string
  readonly error: string
  /** True when previous data is being served in its place. */
  readonly servingPrevious: boolean
}

/** The Cloud Map calls of the last seconds, as cloudmap/activity.ts counts them. */
export interface ActivitySummary {
  readonly windowSeconds: number
  readonly calls: number
  readonly throttled: number
  /** Failed otherwise: errors, timeouts, malformed answers, denied. */
  readonly failed: number
  /** When the last attempt ended (epoch ms), whatever its outcome. */
  readonly lastAttemptAt: number | undefined
  /** When the last throttled answer came (epoch ms). */
  readonly lastThrottledAt: number | undefined
  /**
   * The window's calls from its first second with a throttled one on (all of them when none was):
   * a storm's share is not diluted by the calls made before it began.
   */
  readonly callsSinceThrottled?: number | undefined
}

/**
 * Cloud Map throttles the agent: at least 2 calls were throttled, and 10 % of the calls made since
 * the window's first throttled one (so a storm shows within a second or two, not once it fills
 * the window; a stray throttle among many calls does not count).
 */
export const isThrottling = (s: ActivitySummary): boolean => s.throttled >= 2 && s.throttled >= 0.1 * (s.callsSinceThrottled ?? s.calls)

export interface ApplyRecord {
  readonly at: number
  /** runtime: applied through the admin socket; reload: new config loaded; dry-run: APPLY_MODE=off. */
  readonly method: "runtime" | "reload" | "start" | "dry-run"
  readonly reason: string
  /** Instance by instance, with the cause (`web.example.com: + web-3 10.0.0.7:8080 (us-east-1a): ...`). */
  readonly changes?: ReadonlyArray<string>
  readonly ok: boolean
  readonly error?: string
  readonly durationMs: number
}

/** How many apply records /status keeps in `recentChanges`. */
export const RECENT_CHANGES = 20

/** `recent` with `record` appended, keeping the newest RECENT_CHANGES. */
export const withRecentChange = (recent: ReadonlyArray<ApplyRecord>, record: ApplyRecord): ReadonlyArray<ApplyRecord> =>
  [...recent, record].slice(-RECENT_CHANGES)

export interface SuppressedChange {
  readonly namespace: string
  readonly service: string
  readonly held: number
  readonly reason: string
}

/** One NAMESPACE_MAP entry as the agent last saw it. */
export interface NamespaceState {
  readonly namespace: string
  readonly domain: string
  readonly mode: RoutingMode
  /** Listed by the last successful listing (ListNamespaces + ListServices). */
  readonly found: boolean
  /** Every service of it has been read at least once: its routes are known. */
  readonly read: boolean
  /** Why it is not found (or not fully read), for /readyz and /status. */
  readonly error?: string
}

/**
 * A desired state not fully applied: HAProxy does not serve it because applying it failed, or
 * (`served`) HAProxy serves it through the runtime API but its files could not be written.
 */
export interface PendingChange {
  readonly desired: Desired
  /** When the first attempt at a desired state not yet applied failed. */
  readonly since: number
  readonly stage: string
  readonly error: string
  /** HAProxy serves `desired`; only writing its files to CONFIG_DIR is pending (retried). */
  readonly served: boolean
}

export interface Status {
  readonly version: string
  readonly startedAt: number
  /**
   * The polling loop's last sign of progress (epoch ms): a round finished, or one of its Cloud
   * Map calls ended, whatever the answer (a throttling storm is progress, a wedged loop is not).
   * /healthz checks it is recent.
   */
  readonly heartbeatAt: number
  /** The Cloud Map calls of the last seconds (cloudmap/activity.ts), for `degraded`. */
  readonly cloudMapCalls?: ActivitySummary | undefined
  readonly firstAppliedAt: number | undefined
  /** When a configuration built from reads of every mapped namespace was first applied. */
  readonly initialSyncAt: number | undefined
  readonly lastRefresh: { readonly at: number; readonly kind: "full" | "fast"; readonly ok: boolean; readonly error?: string; readonly durationMs: number } | undefined
  readonly lastSuccessAt: number | undefined
  /** What HAProxy serves now (the last applied desired state). */
  readonly applied: Desired | undefined
  /** A newer desired state that could not be applied, and why. */
  readonly pending: PendingChange | undefined
  readonly namespaces: ReadonlyArray<NamespaceState>
  readonly failures: ReadonlyArray<ReadFailure>
  readonly suppressed: ReadonlyArray<SuppressedChange>
  readonly appliedHash: string | undefined
  readonly generation: number
  readonly lastApply: ApplyRecord | undefined
  readonly lastApplyError: ApplyRecord | undefined
  /** The last RECENT_CHANGES apply records (reloads, runtime updates, refusals), oldest first. */
  readonly recentChanges: ReadonlyArray<ApplyRecord>
  readonly haproxy: {
    readonly running: boolean
    readonly pid: number | undefined
    readonly workers: number
    /** The watchdog (haproxy/watchdog.ts): HAProxy has not answered on its sockets since `since`. */
    readonly unresponsive?: { readonly since: number; readonly error: string } | undefined
  }
  readonly shuttingDown: boolean
  /** How often each service is really checked and read, and the settings that do not fit. */
  readonly polling: PollingState | undefined
  /** The change feed (Cloud Map's operations): active, unavailable with why and until when, or off. */
  readonly changeFeed: ChangeFeedState
  /** ZONE_AFFINITY: on with the agent's zone, or off with the reason (set once at start). */
  readonly zoneAffinity: { readonly on: true; readonly zone: string; readonly minHealthy: number } | { readonly on: false; readonly reason: string }
}

export interface ChangeFeedState {
  readonly state: "active" | "unavailable" | "off"
  /** unavailable: denied, throttled, pages, failing or misses, with Cloud Map's message and what to do. */
  readonly problem?: string
  /** Changes the reads found that no operation of the feed named, since start (feed-verify.ts). */
  readonly misses?: number
  /** How the feed sends UPDATE_DATE: seconds, or milliseconds once the reads showed Cloud Map reads those. */
  readonly updateDateUnit?: "seconds" | "milliseconds"
  readonly detail?: string
  /** unavailable: since when (epoch ms), and when the feed is tried again. */
  readonly since?: number
  readonly retryAt?: number
  /**
   * The window had more than CHANGE_FEED_MAX_PAGES pages, so each round goes on from the page the
   * last one ended on (reconcile/feed-tail.ts): since when, and whether it has caught up (until
   * then every revision is checked too).
   */
  readonly resumed?: { readonly since: number; readonly caughtUp: boolean }
  /** The last round that asked Cloud Map's operations. */
  readonly lastRound?: {
    readonly at: number
    readonly pages: number
    readonly operations: number
    /** Operations listed for the first time. */
    readonly new: number
    /** Services it named (read at once). */
    readonly services: number
    /** An operation could not be placed in a service (or too many waited): every revision was checked too. */
    readonly checkedAll: boolean
  }
}

export interface PollingState {
  readonly services: number
  readonly checkIntervalSeconds: number
  readonly refreshIntervalSeconds: number
  readonly callsPerMinute: number
  readonly problems: ReadonlyArray<string>
}

export const initialStatus = (version: string, now: number): Status => ({
  version,
  startedAt: now,
  heartbeatAt: now,
  firstAppliedAt: undefined,
  initialSyncAt: undefined,
  lastRefresh: undefined,
  lastSuccessAt: undefined,
  applied: undefined,
  pending: undefined,
  namespaces: [],
  failures: [],
  suppressed: [],
  appliedHash: undefined,
  generation: 0,
  lastApply: undefined,
  lastApplyError: undefined,
  recentChanges: [],
  haproxy: { running: false, pid: undefined, workers: 0 },
  shuttingDown: false,
  polling: undefined,
  changeFeed: { state: "off" },
  zoneAffinity: { on: false, reason: "ZONE_AFFINITY is off" }
})

export interface Verdict {
  readonly ok: boolean
  readonly reason: string
}

export interface HealthRules {
  /** /healthz fails when the polling loop has not completed a round for this long. */
  readonly maxHeartbeatAgeMs: number
  /** Opt-in (READY_MAX_STALENESS): /readyz fails when Cloud Map was not read for this long. */
  readonly maxStalenessMs: number | undefined
  /** APPLY_MODE=off: no HAProxy is run. */
  readonly dryRun: boolean
  /** HAPROXY_WATCHDOG: /readyz fails when HAProxy has not answered on its sockets for this long. */
  readonly haproxySilentUnreadyMs?: number | undefined
  /** HAPROXY_WATCHDOG_LIVENESS: /healthz fails when HAProxy has not answered for this long. */
  readonly haproxySilentDeadMs?: number | undefined
}

/** Why HAProxy counts as not answering after `limitMs` (the watchdog), or undefined. */
const silentHaproxy = (s: Status, now: number, limitMs: number | undefined, variable: string): string | undefined => {
  const u = s.haproxy.unresponsive
  if (limitMs === undefined || u === undefined || !s.haproxy.running || now - u.since < limitMs) return undefined
  return `HAProxy has not answered on its sockets for ${seconds(now - u.since)} (${variable} ${seconds(limitMs)}): ${u.error}`
}

const seconds = (ms: number) => `${Math.round(ms / 1000)}s`

/** Alive: the loop makes progress and, once a configuration was applied, HAProxy runs it. */
export const liveness = (s: Status, now: number, rules: HealthRules): Verdict => {
  if (now - s.heartbeatAt > rules.maxHeartbeatAgeMs) return { ok: false, reason: `agent loop stalled for ${seconds(now - s.heartbeatAt)}` }
  if (!rules.dryRun && s.firstAppliedAt !== undefined && !s.haproxy.running && !s.shuttingDown) {
    return { ok: false, reason: "HAProxy is not running" }
  }
  const silent = silentHaproxy(s, now, rules.haproxySilentDeadMs, "HAPROXY_WATCHDOG_LIVENESS")
  if (!rules.dryRun && silent !== undefined) return { ok: false, reason: silent }
  return { ok: true, reason: s.firstAppliedAt === undefined && !rules.dryRun ? "ok (starting: no configuration applied yet)" : "ok" }
}

/** Why the first sync is not complete: the namespaces not found or not read yet. */
const unsyncedReason = (s: Status): string => {
  const waiting = s.namespaces.filter((n) => !n.read)
  if (waiting.length === 0) return s.lastSuccessAt === undefined ? "Cloud Map not read yet" : "no configuration applied yet"
  return waiting.map((n) => n.error ?? `namespace ${JSON.stringify(n.namespace)} not read yet`).join("; ")
}

/** Ready: the first full sync is applied and HAProxy serves it (see the module comment). */
export const readiness = (s: Status, now: number, rules: HealthRules): Verdict => {
  if (s.shuttingDown) return { ok: false, reason: "shutting down" }
  if (s.initialSyncAt === undefined) return { ok: false, reason: unsyncedReason(s) }
  if (!rules.dryRun && !s.haproxy.running) return { ok: false, reason: "HAProxy is not running" }
  const silent = silentHaproxy(s, now, rules.haproxySilentUnreadyMs, "HAPROXY_WATCHDOG")
  if (!rules.dryRun && silent !== undefined) return { ok: false, reason: silent }
  if (rules.maxStalenessMs !== undefined) {
    const age = now - (s.lastSuccessAt ?? s.startedAt)
    if (age > rules.maxStalenessMs) {
      return { ok: false, reason: `last successful Cloud Map read ${seconds(age)} ago (READY_MAX_STALENESS ${seconds(rules.maxStalenessMs)})` }
    }
  }
  return { ok: true, reason: "ok" }
}

/** Seconds since Cloud Map was last read successfully (since start when it never was). */
export const lastReadAgeSeconds = (s: Status, now: number): number => (now - (s.lastSuccessAt ?? s.startedAt)) / 1000

/**
 * Serving, but not everything is as it should be: each reason is something an operator may want
 * an alarm on. Empty while the first sync is still pending (readiness reports that).
 */
export const degradedReasons = (s: Status, now: number): ReadonlyArray<string> => {
  if (s.initialSyncAt === undefined) return []
  const reasons: Array<string> = []
  const calls = s.cloudMapCalls
  if (calls !== undefined && isThrottling(calls)) {
    reasons.push(
      `Cloud Map is throttling the agent: ${calls.throttled} of ${calls.calls} calls in the last ${calls.windowSeconds}s were throttled; ` +
        "the agent slows down and retries, serving the last known routes (Cloud Map's quota is per account and Region: look for other callers)"
    )
  }
  if (s.lastRefresh !== undefined && !s.lastRefresh.ok) {
    reasons.push(
      `Cloud Map not reachable: last successful read ${seconds(now - (s.lastSuccessAt ?? s.startedAt))} ago (${
        s.lastRefresh.error ?? "no answer"
      }); serving the last known routes`
    )
  }
  for (const n of s.namespaces) {
    if (!n.found) reasons.push(`namespace ${JSON.stringify(n.namespace)}: ${n.error ?? "not found"}; serving its last known routes`)
  }
  if (s.failures.length > 0) {
    reasons.push(`${s.failures.length} service(s) could not be read; serving their last known instances`)
  }
  if (s.pending !== undefined) {
    reasons.push(
      s.pending.served
        ? `the configuration HAProxy serves could not be written to CONFIG_DIR (${s.pending.error}); retried`
        : `a newer configuration could not be applied (${s.pending.stage}: ${s.pending.error}); HAProxy serves the previous one`
    )
  }
  return reasons
}

export const routedCounts = (d: Desired | undefined) => ({
  services: d?.backends.length ?? 0,
  instances: d?.backends.reduce((n, b) => n + b.servers.length, 0) ?? 0,
  quarantined: d?.quarantined.length ?? 0,
  ignoredOptions: d?.ignoredOptions.length ?? 0
})

