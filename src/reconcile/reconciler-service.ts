/**
 * The Reconciler service: the rounds of ./reconciler.ts over the agent's configuration and zone
 * (ZONE_AFFINITY), with Cloud Map, Status and the apply loop's channel from the context.
 */
import { Context, Effect, Layer } from "effect"
import type { AgentConfig } from "../config/agent-config.ts"
import { instanceNetworksOf } from "../config/instance-networks.ts"
import { type AgentZone, AgentZoneService } from "../cloudmap/zone.ts"
import { CloudMap } from "../cloudmap/client.ts"
import { AgentConfigService } from "../config/service.ts"
import type { Status } from "../status/status.ts"
import { StatusStore } from "../status/status-store.ts"
import type { Cadence } from "./cadence.ts"
import { makeReconciler } from "./reconciler.ts"
import type { ReconcilerSettings } from "./round-context.ts"

/** What the rounds follow, from the configuration and the agent's zone. Pure. */
export const reconcilerSettings = (config: AgentConfig, zone: AgentZone): ReconcilerSettings => ({
  mappings: config.namespaces,
  region: config.region,
  healthFilter: config.healthFilter,
  defaultInstancePort: config.defaultInstancePort,
  maxRemovalPercent: config.maxRemovalPercent,
  fleet: {
    revisionPollSeconds: config.revisionPollSeconds,
    revisionCheckBudget: config.revisionCheckBudget,
    refreshSeconds: config.refreshSeconds,
    serviceListSeconds: config.serviceListSeconds,
    requestsPerSecond: config.cloudMap.requestsPerSecond,
    readsPerSecond: config.cloudMap.readsPerSecond,
    serviceAttributesSeconds: config.serviceAttributesSeconds
  },
  zoneAffinity: config.zoneAffinity && zone._tag === "Known"
    ? { zone: zone.zone, minHealthy: config.zoneAffinityMinHealthy }
    : undefined,
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

/** Zone affinity as /status shows it: on with its zone, or off and why. Pure. */
export const zoneAffinityShown = (settings: ReconcilerSettings, zone: AgentZone): Status["zoneAffinity"] =>
  settings.zoneAffinity === undefined
    ? { on: false, reason: zone._tag === "Unknown" ? zone.reason : "ZONE_AFFINITY is off" }
    : { on: true, ...settings.zoneAffinity }

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
      const zone = yield* AgentZoneService
      const cloudMap = yield* CloudMap
      const settings = reconcilerSettings(config, zone)
      yield* (yield* StatusStore).update((s) => ({ ...s, zoneAffinity: zoneAffinityShown(settings, zone) }))
      const reconciler = yield* makeReconciler(settings)
      return Reconciler.of({
        round: Effect.provideService(reconciler.round, CloudMap, cloudMap),
        rereadAll: reconciler.rereadAll,
        cadence: reconciler.cadence
      })
    })
  )
}
