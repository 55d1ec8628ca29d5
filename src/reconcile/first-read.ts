/**
 * The first round (and, until one succeeds, every round): namespaces and services listed, then
 * every service's instances and attributes read at once. Their read times are spread over the
 * re-read age, so the sweep that follows reads them a few at a time. The change feed starts at
 * this read, and the Cloud Map client goes from its start-up rate to the steady ones.
 */
import { Clock, Effect, Random, Ref } from "effect"
import { CloudMap } from "../cloudmap/client.ts"
import { readInstances, readTopology } from "../cloudmap/discovery.ts"
import { publishFrom } from "./publish.ts"
import { spreadReadAt } from "./read-schedule.ts"
import { cadenceFor, type RoundContext } from "./round-context.ts"
import { failListing, finishRound } from "./round-report.ts"
import { readDueAttributes, reportAttributeFailures, serviceIdsOf } from "./service-attributes.ts"
import { reachedCloudMap, serviceKey } from "./snapshot-update.ts"

/** Topology (namespaces + services, on its own interval) then every service's instances. */
export const firstRead = (ctx: RoundContext): Effect.Effect<void, never, CloudMap> =>
  Effect.gen(function*() {
    const { settings, state, feed } = ctx
    const started = yield* Clock.currentTimeMillis
    const current = yield* Ref.get(state)
    let topology = current.topology
    if (topology === undefined || started - current.topologyAt >= (yield* cadenceFor(ctx, serviceIdsOf(topology).length)).listIntervalMs) {
      const listed = yield* Effect.result(readTopology(settings.mappings, settings.region))
      if (listed._tag === "Failure") return yield* failListing(ctx, "full", started, listed.failure.message)
      topology = listed.success
      yield* Ref.update(state, (s) => ({ ...s, topology: listed.success, topologyAt: started }))
    }
    // Attributes with the instances: a service is first routed with its options.
    const [snapshot, attributes] = yield* Effect.all([
      readInstances(topology, settings.healthFilter),
      readDueAttributes(current.attributes, serviceIdsOf(topology), started, settings.fleet.serviceAttributesSeconds * 1000, true)
    ], { concurrency: 2 })
    yield* Ref.update(state, (s) => ({ ...s, attributes: attributes.book }))
    yield* reportAttributeFailures(attributes)
    const readAt = new Map<string, number>()
    const afterMs = (yield* cadenceFor(ctx, serviceIdsOf(topology).length)).rereadAfterMs
    for (const ns of snapshot.namespaces) {
      if (ns._tag !== "Ok") continue
      for (const service of ns.services) {
        if (service._tag === "Ok") readAt.set(serviceKey(ns.mapping, service.id), spreadReadAt(started, afterMs, yield* Random.next))
      }
    }
    // Operations from the start of this read on are the feed's.
    yield* feed.startAt(started)
    yield* Ref.update(state, (s) => ({ ...s, readAt }))
    yield* feed.reads(snapshot.namespaces.flatMap((ns) => ns._tag === "Ok" ? ns.services.map((service) => ({ mapping: ns.mapping, service })) : []))
    // The fleet was read at the start-up rate; from now on the steady rates apply.
    yield* (yield* CloudMap).settle
    const out = yield* publishFrom(ctx, snapshot)
    yield* finishRound(ctx, "full", started, reachedCloudMap(snapshot), out.failures, out.suppressed)
  })
