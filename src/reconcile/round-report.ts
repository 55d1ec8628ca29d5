/**
 * What a round reports when it ends: its metrics and Status (namespaces, failures, held-back
 * removals, the last refresh), a failed listing (routing unchanged), and whether the polling
 * settings fit the fleet (./fit-report.ts).
 */
import { Clock, Effect, Metric, Ref } from "effect"
import * as M from "../observability/metrics.ts"
import type { NamespaceState, Status, SuppressedChange } from "../status/status.ts"
import type { ReadFailure } from "./fail-static.ts"
import { reportFleetFit } from "./fit-report.ts"
import { namespaceStates } from "./namespace-state.ts"
import { cadenceFor, type RoundContext } from "./round-context.ts"

/** Metrics of a round that read instances; returns its end time. */
export const recordRound = (kind: "full" | "fast", started: number, outcome: "ok" | "partial" | "failed") =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    yield* Metric.update(Metric.withAttributes(M.refreshes, { kind, outcome }), 1)
    yield* Metric.update(Metric.withAttributes(M.refreshSeconds, { kind }), (now - started) / 1000)
    if (outcome !== "failed") yield* Metric.update(M.lastSuccessTimestamp, now / 1000)
    return now
  })

/** Namespaces and services could not be listed: logged, counted, and shown with the namespaces. */
export const reportFailedListing = (
  kind: "full" | "fast",
  started: number,
  error: string,
  namespaces: (why: string) => ReadonlyArray<NamespaceState>,
  updateStatus: (f: (s: Status) => Status) => Effect.Effect<void>
) =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    yield* Effect.logError("Cloud Map refresh failed; routing unchanged", { kind, error })
    yield* Metric.update(Metric.withAttributes(M.refreshes, { kind, outcome: "failed" }), 1)
    yield* updateStatus((s) => ({
      ...s,
      namespaces: namespaces(`Cloud Map could not be listed: ${error}`),
      lastRefresh: { at: now, kind, ok: false, error, durationMs: now - started }
    }))
  })

/** The round's metrics and Status; `ok`: Cloud Map answered this round. */
export const finishRound = (
  ctx: RoundContext,
  kind: "full" | "fast",
  started: number,
  ok: boolean,
  failures: ReadonlyArray<ReadFailure>,
  /** Undefined: no plan this round, what was held back before still is. */
  suppressed: ReadonlyArray<SuppressedChange> | undefined
) =>
  Effect.gen(function*() {
    yield* Metric.update(M.failedServicesGauge, failures.length)
    const now = yield* recordRound(kind, started, ok ? (failures.length > 0 ? "partial" : "ok") : "failed")
    const current = yield* Ref.get(ctx.state)
    const namespaces = namespaceStates(ctx.settings.mappings, current.topology, current.snapshot, undefined)
    yield* ctx.updateStatus((s) => ({
      ...s,
      namespaces,
      failures,
      suppressed: suppressed ?? s.suppressed,
      lastRefresh: { at: now, kind, ok, durationMs: now - started, ...(ok ? {} : { error: failures[0]?.error ?? "Cloud Map answered no call" }) },
      lastSuccessAt: ok ? now : s.lastSuccessAt
    }))
  })

/** The listing failed: nothing was read, routing stays as it is. */
export const failListing = (ctx: RoundContext, kind: "full" | "fast", started: number, error: string) =>
  Effect.flatMap(Ref.get(ctx.state), (current) =>
    reportFailedListing(kind, started, error, (why) => namespaceStates(ctx.settings.mappings, current.topology, current.snapshot, why), ctx.updateStatus))

/** Whether the polling settings fit the fleet now (each problem logged once); `measuredSeconds`: since the last round. */
export const reportFit = (ctx: RoundContext, services: number, namespaces: number, measuredSeconds: number | undefined) =>
  Effect.gen(function*() {
    const cadence = yield* cadenceFor(ctx, services)
    const shown = yield* reportFleetFit(services, namespaces, measuredSeconds, ctx.settings.fleet, (yield* Ref.get(ctx.state)).fitProblems, ctx.updateStatus, cadence)
    yield* Ref.update(ctx.state, (s) => ({ ...s, fitProblems: shown }))
  })
