/** A round's metrics, and what a round whose listing failed reports (routing unchanged). */
import { Clock, Effect, Metric } from "effect"
import * as M from "../observability/metrics.ts"
import type { NamespaceState, Status } from "../status/status.ts"

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
