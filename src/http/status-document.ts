/** Status → the JSON document served at /status. Pure. */
import type { Status } from "../reconcile/status.ts"
import { readiness, routedCounts } from "../reconcile/status.ts"

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString())

export const statusDocument = (s: Status, now: number, maxStalenessMs: number, dryRun: boolean) => {
  const ready = readiness(s, now, maxStalenessMs, dryRun)
  return {
    version: s.version,
    ready: ready.ok,
    readyReason: ready.reason,
    startedAt: iso(s.startedAt),
    applyMode: dryRun ? "off" : "on",
    lastRefresh: s.lastRefresh === undefined ? null : { ...s.lastRefresh, at: iso(s.lastRefresh.at) },
    lastSuccessfulRefresh: iso(s.lastSuccessAt),
    counts: routedCounts(s.desired),
    routes: (s.desired?.backends ?? []).map((b) => ({
      route: b.route,
      mode: b.mode,
      namespace: b.namespace,
      service: b.service,
      backend: b.name,
      instances: b.servers.map((sv) => ({
        id: sv.instanceId,
        server: sv.name,
        address: sv.address,
        port: sv.port,
        health: sv.health ?? null
      }))
    })),
    quarantined: s.desired?.quarantined ?? [],
    cloudMapErrors: s.failures,
    suppressedChanges: s.suppressed,
    config: {
      hash: s.appliedHash ?? null,
      generation: s.generation,
      lastApply: s.lastApply === undefined ? null : { ...s.lastApply, at: iso(s.lastApply.at) },
      lastError: s.lastApplyError === undefined ? null : { ...s.lastApplyError, at: iso(s.lastApplyError.at) }
    },
    haproxy: s.haproxy
  }
}
