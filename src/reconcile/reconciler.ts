/**
 * Keeps HAProxy in step with Cloud Map, one polling round at a time. The first round reads the
 * topology and every service. Later rounds re-list services every SERVICE_LIST_RATE and, per
 * service, either re-read its instances (DiscoverInstances, due every REFRESH_RATE: health
 * changes are only seen this way) or ask for its InstancesRevision and re-read it only when the
 * revision changed. Every result is merged with the last good snapshot (fail static), planned,
 * guarded against mass removal, and handed to the applier. Publishes Status and metrics.
 */
import { Clock, Context, Effect, Layer, Metric, Random, Ref, Semaphore } from "effect"
import { CloudMap, DISCOVER_MAX_RESULTS } from "../cloudmap/client.ts"
import { readInstances, readService, readTopology, type Topology } from "../cloudmap/discovery.ts"
import type { Desired, Quarantined } from "../model/desired.ts"
import * as M from "../observability/metrics.ts"
import { type HealthFilter, mappingKey, type NamespaceMapping, type Snapshot } from "../model/snapshot.ts"
import { plan } from "../plan/plan.ts"
import { guardRemovals } from "./anti-flap.ts"
import { mergeWithPrevious, type ReadFailure } from "./fail-static.ts"
import { allRead, namespaceStates } from "./namespace-state.ts"
import { isDue, rereadAfterMs, spreadReadAt } from "./read-schedule.ts"
import { adoptListedNamespaces, knownRevision, newlyTruncated, replaceServices, retainListedServices, sameAsSnapshot } from "./snapshot-update.ts"
import { AgentConfigService } from "../config/service.ts"
import { DesiredChannel, type Planned } from "./desired-channel.ts"
import { StatusStore } from "./status-store.ts"
import type { Status } from "./status.ts"

export interface ReconcilerOptions {
  readonly mappings: ReadonlyArray<NamespaceMapping>
  readonly region: string
  readonly healthFilter: HealthFilter
  readonly defaultInstancePort: number | undefined
  readonly maxRemovalPercent: number
  /** Hands each new desired state to the apply loop (DesiredChannel). */
  readonly publish: (planned: Planned) => Effect.Effect<void>
  readonly updateStatus: (f: (s: Status) => Status) => Effect.Effect<void>
  /** Namespaces and services are re-listed at most this often (SERVICE_LIST_RATE). */
  readonly serviceListMs: number
  /** A service whose instances were last read this long ago is read again (see read-schedule.ts). */
  readonly rereadAfterMs: number
}

interface State {
  readonly topology: Topology | undefined
  /** When the topology was last listed (epoch ms). */
  readonly topologyAt: number
  /** The merged snapshot behind the last published desired state. */
  readonly snapshot: Snapshot | undefined
  /** The last published state (its quarantined records are not logged again). */
  readonly published: Planned | undefined
  /** When each service's instances were last read successfully, by `serviceKey`. */
  readonly readAt: ReadonlyMap<string, number>
}

const serviceKey = (mapping: NamespaceMapping, serviceId: string) => `${mappingKey(mapping)} ${serviceId}`

/** A refresh "succeeded" when the topology was read and Cloud Map answered for some service. */
const reachedCloudMap = (snapshot: Snapshot) => {
  const services = snapshot.namespaces.flatMap((n) => (n._tag === "Ok" ? n.services : []))
  return snapshot.namespaces.some((n) => n._tag === "Ok") &&
    (services.length === 0 || services.some((s) => s._tag === "Ok"))
}

export const makeReconciler = (options: ReconcilerOptions) =>
  Effect.gen(function*() {
    const state = yield* Ref.make<State>({
      topology: undefined,
      topologyAt: 0,
      snapshot: undefined,
      published: undefined,
      readAt: new Map()
    })
    const updateStatus = options.updateStatus
    // A round at a time: SIGHUP may ask for one while the polling loop runs another.
    const oneRound = yield* Semaphore.make(1)

    /** The read time recorded for a read at `started`; reads of every service at once are spread. */
    const readTime = (started: number, spread: boolean) =>
      spread ? Effect.map(Random.next, (r) => spreadReadAt(started, options.rereadAfterMs, r)) : Effect.succeed(started)

    /** Metrics of a round that read instances; returns its end time. */
    const recordRound = (kind: "full" | "fast", started: number, outcome: "ok" | "partial" | "failed") =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        yield* Metric.update(Metric.withAttributes(M.refreshes, { kind, outcome }), 1)
        yield* Metric.update(Metric.withAttributes(M.refreshSeconds, { kind }), (now - started) / 1000)
        if (outcome !== "failed") yield* Metric.update(M.lastSuccessTimestamp, now / 1000)
        return now
      })

    /**
     * Cloud Map answered and nothing differs from what is applied: no planning. Every service
     * that failed before was read again in this round (a failed read is due at once), so the
     * failures of earlier rounds are over.
     */
    const confirm = (kind: "full" | "fast", started: number) =>
      Effect.gen(function*() {
        const now = yield* recordRound(kind, started, "ok")
        yield* Metric.update(M.failedServicesGauge, 0)
        const current = yield* Ref.get(state)
        const namespaces = namespaceStates(options.mappings, current.topology, current.snapshot, undefined)
        yield* updateStatus((s) => ({
          ...s,
          failures: [],
          namespaces,
          lastRefresh: { at: now, kind, ok: true, durationMs: now - started },
          lastSuccessAt: now
        }))
      })

    /** Plan and guard a new snapshot (already fetched) and publish it; `ok`: Cloud Map answered this round. */
    const converge = (kind: "full" | "fast", fresh: Snapshot, started: number, ok: boolean) =>
      Effect.gen(function*() {
        const current = yield* Ref.get(state)
        const merged = mergeWithPrevious(current.snapshot, fresh)
        const guarded = guardRemovals(current.snapshot, merged.snapshot, options.maxRemovalPercent)
        for (const s of guarded.suppressed) {
          yield* Effect.logWarning("large instance removal held back", { ...s })
          yield* Metric.update(Metric.withAttributes(M.suppressedRemovals, { service: `${s.namespace}/${s.service}` }), s.held)
        }
        for (const t of newlyTruncated(current.snapshot, guarded.snapshot)) {
          yield* Effect.logWarning(
            `Cloud Map returned ${DISCOVER_MAX_RESULTS} instances for service ${t.namespace}/${t.service}: ` +
              `the answer may be truncated (Cloud Map's per-service maximum is 1,000)`,
            { namespace: t.namespace, service: t.service }
          )
        }
        const desired = plan(guarded.snapshot, { defaultInstancePort: options.defaultInstancePort })
        // Each quarantined record is logged once, when it first appears (JSON escapes its raw text).
        const before = new Set((current.published?.desired.quarantined ?? []).map(quarantineKey))
        for (const q of desired.quarantined) {
          if (!before.has(quarantineKey(q))) yield* Effect.logWarning("Cloud Map record quarantined", { ...q })
        }
        if (merged.failures.length > 0) {
          yield* Effect.logWarning("Cloud Map read failed; keeping previous data", {
            failures: merged.failures.length,
            first: merged.failures.slice(0, 5)
          })
        }
        const namespaces = namespaceStates(options.mappings, current.topology, guarded.snapshot, undefined)
        const planned: Planned = { desired, complete: allRead(namespaces) }
        // The apply loop retries what it could not apply by itself: the same state is not sent twice.
        const changed = current.published === undefined || current.published.complete !== planned.complete ||
          JSON.stringify(current.published.desired) !== JSON.stringify(desired)
        if (changed) yield* options.publish(planned)
        yield* Metric.update(M.failedServicesGauge, merged.failures.length)
        const now = yield* recordRound(kind, started, ok ? (merged.failures.length > 0 ? "partial" : "ok") : "failed")
        yield* Ref.update(state, (s) => ({ ...s, snapshot: guarded.snapshot, published: changed ? planned : s.published }))
        yield* updateStatus((s) => ({
          ...s,
          namespaces,
          failures: merged.failures,
          suppressed: guarded.suppressed,
          lastRefresh: { at: now, kind, ok, durationMs: now - started, ...(ok ? {} : { error: merged.failures[0]?.error ?? "Cloud Map answered no service" }) },
          lastSuccessAt: ok ? now : s.lastSuccessAt
        }))
      })

    const failRefresh = (kind: "full" | "fast", started: number, error: string) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        yield* Effect.logError("Cloud Map refresh failed; routing unchanged", { kind, error })
        yield* Metric.update(Metric.withAttributes(M.refreshes, { kind, outcome: "failed" }), 1)
        const current = yield* Ref.get(state)
        yield* updateStatus((s) => ({
          ...s,
          namespaces: namespaceStates(options.mappings, current.topology, current.snapshot, `Cloud Map could not be listed: ${error}`),
          lastRefresh: { at: now, kind, ok: false, error, durationMs: now - started }
        }))
      })

    /** Topology (namespaces + services, on its own interval) then every service's instances. */
    const fullRefresh: Effect.Effect<void, never, CloudMap> = Effect.gen(function*() {
      const started = yield* Clock.currentTimeMillis
      const current = yield* Ref.get(state)
      let topology = current.topology
      if (topology === undefined || started - current.topologyAt >= options.serviceListMs) {
        const listed = yield* Effect.result(readTopology(options.mappings, options.region))
        if (listed._tag === "Failure") return yield* failRefresh("full", started, listed.failure.message)
        topology = listed.success
        yield* Ref.update(state, (s) => ({ ...s, topology: listed.success, topologyAt: started }))
      }
      const snapshot = yield* readInstances(topology, options.healthFilter)
      const readAt = new Map<string, number>()
      for (const ns of snapshot.namespaces) {
        if (ns._tag !== "Ok") continue
        for (const service of ns.services) {
          if (service._tag === "Ok") readAt.set(serviceKey(ns.mapping, service.id), yield* readTime(started, true))
        }
      }
      yield* Ref.update(state, (s) => ({ ...s, readAt }))
      yield* converge("full", snapshot, started, reachedCloudMap(snapshot))
    })

    /**
     * One polling round over every known service: DiscoverInstances where the last read is due
     * (REFRESH_RATE), otherwise DiscoverInstancesRevision and DiscoverInstances only where the
     * revision differs (inequality, not "greater than"). A round that read every service counts
     * as "full", any other as "fast".
     */
    const fastRefresh: Effect.Effect<void, never, CloudMap> = Effect.gen(function*() {
      const started = yield* Clock.currentTimeMillis
      const current = yield* Ref.get(state)
      if (current.topology === undefined || current.snapshot === undefined) return
      let topology = current.topology
      let snapshot = current.snapshot
      // Services deleted, or namespaces that failed before and are listed now: always planned.
      let structural = 0
      let listedOk = false
      // New and deleted services, on their own (cheap) interval: one ListServices per namespace.
      if (started - current.topologyAt >= options.serviceListMs) {
        const listed = yield* Effect.result(readTopology(options.mappings, options.region))
        // A failed listing is retried at the same interval, not every round.
        yield* Ref.update(state, (s) => ({ ...s, topologyAt: started }))
        if (listed._tag === "Success") {
          listedOk = true
          topology = listed.success
          yield* Ref.update(state, (s) => ({ ...s, topology: listed.success }))
          const adopted = adoptListedNamespaces(snapshot, listed.success)
          const retained = retainListedServices(
            adopted.snapshot,
            listed.success.map((t) => ({
              mapping: t.mapping,
              serviceIds: t._tag === "Ok" ? new Set(t.services.map((s) => s.id)) : undefined
            }))
          )
          snapshot = retained.snapshot
          structural = adopted.adopted + retained.removed
          for (const t of listed.success) {
            if (t._tag === "Failed") {
              yield* Effect.logWarning("Cloud Map namespace could not be listed; keeping its known services", { namespace: t.mapping.namespace, error: t.error })
            }
          }
        } else {
          yield* Effect.logWarning("Cloud Map service listing failed; keeping the known services", { error: listed.failure.message })
        }
      }
      const cloudMap = yield* CloudMap
      const base = snapshot
      const known = topology.flatMap((entry) => entry._tag === "Ok" ? entry.services.map((service) => ({ entry, service })) : [])
      const results = yield* Effect.forEach(known, ({ entry, service }) =>
        Effect.gen(function*() {
          const key = serviceKey(entry.mapping, service.id)
          if (!isDue(current.readAt.get(key), started, options.rereadAfterMs)) {
            // A service not in the snapshot yet has no known revision: it is read.
            const revision = yield* Effect.result(cloudMap.discoverRevision(entry.namespace.httpName, service.name))
            if (revision._tag === "Failure") return { reached: false }
            if (revision.success === knownRevision(base, entry.mapping, service.id)) return { reached: true }
          }
          const fresh = yield* readService(entry.namespace, service, options.healthFilter)
          return { reached: fresh._tag === "Ok", update: { key, mapping: entry.mapping, service: fresh } }
        }), { concurrency: "unbounded" })
      const read = results.flatMap((r) => r.update === undefined ? [] : [r.update])
      // Cloud Map answered: some service call succeeded (with no services: the listing did).
      const reached = results.length > 0 ? results.some((r) => r.reached) : listedOk
      // Rebuilt from the listed services, so deleted services leave no entry behind.
      // A round that read every service (after an outage, say) spreads their next reads again.
      const readNow = new Set(read.filter((r) => r.service._tag === "Ok").map((r) => r.key))
      const spread = known.length > 1 && readNow.size === known.length
      const readAt = new Map<string, number>()
      for (const { entry, service } of known) {
        const key = serviceKey(entry.mapping, service.id)
        const at = readNow.has(key) ? yield* readTime(started, spread) : current.readAt.get(key)
        if (at !== undefined) readAt.set(key, at)
      }
      yield* Ref.update(state, (s) => ({ ...s, readAt }))
      const kind = known.length > 0 && read.length === known.length ? "full" : "fast"
      if (read.length === 0 && structural === 0) {
        // Nothing to read: the round still shows that Cloud Map answers (readiness).
        if (reached) yield* confirm(kind, started)
        return
      }
      yield* Effect.logDebug("Cloud Map read", {
        services: read.map((c) => `${c.mapping.namespace}/${c.service.name}`),
        structuralChanges: structural
      })
      // The usual round: due reads that found nothing new. Planning is skipped.
      if (structural === 0 && sameAsSnapshot(snapshot, read)) return yield* confirm(kind, started)
      yield* converge(kind, replaceServices(snapshot, read, yield* Clock.currentTimeMillis), started, reached)
    })

    /** The first round (or, until one succeeds, every round) reads everything. */
    const round: Effect.Effect<void, never, CloudMap> = oneRound.withPermit(Effect.flatMap(
      Ref.get(state),
      (s) => s.topology === undefined || s.snapshot === undefined ? fullRefresh : fastRefresh
    ))

    /** Forget when anything was last listed or read: the next round re-lists and reads everything (SIGHUP). */
    const rereadAll = Ref.update(state, (s) => ({ ...s, topologyAt: Number.NEGATIVE_INFINITY, readAt: new Map<string, number>() }))

    return { round, rereadAll, state }
  })

/** The reconciler over the agent's configuration, Cloud Map, Status and the apply loop's channel. */
export class Reconciler extends Context.Service<Reconciler, {
  readonly round: Effect.Effect<void>
  readonly rereadAll: Effect.Effect<void>
}>()("cloudmap-haproxy/reconcile/Reconciler") {
  static readonly layer = Layer.effect(
    Reconciler,
    Effect.gen(function*() {
      const config = yield* AgentConfigService
      const status = yield* StatusStore
      const channel = yield* DesiredChannel
      const cloudMap = yield* CloudMap
      const reconciler = yield* makeReconciler({
        mappings: config.namespaces,
        region: config.region,
        healthFilter: config.healthFilter,
        defaultInstancePort: config.defaultInstancePort,
        maxRemovalPercent: config.maxRemovalPercent,
        publish: channel.publish,
        updateStatus: status.update,
        serviceListMs: config.serviceListSeconds * 1000,
        rereadAfterMs: rereadAfterMs(config.refreshSeconds * 1000, config.revisionPollSeconds * 1000)
      })
      return Reconciler.of({
        round: Effect.provideService(reconciler.round, CloudMap, cloudMap),
        rereadAll: reconciler.rereadAll
      })
    })
  )
}

const quarantineKey = (q: Quarantined) => JSON.stringify([q.namespace, q.service, q.instanceId ?? null, q.reason])
