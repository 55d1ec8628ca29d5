/**
 * The agent's state as reported by /healthz, /readyz and /status. Written by the reconciler,
 * read by src/http. Pure data plus the readiness rule.
 */
import type { Desired, Quarantined } from "../model/desired.ts"
import type { ReadFailure } from "./fail-static.ts"

export interface ApplyRecord {
  readonly at: number
  /** runtime: applied through the admin socket; reload: new config loaded; dry-run: APPLY_MODE=off. */
  readonly method: "runtime" | "reload" | "start" | "dry-run"
  readonly reason: string
  readonly ok: boolean
  readonly error?: string
  readonly durationMs: number
}

export interface SuppressedChange {
  readonly namespace: string
  readonly service: string
  readonly held: number
  readonly reason: string
}

export interface Status {
  readonly version: string
  readonly startedAt: number
  /** The main loop's last heartbeat (epoch ms); /healthz checks it is recent. */
  readonly heartbeatAt: number
  readonly firstAppliedAt: number | undefined
  readonly lastRefresh: { readonly at: number; readonly kind: "full" | "fast"; readonly ok: boolean; readonly error?: string; readonly durationMs: number } | undefined
  readonly lastSuccessAt: number | undefined
  readonly desired: Desired | undefined
  readonly failures: ReadonlyArray<ReadFailure>
  readonly suppressed: ReadonlyArray<SuppressedChange>
  readonly appliedHash: string | undefined
  readonly generation: number
  readonly lastApply: ApplyRecord | undefined
  readonly lastApplyError: ApplyRecord | undefined
  readonly haproxy: { readonly running: boolean; readonly pid: number | undefined; readonly workers: number }
  readonly shuttingDown: boolean
}

export const initialStatus = (version: string, now: number): Status => ({
  version,
  startedAt: now,
  heartbeatAt: now,
  firstAppliedAt: undefined,
  lastRefresh: undefined,
  lastSuccessAt: undefined,
  desired: undefined,
  failures: [],
  suppressed: [],
  appliedHash: undefined,
  generation: 0,
  lastApply: undefined,
  lastApplyError: undefined,
  haproxy: { running: false, pid: undefined, workers: 0 },
  shuttingDown: false
})

export interface Verdict {
  readonly ok: boolean
  readonly reason: string
}

/** Alive: the loop ticks and, once started, HAProxy runs. */
export const liveness = (s: Status, now: number, maxHeartbeatAgeMs: number): Verdict => {
  if (now - s.heartbeatAt > maxHeartbeatAgeMs) return { ok: false, reason: `agent loop stalled for ${Math.round((now - s.heartbeatAt) / 1000)}s` }
  if (s.firstAppliedAt !== undefined && !s.haproxy.running && !s.shuttingDown) return { ok: false, reason: "HAProxy is not running" }
  return { ok: true, reason: "ok" }
}

/** Ready: first config applied, HAProxy running, last successful refresh younger than the budget. */
export const readiness = (s: Status, now: number, maxStalenessMs: number, dryRun: boolean): Verdict => {
  if (s.shuttingDown) return { ok: false, reason: "shutting down" }
  if (!dryRun && s.firstAppliedAt === undefined) return { ok: false, reason: "no configuration applied yet" }
  if (!dryRun && !s.haproxy.running) return { ok: false, reason: "HAProxy is not running" }
  if (s.lastSuccessAt === undefined) return { ok: false, reason: "Cloud Map not read yet" }
  const age = now - s.lastSuccessAt
  if (age > maxStalenessMs) {
    return { ok: false, reason: `last successful Cloud Map refresh ${Math.round(age / 1000)}s ago (budget ${Math.round(maxStalenessMs / 1000)}s)` }
  }
  return { ok: true, reason: "ok" }
}

export const routedCounts = (d: Desired | undefined) => ({
  services: d?.backends.length ?? 0,
  instances: d?.backends.reduce((n, b) => n + b.servers.length, 0) ?? 0,
  quarantined: d?.quarantined.length ?? 0
})

export type { Quarantined }
