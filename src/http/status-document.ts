/** Status → the JSON document served at /status. Pure. */
import { Equal } from "effect"
import type { Backend, Desired } from "../model/desired.ts"
import { DEFAULT_OPTIONS, type ServiceOptions } from "../model/service-options.ts"
import { degradedReasons, type HealthRules, lastReadAgeSeconds, liveness, readiness, routedCounts, type Status } from "../status/status.ts"

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString())

const routeOf = (b: Backend) => ({
  route: b.route,
  mode: b.mode,
  namespace: b.namespace,
  service: b.service,
  backend: b.name,
  // Options that differ from the defaults, and the extra host names the service was granted.
  options: changedOptions(b.options),
  zone: b.zone ?? null,
  instances: b.servers.map((sv) => ({
    id: sv.instanceId,
    server: sv.name,
    address: sv.address,
    port: sv.port,
    health: sv.health ?? null,
    weight: sv.weight,
    backup: sv.backup,
    zone: sv.zone ?? null
  }))
})

const changedOptions = (o: ServiceOptions): Partial<ServiceOptions> =>
  Object.fromEntries(
    Object.entries(o).filter(([k, v]) => !Equal.equals(v, DEFAULT_OPTIONS[k as keyof ServiceOptions]))
  )

/** Routes a pending desired state would add or remove compared with what is served. */
const routeChanges = (applied: Desired | undefined, pending: Desired) => {
  const served = new Set((applied?.backends ?? []).map((b) => b.route))
  const wanted = new Set(pending.backends.map((b) => b.route))
  return {
    added: [...wanted].filter((r) => !served.has(r)).sort(),
    removed: [...served].filter((r) => !wanted.has(r)).sort()
  }
}

export const statusDocument = (s: Status, now: number, rules: HealthRules) => {
  const ready = readiness(s, now, rules)
  const alive = liveness(s, now, rules)
  const degraded = degradedReasons(s, now)
  return {
    version: s.version,
    /** The agent's clock when this document was made: ages on the status page are relative to it. */
    generatedAt: iso(now),
    ready: ready.ok,
    readyReason: ready.reason,
    alive: alive.ok,
    aliveReason: alive.reason,
    degraded: degraded.length > 0,
    degradedReasons: degraded,
    startedAt: iso(s.startedAt),
    applyMode: rules.dryRun ? "off" : "on",
    lastRefresh: s.lastRefresh === undefined ? null : { ...s.lastRefresh, at: iso(s.lastRefresh.at) },
    lastSuccessfulRefresh: iso(s.lastSuccessAt),
    lastSuccessfulReadAgeSeconds: Math.round(lastReadAgeSeconds(s, now) * 10) / 10,
    namespaces: s.namespaces,
    // What HAProxy serves now.
    counts: routedCounts(s.applied),
    routes: (s.applied?.backends ?? []).map(routeOf),
    quarantined: s.applied?.quarantined ?? [],
    ignoredOptions: s.applied?.ignoredOptions ?? [],
    // A newer desired state that could not be applied, and why.
    pending: s.pending === undefined ? null : {
      since: iso(s.pending.since),
      stage: s.pending.stage,
      served: s.pending.served,
      error: s.pending.error,
      routes: routeChanges(s.applied, s.pending.desired),
      counts: routedCounts(s.pending.desired),
      quarantined: s.pending.desired.quarantined,
      ignoredOptions: s.pending.desired.ignoredOptions
    },
    polling: s.polling ?? null,
    changeFeed: {
      ...s.changeFeed,
      ...(s.changeFeed.since === undefined ? {} : { since: iso(s.changeFeed.since) }),
      ...(s.changeFeed.retryAt === undefined ? {} : { retryAt: iso(s.changeFeed.retryAt) }),
      ...(s.changeFeed.resumed === undefined ? {} : { resumed: { ...s.changeFeed.resumed, since: iso(s.changeFeed.resumed.since) } }),
      ...(s.changeFeed.lastRound === undefined ? {} : { lastRound: { ...s.changeFeed.lastRound, at: iso(s.changeFeed.lastRound.at) } })
    },
    zoneAffinity: s.zoneAffinity,
    // The Cloud Map calls of the last seconds: how many, throttled, failed otherwise.
    cloudMapCalls: s.cloudMapCalls === undefined ? null : { ...s.cloudMapCalls, lastAttemptAt: iso(s.cloudMapCalls.lastAttemptAt), lastThrottledAt: iso(s.cloudMapCalls.lastThrottledAt) },
    cloudMapErrors: s.failures,
    suppressedChanges: s.suppressed,
    config: {
      hash: s.appliedHash ?? null,
      generation: s.generation,
      lastApply: s.lastApply === undefined ? null : { ...s.lastApply, at: iso(s.lastApply.at) },
      lastError: s.lastApplyError === undefined ? null : { ...s.lastApplyError, at: iso(s.lastApplyError.at) }
    },
    // The last reloads, runtime updates and refused configurations, newest first.
    recentChanges: [...s.recentChanges].reverse().map((r) => ({ ...r, at: iso(r.at) })),
    haproxy: s.haproxy
  }
}
