/**
 * Keeps HAProxy in step with Cloud Map, one round at a time. The first round reads the topology
 * and every service. Later rounds re-list services every SERVICE_LIST_RATE (or at once when the
 * change feed names a service not listed yet) and read:
 * - with the change feed (./feed-round.ts, a round every CHANGE_FEED_RATE): the services its new
 *   operations name, first, then those whose sweep read is due (DiscoverInstances every
 *   REFRESH_RATE: health changes are only seen this way, and it repairs what the feed missed);
 * - without it (off, unavailable, or too many operations in a round): every service, either
 *   re-read when due or asked for its InstancesRevision and re-read only when that changed.
 * Every result is merged with the last good snapshot (fail static), planned, guarded against
 * mass removal, and handed to the applier. Publishes Status and metrics.
 */
import { Clock, Effect, Fiber, Metric, Option, Random, Ref, Semaphore } from "effect"
import { CloudMapActivity, throttledLately } from "../cloudmap/activity.ts"
import { CloudMap } from "../cloudmap/client.ts"
import { readInstances, readTopology, type Topology } from "../cloudmap/discovery.ts"
import * as M from "../observability/metrics.ts"
import type { HealthFilter, NamespaceMapping, Snapshot } from "../model/snapshot.ts"
import { plan } from "../plan/plan.ts"
import { guardRemovals } from "./anti-flap.ts"
import { mergeWithPrevious, type ReadFailure } from "./fail-static.ts"
import { checkChunk, type KnownService } from "./check-chunk.ts"
import type { FeedSettings } from "./change-feed.ts"
import { makeChangeFeed } from "./feed-round.ts"
import { cadenceOf } from "./cadence.ts"
import type { FleetSettings } from "./fleet-fit.ts"
import { reportFleetFit } from "./fit-report.ts"
import { reportPlan } from "./plan-report.ts"
import { recordRound, reportFailedListing } from "./round-report.ts"
import { allRead, namespaceStates } from "./namespace-state.ts"
import { spreadReadAt } from "./read-schedule.ts"
import { planRound } from "./round-plan.ts"
import {
  indexServices,
  reachedCloudMap,
  replaceServices,
  sameAsSnapshot,
  serviceKey,
  type ServiceUpdate
} from "./snapshot-update.ts"
import { DesiredChannel, type Planned } from "../apply/desired-channel.ts"
import { relist } from "./relist.ts"
import { type AttributeBook, emptyAttributeBook, readDueAttributes, reportAttributeFailures, serviceIdsOf } from "./service-attributes.ts"
import type { InstanceNetworks } from "../plan/networks.ts"
import type { ZoneAffinity } from "../plan/zones.ts"
import type { SuppressedChange } from "../status/status.ts"
import { StatusStore } from "../status/status-store.ts"

/** What the rounds follow, as plain data (reconciler-service.ts derives it from the configuration). */
export interface ReconcilerSettings {
  readonly mappings: ReadonlyArray<NamespaceMapping>
  readonly region: string
  readonly healthFilter: HealthFilter
  readonly defaultInstancePort: number | undefined
  readonly maxRemovalPercent: number
  /** The polling settings, the rounds' cadence follows them (cadence.ts, fleet-fit.ts). */
  readonly fleet: FleetSettings
  /** Zone affinity, when on and the agent's zone is known. */
  readonly zoneAffinity: ZoneAffinity | undefined
  /** Which instance addresses may be routed (ALLOW_INSTANCE_NETWORKS, the agent's own ports). */
  readonly instanceNetworks: InstanceNetworks
  /** The change feed's settings; undefined: CHANGE_FEED=false (revision polling only). */
  readonly changeFeed: FeedSettings | undefined
}

/** A service the feed named that no mapped namespace lists is not looked for again for this long. */
const FOREIGN_MS = 600_000

interface State {
  readonly topology: Topology | undefined
  /** When the topology was last listed (epoch ms). */
  readonly topologyAt: number
  /** The merged snapshot behind the last published desired state. */
  readonly snapshot: Snapshot | undefined
  /** The last published state (its quarantined records are not logged again), and its JSON. */
  readonly published: { readonly planned: Planned; readonly json: string } | undefined
  /** When each service's instances were last read successfully, by `serviceKey`. */
  readonly readAt: ReadonlyMap<string, number>
  /** When the last round that checked every service started (for the effective interval). */
  readonly roundAt: number | undefined
  /** The settings problems last logged (fleet-fit.ts), so each is logged once. */
  readonly fitProblems: string
  /** Service attributes (routing options), read on their own cadence. */
  readonly attributes: AttributeBook
  /** Services the feed named that are not in a mapped namespace, until when they are ignored. */
  readonly foreign: ReadonlyMap<string, number>
}

/**
 * Services checked (and published, when changed) together within a round. A fleet of up to 100
 * is checked at once; a larger one in chunks spread over the round. Not smaller chunks: every
 * pause costs a wake-up, measured at about 0.2–2 ms of CPU each under bun.
 */
const CHUNK = 100

/** The rounds over these settings; Status and the apply loop's channel come from the context. */
export const makeReconciler = (options: ReconcilerSettings) =>
  Effect.gen(function*() {
    const updateStatus = (yield* StatusStore).update
    const channel = yield* DesiredChannel
    const state = yield* Ref.make<State>({
      topology: undefined,
      topologyAt: 0,
      snapshot: undefined,
      published: undefined,
      readAt: new Map(),
      roundAt: undefined,
      fitProblems: "",
      attributes: emptyAttributeBook,
      foreign: new Map()
    })
    const feed = yield* makeChangeFeed(options.changeFeed, updateStatus)
    const activity = Option.getOrUndefined(yield* Effect.serviceOption(CloudMapActivity))
    // A round at a time: SIGHUP may ask for one while the polling loop runs another.
    const oneRound = yield* Semaphore.make(1)

    /** The cadence for a fleet of `services`: the feed's while it is used (cadence.ts). */
    const cadenceFor = (services: number) =>
      Effect.map(feed.periodSeconds, (feedSeconds) => cadenceOf(services, options.fleet, feedSeconds))

    /** The read time recorded for a read at `started`; reads of every service at once are spread over `afterMs`. */
    const readTime = (started: number, spread: boolean, afterMs: number) =>
      spread ? Effect.map(Random.next, (r) => spreadReadAt(started, afterMs, r)) : Effect.succeed(started)

    /**
     * Merge fresh reads into the snapshot (fail static), guard removals (anti-flap), plan, and
     * publish the desired state when it changed. Returns what the round reports.
     */
    const publishFrom = (fresh: Snapshot) =>
      Effect.gen(function*() {
        const current = yield* Ref.get(state)
        const merged = mergeWithPrevious(current.snapshot, fresh)
        const guarded = guardRemovals(current.snapshot, merged.snapshot, options.maxRemovalPercent)
        const desired = plan(guarded.snapshot, {
          defaultInstancePort: options.defaultInstancePort,
          serviceAttributes: current.attributes.values,
          zoneAffinity: options.zoneAffinity,
          instanceNetworks: options.instanceNetworks
        })
        yield* reportPlan(current.snapshot, guarded, current.published?.planned.desired, desired, merged.failures)
        const namespaces = namespaceStates(options.mappings, current.topology, guarded.snapshot, undefined)
        const json = JSON.stringify(desired)
        const planned: Planned = { desired, complete: allRead(namespaces), json }
        // The apply loop retries what it could not apply by itself: the same state is not sent twice.
        const changed = current.published === undefined || current.published.planned.complete !== planned.complete ||
          current.published.json !== json
        if (changed) yield* channel.publish(planned)
        yield* Ref.update(state, (s) => ({ ...s, snapshot: guarded.snapshot, published: changed ? { planned, json } : s.published }))
        return { failures: merged.failures, suppressed: guarded.suppressed, snapshot: guarded.snapshot }
      })

    /** The round's metrics and Status; `ok`: Cloud Map answered this round. */
    const finish = (
      kind: "full" | "fast",
      started: number,
      ok: boolean,
      failures: ReadonlyArray<ReadFailure>,
      /** Undefined: no plan this round, what was held back before still is. */
      suppressed: ReadonlyArray<SuppressedChange> | undefined,
      error: string | undefined
    ) =>
      Effect.gen(function*() {
        yield* Metric.update(M.failedServicesGauge, failures.length)
        const now = yield* recordRound(kind, started, ok ? (failures.length > 0 ? "partial" : "ok") : "failed")
        const current = yield* Ref.get(state)
        const namespaces = namespaceStates(options.mappings, current.topology, current.snapshot, undefined)
        yield* updateStatus((s) => ({
          ...s,
          namespaces,
          failures,
          suppressed: suppressed ?? s.suppressed,
          lastRefresh: { at: now, kind, ok, durationMs: now - started, ...(ok ? {} : { error: failures[0]?.error ?? error ?? "Cloud Map answered no call" }) },
          lastSuccessAt: ok ? now : s.lastSuccessAt
        }))
      })

    const reportFit = (services: number, namespaces: number, measuredSeconds: number | undefined) =>
      Effect.gen(function*() {
        const cadence = yield* cadenceFor(services)
        const shown = yield* reportFleetFit(services, namespaces, measuredSeconds, options.fleet, (yield* Ref.get(state)).fitProblems, updateStatus, cadence)
        yield* Ref.update(state, (s) => ({ ...s, fitProblems: shown }))
      })

    const failRefresh = (kind: "full" | "fast", started: number, error: string) =>
      Effect.flatMap(Ref.get(state), (current) =>
        reportFailedListing(kind, started, error, (why) => namespaceStates(options.mappings, current.topology, current.snapshot, why), updateStatus))

    /** Topology (namespaces + services, on its own interval) then every service's instances. */
    const fullRefresh: Effect.Effect<void, never, CloudMap> = Effect.gen(function*() {
      const started = yield* Clock.currentTimeMillis
      const current = yield* Ref.get(state)
      let topology = current.topology
      if (topology === undefined || started - current.topologyAt >= (yield* cadenceFor(serviceIdsOf(topology).length)).listIntervalMs) {
        const listed = yield* Effect.result(readTopology(options.mappings, options.region))
        if (listed._tag === "Failure") return yield* failRefresh("full", started, listed.failure.message)
        topology = listed.success
        yield* Ref.update(state, (s) => ({ ...s, topology: listed.success, topologyAt: started }))
      }
      // Attributes with the instances: a service is first routed with its options.
      const [snapshot, attributes] = yield* Effect.all([
        readInstances(topology, options.healthFilter),
        readDueAttributes(current.attributes, serviceIdsOf(topology), started, options.fleet.serviceAttributesSeconds * 1000, true)
      ], { concurrency: 2 })
      yield* Ref.update(state, (s) => ({ ...s, attributes: attributes.book }))
      yield* reportAttributeFailures(attributes)
      const readAt = new Map<string, number>()
      const afterMs = (yield* cadenceFor(serviceIdsOf(topology).length)).rereadAfterMs
      for (const ns of snapshot.namespaces) {
        if (ns._tag !== "Ok") continue
        for (const service of ns.services) {
          if (service._tag === "Ok") readAt.set(serviceKey(ns.mapping, service.id), yield* readTime(started, true, afterMs))
        }
      }
      // Operations from the start of this read on are the feed's.
      yield* feed.startAt(started)
      yield* Ref.update(state, (s) => ({ ...s, readAt }))
      yield* feed.reads(snapshot.namespaces.flatMap((ns) => ns._tag === "Ok" ? ns.services.map((service) => ({ mapping: ns.mapping, service })) : []))
      // The fleet was read at the start-up rate; from now on the steady rates apply.
      yield* (yield* CloudMap).settle
      const out = yield* publishFrom(snapshot)
      yield* finish("full", started, reachedCloudMap(snapshot), out.failures, out.suppressed, undefined)
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
      // The change feed first: which services changed (or that every service must be checked).
      const fed = yield* feed.round(undefined, (id) => (current.foreign.get(id) ?? 0) > started)
      const named = fed._tag === "Changes" ? fed.serviceIds : new Set<string>()
      const listedIds = new Set(serviceIdsOf(topology))
      const unlisted = [...named].filter((id) => !listedIds.has(id) && !((current.foreign.get(id) ?? 0) > started))
      // New and deleted services, on their own interval (with the feed: every REFRESH_RATE, a safety
      // net), and at once when the feed names a service not listed yet (a new service's first instance).
      const listMs = (yield* cadenceFor(listedIds.size)).listIntervalMs
      if (started - current.topologyAt >= listMs || unlisted.length > 0) {
        // A failed listing is retried at the same interval, not every round.
        yield* Ref.update(state, (s) => ({ ...s, topologyAt: started }))
        const relisted = yield* relist(snapshot, topology, options.mappings, options.region)
        if (relisted !== undefined) {
          listedOk = true
          topology = relisted.topology
          snapshot = relisted.snapshot
          structural = relisted.structural
          yield* Ref.update(state, (s) => ({ ...s, topology: relisted.topology }))
        }
        // Still not listed: another namespace's service (the feed lists the whole account).
        const nowListed = new Set(serviceIdsOf(topology))
        const foreign = new Map([...current.foreign].filter(([, until]) => until > started))
        for (const id of unlisted) if (!nowListed.has(id)) foreign.set(id, started + FOREIGN_MS)
        yield* Ref.update(state, (s) => ({ ...s, foreign }))
      }
      const cloudMap = yield* CloudMap
      const known: ReadonlyArray<KnownService> = topology.flatMap((entry) =>
        entry._tag === "Ok" ? entry.services.map((service) => ({ mapping: entry.mapping, namespace: entry.namespace, service })) : []
      )
      const cadence = yield* cadenceFor(known.length)
      const afterMs = cadence.rereadAfterMs
      // Throttled: no sweep, attribute re-read or read forced by its age (they stay due).
      const throttledRound = activity !== undefined && throttledLately(activity.summary(started), started) // cloudmap/activity.ts
      const { first, inRound, spreadMs } = planRound({
        known,
        named,
        checkEvery: fed._tag === "Polling" || (fed._tag === "Changes" && fed.checkAll),
        throttled: throttledRound,
        readAt: current.readAt,
        now: started,
        cadence,
        readsPerSecond: options.fleet.readsPerSecond,
        requestsPerSecond: options.fleet.requestsPerSecond
      })
      // A new service's attributes before its first read (it is routed with its options from the
      // start); the due re-reads of the others alongside the round, in their own token bucket.
      const ids = serviceIdsOf(topology)
      const attributesMs = options.fleet.serviceAttributesSeconds * 1000
      const fresh = yield* readDueAttributes(current.attributes, ids, started, attributesMs, false, "new")
      yield* Ref.update(state, (s) => ({ ...s, attributes: fresh.book }))
      yield* reportAttributeFailures(fresh)
      structural += fresh.changed
      const rereads = yield* Effect.forkChild(readDueAttributes(fresh.book, ids, started, throttledRound ? Infinity : attributesMs, false, "known"))
      const revisionIndex = indexServices(snapshot)
      // In chunks, each published as soon as it found a change (applied seconds after its read).
      let base = snapshot
      let baseIndex = revisionIndex
      let published = false
      // The feed answering counts as reaching Cloud Map (a round may read nothing).
      let reached = (known.length === 0 && listedOk) || fed._tag === "Changes"
      let readCount = 0
      const readNow = new Set<string>()
      const failures: Array<ReadFailure> = []
      // The round's reads, for the feed's check once at the end (its maps copied once a round, not a chunk).
      const roundReads: Array<ServiceUpdate> = []
      let suppressed: ReadonlyArray<SuppressedChange> = []
      // Chunks are spread over the round (spreadMs): the calls reach Cloud Map evenly, not in one burst.
      const chunks = Math.ceil(inRound.length / CHUNK)
      for (let from = 0; from < inRound.length || (structural > 0 && !published); from += CHUNK) {
        const wait = started + (from / CHUNK) * (spreadMs / Math.max(1, chunks)) - (yield* Clock.currentTimeMillis)
        if (wait > 0) yield* Effect.sleep(Math.ceil(wait))
        const results = yield* checkChunk(inRound.slice(from, from + CHUNK), {
          cloudMap,
          healthFilter: options.healthFilter,
          readAt: current.readAt,
          now: started,
          rereadAfterMs: throttledRound ? Infinity : afterMs,
          held: revisionIndex,
          first
        })
        const reads = results.flatMap((r) => r.update === undefined ? [] : [r.update])
        roundReads.push(...reads)
        reached ||= results.some((r) => r.reached)
        readCount += reads.length
        for (const r of results) if (r.update?.service._tag === "Ok") readNow.add(r.key)
        if ((structural > 0 && !published) || !sameAsSnapshot(base, reads, baseIndex)) {
          yield* Effect.logDebug("Cloud Map read", { services: reads.map((c) => `${c.mapping.namespace}/${c.service.name}`), structuralChanges: structural })
          const out = yield* publishFrom(replaceServices(base, reads, yield* Clock.currentTimeMillis))
          base = out.snapshot
          baseIndex = indexServices(base)
          published = true
          failures.push(...out.failures)
          suppressed = out.suppressed
        }
      }
      yield* feed.reads(roundReads)
      // Re-read attributes that changed are planned now (a reload applies option changes).
      const reread = yield* Fiber.join(rereads)
      yield* Ref.update(state, (s) => ({ ...s, attributes: reread.book }))
      yield* reportAttributeFailures(reread)
      if (reread.changed > 0) {
        suppressed = (yield* publishFrom(base)).suppressed
        published = true
      }
      // Rebuilt from the listed services, so deleted services leave no entry behind.
      // A round that read every service (after an outage, say) spreads their next reads again.
      const spread = known.length > 1 && readNow.size === known.length
      const readAt = new Map<string, number>()
      for (const { mapping, service } of known) {
        const key = serviceKey(mapping, service.id)
        // A read the feed asked for that failed is due again at once (its operation was counted).
        const at = readNow.has(key) ? yield* readTime(started, spread, afterMs) : first.has(key) ? undefined : current.readAt.get(key)
        if (at !== undefined) readAt.set(key, at)
      }
      yield* Ref.update(state, (s) => ({ ...s, readAt, roundAt: started }))
      yield* reportFit(known.length, topology.length, current.roundAt === undefined ? undefined : (started - current.roundAt) / 1000)
      const kind = known.length > 0 && readCount === known.length ? "full" : "fast"
      // A round without changes still shows whether Cloud Map answers (readiness, degraded); a
      // round that found none also ends the failures of earlier rounds (they were read again).
      yield* finish(kind, started, reached, failures, published ? suppressed : undefined, undefined)
    })

    // SIGHUP: the next round to start forgets when anything was last listed or read. Applied under
    // the round's permit, so a round in flight cannot write its read times over the reset.
    const rereadPending = yield* Ref.make(false)
    const forgetReads = Effect.flatMap(Ref.getAndSet(rereadPending, false), (pending) =>
      pending
        ? Ref.update(state, (s) => ({
          ...s,
          topologyAt: Number.NEGATIVE_INFINITY,
          readAt: new Map<string, number>(),
          attributes: { ...s.attributes, readAt: new Map<string, number>() }
        }))
        : Effect.void)

    /** The first round (or, until one succeeds, every round) reads everything. */
    const round: Effect.Effect<void, never, CloudMap> = oneRound.withPermit(Effect.andThen(
      forgetReads,
      Effect.flatMap(Ref.get(state), (s) => s.topology === undefined || s.snapshot === undefined ? fullRefresh : fastRefresh)
    ))

    /** The next round re-lists and reads everything (SIGHUP), even when a round is in flight now. */
    const rereadAll = Ref.set(rereadPending, true)

    /** The cadence for the fleet known now (cadence.ts): when the next round should start. */
    const cadence = Effect.flatMap(Ref.get(state), (s) =>
      cadenceFor(s.topology?.reduce((n, t) => n + (t._tag === "Ok" ? t.services.length : 0), 0) ?? 0))

    return { round, rereadAll, cadence, state }
  })
