/**
 * One apply fiber: takes the newest desired state from the DesiredChannel and applies it, so a
 * reload never holds up polling. Reloads are paced (RELOAD_MIN_INTERVAL): a state that needs a
 * reload too soon after the last one waits, and whatever arrives meanwhile replaces it
 * (coalescing). A state HAProxy refused, or that could not be applied, is tried again after
 * REJECTED_RETRY_INTERVAL unless a newer one arrives first. Publishes what HAProxy serves
 * (`applied`), what it could not apply (`pending`), readiness (`initialSyncAt`) and the metrics.
 */
import { Cause, Clock, Duration, Effect, Layer, Metric, Option, Ref } from "effect"
import { type Applied, Applier, type ApplyOutcome, takesReload } from "./applier.ts"
import { runtimePart } from "./diff.ts"
import { AgentConfigService } from "../config/service.ts"
import { HaproxySupervisor } from "../haproxy/supervisor.ts"
import type { Desired } from "../model/desired.ts"
import * as M from "../observability/metrics.ts"
import { DesiredChannel, type Planned, samePlanned } from "./desired-channel.ts"
import { routedCounts, withRecentChange } from "../status/status.ts"
import { StatusStore } from "../status/status-store.ts"

export interface ApplyLoopOptions {
  /** Two reloads (or a start and a reload) are at least this far apart. */
  readonly reloadMinIntervalMs: number
  /** A refused state is tried again after this long while nothing newer arrives. */
  readonly rejectedRetryMs: number
}

interface LoopState {
  readonly applied: Applied | undefined
  /** The state being worked on (taken from the channel, or kept for a retry). */
  readonly planned: Planned | undefined
  /** When the current `planned` was refused; undefined while it was not. */
  readonly refusedAt: number | undefined
  readonly lastReloadAt: number | undefined
}

const sameDesired = (a: Desired, b: Desired) => samePlanned({ desired: a, complete: false }, { desired: b, complete: false })

/** The first of `wait` and the next published state; Some(planned) when a newer one came. */
const untilNewer = (take: Effect.Effect<Planned>, waitMs: number) =>
  Effect.raceFirst(Effect.as(Effect.sleep(Duration.millis(Math.max(0, waitMs))), Option.none<Planned>()), Effect.map(take, Option.some))

export const makeApplyLoop = (options: ApplyLoopOptions) =>
  Effect.gen(function*() {
    const applier = yield* Applier
    const channel = yield* DesiredChannel
    const status = yield* StatusStore
    const state = yield* Ref.make<LoopState>({ applied: undefined, planned: undefined, refusedAt: undefined, lastReloadAt: undefined })
    // The newest state taken from the channel: it is published once, so a bug that ends an
    // iteration must not lose it (retried like a refused state).
    const latest = yield* Ref.make<Planned | undefined>(undefined)
    const take = Effect.tap(channel.take, (planned) => Ref.set(latest, planned))

    /**
     * The next state to apply: a newer one, or the refused one once its retry is due (the same
     * state published again does not cut the wait short).
     */
    const next: Effect.Effect<Planned> = Effect.gen(function*() {
      const s = yield* Ref.get(state)
      if (s.planned === undefined || s.refusedAt === undefined) return yield* take
      const refused = s.planned
      while (true) {
        const now = yield* Clock.currentTimeMillis
        const newer = yield* untilNewer(take, s.refusedAt + options.rejectedRetryMs - now)
        if (Option.isNone(newer)) return refused
        if (!samePlanned(newer.value, refused)) return newer.value
      }
    })

    /**
     * The part of a state waiting for its reload (or for the disk) that the runtime API can apply
     * now (instance changes of existing services: diff.ts runtimePart), applied at once as a state
     * of its own, never by a reload.
     */
    const applyRuntimePart = (planned: Planned, afterRefusal = false) =>
      Effect.gen(function*() {
        const s = yield* Ref.get(state)
        if (s.applied === undefined || (s.refusedAt !== undefined && !afterRefusal)) return
        const part = runtimePart(s.applied.desired, planned.desired)
        if (sameDesired(part, s.applied.desired) || takesReload(s.applied, part)) return
        const outcome = yield* applyOrDefect(s.applied, part, false)
        // The full state follows (by its paced reload, or its retry): nothing to retry on its own.
        if (outcome._tag === "Rejected") return yield* Effect.logWarning("instance changes could not be applied through the runtime API alone", { error: outcome.error })
        const now = yield* Clock.currentTimeMillis
        if (outcome._tag === "Applied") {
          const reloaded = outcome.method === "reload" || outcome.method === "start"
          yield* Ref.update(state, (x) => ({ ...x, applied: outcome.applied, lastReloadAt: reloaded ? now : x.lastReloadAt }))
        }
        yield* publish({ desired: part, complete: false }, outcome, now, false)
      })

    /** An apply; a defect in it (a bug) becomes a refused state, reported and retried like one. */
    const applyOrDefect = (applied: Applied | undefined, desired: Desired, reload: boolean): Effect.Effect<ApplyOutcome> =>
      applier.apply(applied, desired, { reload }).pipe(
        Effect.catchDefect((defect) =>
          Effect.gen(function*() {
            yield* Effect.logError("applying a configuration failed unexpectedly (a bug); retried", Cause.die(defect))
            return {
              _tag: "Rejected",
              stage: reload ? "reload" : "runtime",
              fault: "infrastructure",
              errorTag: "Defect",
              reason: "unexpected failure",
              label: "defect",
              error: `unexpected failure while applying: ${defect instanceof Error ? defect.message : String(defect)}`,
              durationMs: 0
            } satisfies ApplyOutcome
          })
        )
      )

    /**
     * Waits out RELOAD_MIN_INTERVAL before a reload (applying what needs no reload meanwhile); a
     * state published meanwhile replaces this one.
     */
    const paced = (planned: Planned): Effect.Effect<Planned> =>
      Effect.gen(function*() {
        const s = yield* Ref.get(state)
        if (s.lastReloadAt === undefined || !takesReload(s.applied, planned.desired)) return planned
        const due = s.lastReloadAt + options.reloadMinIntervalMs
        if (due <= (yield* Clock.currentTimeMillis)) return planned
        yield* applyRuntimePart(planned)
        const newer = yield* untilNewer(take, due - (yield* Clock.currentTimeMillis))
        return Option.isSome(newer) ? yield* paced(newer.value) : planned
      })

    const once = Effect.gen(function*() {
      const planned = yield* Effect.flatMap(next, paced)
      const before = yield* Ref.get(state)
      const outcome = yield* applyOrDefect(before.applied, planned.desired, true)
      // Its files cannot be written (a full disk): the instance changes in it are applied anyway.
      if (outcome._tag === "Rejected" && outcome.stage === "write") yield* applyRuntimePart(planned, true)
      const after = yield* Ref.get(state)
      const now = yield* Clock.currentTimeMillis
      const reloaded = outcome._tag === "Applied" && (outcome.method === "reload" || outcome.method === "start")
      // A refused state keeps its first refusal time across retries only while it stays the same.
      const retried = before.planned !== undefined && samePlanned(before.planned, planned)
      // Served but not written (a full disk): retried like a refusal, until its files are written.
      const unsaved = outcome._tag === "Applied" && outcome.applied.unsaved !== undefined
      yield* Ref.set(state, {
        applied: outcome._tag === "Applied" ? outcome.applied : after.applied,
        planned,
        refusedAt: outcome._tag === "Rejected" || unsaved ? now : undefined,
        lastReloadAt: reloaded ? now : after.lastReloadAt
      })
      yield* publish(planned, outcome, now, retried)
    })

    /**
     * One iteration. A bug outside an apply (an apply's own becomes a refusal: applyOrDefect), in
     * the pacing or the reporting, keeps the newest state taken for a retry after
     * REJECTED_RETRY_INTERVAL instead of dropping it until Cloud Map changes again.
     */
    const iteration = once.pipe(Effect.catchDefect((defect) =>
      Effect.gen(function*() {
        yield* Effect.logError("the apply loop failed unexpectedly (a bug); the newest state is tried again", Cause.die(defect))
        const planned = yield* Ref.get(latest)
        const now = yield* Clock.currentTimeMillis
        if (planned !== undefined) yield* Ref.update(state, (s) => ({ ...s, planned, refusedAt: now }))
      })
    ))

    const publish = (planned: Planned, outcome: ApplyOutcome, now: number, retried: boolean) =>
      Effect.gen(function*() {
        const shown = yield* status.get
        const serving = outcome._tag !== "Rejected"
        const applied = serving ? planned.desired : shown.applied
        const unsaved = outcome._tag === "Applied" ? outcome.applied.unsaved : undefined
        const since = (s: { readonly pending: { readonly since: number } | undefined }) => retried ? (s.pending?.since ?? now) : now
        yield* status.update((s) => ({
          ...s,
          applied,
          pending: outcome._tag === "Rejected"
            ? { desired: planned.desired, since: since(s), stage: outcome.stage, error: outcome.error, served: false }
            : unsaved !== undefined
            ? { desired: planned.desired, since: since(s), stage: "write", error: unsaved.error, served: true }
            : undefined,
          initialSyncAt: s.initialSyncAt ?? (serving && planned.complete ? now : undefined)
        }))
        const counts = routedCounts(applied)
        yield* Metric.update(M.servicesGauge, counts.services)
        yield* Metric.update(M.instancesGauge, counts.instances)
        yield* Metric.update(M.quarantinedGauge, counts.quarantined)
        yield* Metric.update(M.ignoredOptionsGauge, counts.ignoredOptions)
        if (shown.initialSyncAt === undefined && serving && planned.complete) {
          yield* Effect.logInfo("every mapped namespace is read and applied: ready")
        }
        yield* report(outcome, now, shown.firstAppliedAt !== undefined)
      })

    const report = (outcome: ApplyOutcome, now: number, servedBefore: boolean) =>
      Effect.gen(function*() {
        if (outcome._tag === "Unchanged") return
        const record = {
          at: now,
          method: outcome._tag === "Applied" ? outcome.method : outcome.stage === "start" ? "start" as const : "reload" as const,
          reason: outcome.reason,
          ...(outcome.changes !== undefined && outcome.changes.length > 0 ? { changes: outcome.changes } : {}),
          ok: outcome._tag === "Applied",
          durationMs: outcome.durationMs,
          ...(outcome._tag === "Rejected" ? { error: outcome.error } : {})
        }
        if (outcome._tag === "Applied") {
          const a = outcome.applied
          const counter = outcome.method === "runtime" ? M.runtimeUpdates : M.reloads
          if (outcome.method !== "dry-run") {
            yield* Metric.update(Metric.withAttributes(counter, { reason: outcome.label, outcome: "ok" }), 1)
          }
          if (a.unsaved !== undefined) yield* Metric.update(Metric.withAttributes(M.applyFailures, { stage: "write", fault: "infrastructure" }), 1)
          yield* Metric.update(M.configGeneration, a.generation)
          yield* Effect.logInfo(outcome.method === "dry-run" ? "would apply configuration (APPLY_MODE=off)" : "configuration applied", {
            method: outcome.method,
            reason: outcome.reason,
            generation: a.generation,
            hash: a.hash,
            durationMs: outcome.durationMs,
            ...routedCounts(a.desired)
          })
          yield* status.update((s) => ({
            ...s,
            appliedHash: a.hash,
            generation: a.generation,
            lastApply: record,
            recentChanges: withRecentChange(s.recentChanges, record),
            firstAppliedAt: s.firstAppliedAt ?? now
          }))
          return
        }
        // Only a candidate HAProxy itself refused counts as invalid.
        if (outcome.stage === "validate" && outcome.fault === "config") yield* Metric.update(M.validationFailures, 1)
        yield* Metric.update(Metric.withAttributes(M.applyFailures, { stage: outcome.stage, fault: outcome.fault }), 1)
        yield* Metric.update(Metric.withAttributes(M.reloads, { reason: outcome.label, outcome: "failed" }), 1)
        yield* Effect.logError(servedBefore ? "configuration not applied; still serving the previous one" : "configuration not applied; nothing is served yet", {
          stage: outcome.stage,
          fault: outcome.fault,
          errorTag: outcome.errorTag,
          reason: outcome.reason,
          error: outcome.error,
          retryInSeconds: options.rejectedRetryMs / 1000
        })
        yield* status.update((s) => ({ ...s, lastApplyError: record, recentChanges: withRecentChange(s.recentChanges, record) }))
      })

    return { iteration, state: Ref.get(state) }
  })

/** The apply loop as a running fiber, for as long as the layer lives. */
export const ApplyLoopLive = Layer.effectDiscard(
  Effect.gen(function*() {
    const config = yield* AgentConfigService
    const loop = yield* makeApplyLoop({
      reloadMinIntervalMs: config.reloadMinIntervalSeconds * 1000,
      rejectedRetryMs: config.rejectedRetrySeconds * 1000
    })
    // Before HAProxy is restarted (HAPROXY_RESTART=true), the files of what it served are written again.
    const applier = yield* Applier
    const supervisor = yield* HaproxySupervisor
    yield* supervisor.rewriteBeforeRestart(Effect.flatMap(loop.state, (s) => s.applied === undefined ? Effect.void : applier.rewrite(s.applied.desired)))
    // A bug outside an apply (an apply's own becomes a retried refusal) is logged and the loop goes on.
    const guarded = loop.iteration.pipe(Effect.catchCause((cause) => Effect.logError("apply loop iteration failed", cause)))
    yield* Effect.forkScoped(Effect.forever(guarded))
  })
)
