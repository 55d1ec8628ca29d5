/**
 * Runs a round after the first, as ./round-plan.ts plans it: the change feed's round, the listing
 * (when the plan lists), the new services' attributes, then the round's services in chunks spread
 * over the period (each chunk published as soon as it found a change), the due attribute re-reads
 * alongside, and the read times the next round goes by. Decides nothing the plan decides. A round
 * that read every service counts as "full", any other as "fast".
 */
import { Clock, Effect, Fiber, Random, Ref } from "effect"
import { CloudMap } from "../cloudmap/client.ts"
import type { SuppressedChange } from "../status/status.ts"
import { checkChunk } from "./check-chunk.ts"
import type { ReadFailure } from "./fail-static.ts"
import { publishFrom } from "./publish.ts"
import { relist } from "./relist.ts"
import type { RoundContext } from "./round-context.ts"
import { foreignAfterListing, isForeign, planListing, planReads, readTimesAfter, spreadsReads } from "./round-plan.ts"
import { finishRound, reportFit } from "./round-report.ts"
import { readAttributes, reportAttributeFailures } from "./service-attributes.ts"
import { indexServices, replaceServices, sameAsSnapshot, type ServiceUpdate } from "./snapshot-update.ts"

export const laterRound = (ctx: RoundContext): Effect.Effect<void, never, CloudMap> =>
  Effect.gen(function*() {
    const { settings, state, feed } = ctx
    const started = yield* Clock.currentTimeMillis
    const current = yield* Ref.get(state)
    if (current.topology === undefined || current.snapshot === undefined) return
    let topology = current.topology
    let snapshot = current.snapshot
    // Services deleted, or namespaces that failed before and are listed now: always planned.
    let structural = 0
    let listedOk = false
    // The change feed first: which services changed (or that every service must be checked).
    const fed = yield* feed.round(undefined, isForeign(current.foreign, started))
    // CHANGE_FEED_RATE while the feed is used (after its round: it may have just become unavailable).
    const feedSeconds = yield* feed.periodSeconds
    const listing = planListing({
      topology,
      topologyAt: current.topologyAt,
      foreign: current.foreign,
      fed,
      now: started,
      fleet: settings.fleet,
      feedSeconds
    })
    if (listing.list) {
      // A failed listing is retried at the same interval, not every round.
      yield* Ref.update(state, (s) => ({ ...s, topologyAt: started }))
      const relisted = yield* relist(snapshot, topology, settings.mappings, settings.region)
      if (relisted !== undefined) {
        listedOk = true
        topology = relisted.topology
        snapshot = relisted.snapshot
        structural = relisted.structural
        yield* Ref.update(state, (s) => ({ ...s, topology: relisted.topology }))
      }
      const foreign = foreignAfterListing(current.foreign, listing.unlisted, topology, started)
      yield* Ref.update(state, (s) => ({ ...s, foreign }))
    }
    const plan = planReads({
      topology,
      readAt: current.readAt,
      attributesReadAt: current.attributes.readAt,
      fed,
      calls: ctx.activity?.summary(started),
      now: started,
      fleet: settings.fleet,
      feedSeconds
    })
    const { attributes } = plan
    // A new service's attributes before its first read (it is routed with its options from the
    // start); the due re-reads of the others alongside the round, in their own token bucket.
    const fresh = yield* readAttributes(current.attributes, attributes.listed, attributes.firstReads, started, attributes.intervalMs, false)
    yield* Ref.update(state, (s) => ({ ...s, attributes: fresh.book }))
    yield* reportAttributeFailures(fresh)
    structural += fresh.changed
    const rereads = yield* Effect.forkChild(readAttributes(fresh.book, attributes.listed, attributes.rereads, started, attributes.intervalMs, false))
    const cloudMap = yield* CloudMap
    const revisionIndex = indexServices(snapshot)
    let base = snapshot
    let baseIndex = revisionIndex
    let published = false
    // The feed answering counts as reaching Cloud Map (a round may read nothing).
    let reached = (plan.known.length === 0 && listedOk) || fed._tag === "Changes"
    let readCount = 0
    const readNow = new Set<string>()
    const failures: Array<ReadFailure> = []
    // The round's reads, for the feed's check once at the end (its maps copied once a round, not a chunk).
    const roundReads: Array<ServiceUpdate> = []
    let suppressed: ReadonlyArray<SuppressedChange> = []
    // Past the planned chunks only to publish a structural change when the round reads nothing.
    for (let i = 0; i < plan.chunks.length || (structural > 0 && !published); i++) {
      const chunk = plan.chunks[i] ?? { services: [], at: started }
      const wait = chunk.at - (yield* Clock.currentTimeMillis)
      if (wait > 0) yield* Effect.sleep(Math.ceil(wait))
      const results = yield* checkChunk(chunk.services, {
        cloudMap,
        healthFilter: settings.healthFilter,
        reads: plan.reads,
        held: revisionIndex,
        first: plan.first
      })
      const reads = results.flatMap((r) => r.update === undefined ? [] : [r.update])
      roundReads.push(...reads)
      reached ||= results.some((r) => r.reached)
      readCount += reads.length
      for (const r of results) if (r.update?.service._tag === "Ok") readNow.add(r.key)
      if ((structural > 0 && !published) || !sameAsSnapshot(base, reads, baseIndex)) {
        yield* Effect.logDebug("Cloud Map read", { services: reads.map((c) => `${c.mapping.namespace}/${c.service.name}`), structuralChanges: structural })
        const out = yield* publishFrom(ctx, replaceServices(base, reads, yield* Clock.currentTimeMillis))
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
      suppressed = (yield* publishFrom(ctx, base)).suppressed
      published = true
    }
    const randoms = spreadsReads(plan, readNow) ? yield* Effect.forEach(plan.known, () => Random.next) : undefined
    const readAt = readTimesAfter(plan, readNow, current.readAt, started, randoms)
    yield* Ref.update(state, (s) => ({ ...s, readAt, roundAt: started }))
    yield* reportFit(ctx, plan.known.length, topology.length, current.roundAt === undefined ? undefined : (started - current.roundAt) / 1000)
    const kind = plan.known.length > 0 && readCount === plan.known.length ? "full" : "fast"
    // A round without changes still shows whether Cloud Map answers (readiness, degraded); a
    // round that found none also ends the failures of earlier rounds (they were read again).
    yield* finishRound(ctx, kind, started, reached, failures, published ? suppressed : undefined)
  })
