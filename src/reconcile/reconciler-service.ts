/**
 * The Reconciler service: the rounds of ./reconciler.ts wired to the agent's configuration, Cloud
 * Map, the agent's zone (ZONE_AFFINITY), Status and the apply loop's channel.
 */
import { Context, Effect, Layer } from "effect"
import { instanceNetworksOf } from "../config/instance-networks.ts"
import { AgentZoneService } from "../cloudmap/zone.ts"
import { CloudMap } from "../cloudmap/client.ts"
import { AgentConfigService } from "../config/service.ts"
import { DesiredChannel } from "../apply/desired-channel.ts"
import type { Cadence } from "./cadence.ts"
import { makeReconciler } from "./reconciler.ts"
import { StatusStore } from "../status/status-store.ts"

/** The reconciler over the agent's configuration, Cloud Map, Status and the apply loop's channel. */
export class Reconciler extends Context.Service<Reconciler, {
  readonly round: Effect.Effect<void>
  readonly rereadAll: Effect.Effect<void>
  /** The rounds' cadence for the fleet known now (./cadence.ts): when the next round starts. */
  readonly cadence: Effect.Effect<Cadence>
}>()("cloudmap-haproxy/reconcile/Reconciler") {
  static readonly layer = Layer.effect(
    Reconciler,
    Effect.gen(function*() {
      const config = yield* AgentConfigService
      const status = yield* StatusStore
      const channel = yield* DesiredChannel
      const cloudMap = yield* CloudMap
      const zone = yield* AgentZoneService
      const zoneAffinity = config.zoneAffinity && zone._tag === "Known"
        ? { zone: zone.zone, minHealthy: config.zoneAffinityMinHealthy }
        : undefined
      yield* status.update((s) => ({
        ...s,
        zoneAffinity: zoneAffinity === undefined
          ? { on: false, reason: zone._tag === "Unknown" ? zone.reason : "ZONE_AFFINITY is off" }
          : { on: true, ...zoneAffinity }
      }))
      const reconciler = yield* makeReconciler({
        mappings: config.namespaces,
        region: config.region,
        healthFilter: config.healthFilter,
        defaultInstancePort: config.defaultInstancePort,
        maxRemovalPercent: config.maxRemovalPercent,
        publish: channel.publish,
        updateStatus: status.update,
        fleet: {
          revisionPollSeconds: config.revisionPollSeconds,
          revisionCheckBudget: config.revisionCheckBudget,
          refreshSeconds: config.refreshSeconds,
          serviceListSeconds: config.serviceListSeconds,
          requestsPerSecond: config.cloudMap.requestsPerSecond,
          readsPerSecond: config.cloudMap.readsPerSecond,
          serviceAttributesSeconds: config.serviceAttributesSeconds
        },
        zoneAffinity,
        instanceNetworks: instanceNetworksOf(config),
        changeFeed: config.changeFeed
          ? {
            periodSeconds: config.changeFeedSeconds,
            maxPages: config.changeFeedMaxPages,
            maxOperations: config.changeFeedMaxOperations,
            retrySeconds: config.changeFeedRetrySeconds
          }
          : undefined
      })
      return Reconciler.of({
        round: Effect.provideService(reconciler.round, CloudMap, cloudMap),
        rereadAll: reconciler.rereadAll,
        cadence: reconciler.cadence
      })
    })
  )
}
