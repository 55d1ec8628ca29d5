/**
 * The long-running agent, composed once from the services' own layers. Each step is built after
 * the ones it depends on and released before them, which gives the start and stop order:
 *
 *   configuration → Status, SIGHUP, the desired-state channel
 *   → start-up checks (exit 78 on a bad environment)
 *   → the agent's HTTP endpoints (released last: they answer 503 while HAProxy drains)
 *   → the HAProxy supervisor (its finalizer drains HAProxy on SIGTERM)
 *   → HaproxyControl → Applier → Cloud Map → the agent's zone (ZONE_AFFINITY) → Reconciler
 *   → the loops: polling, apply, heap compaction
 *   → waiting for HAProxy to die (when it is not restarted, the agent ends non-zero).
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Layer } from "effect"
import { Applier } from "../apply/applier.ts"
import { HaproxyControl } from "../apply/haproxy-control.ts"
import { CloudMapActivity } from "../cloudmap/activity.ts"
import { CloudMapFromConfig } from "../cloudmap/layer.ts"
import { AgentConfigService } from "../config/service.ts"
import { HaproxySupervisor } from "../haproxy/supervisor.ts"
import { AgentHttpLive } from "../http/server.ts"
import { ApplyLoopLive } from "../apply/apply-loop.ts"
import { DesiredChannel } from "../apply/desired-channel.ts"
import { Hangups } from "../reconcile/hangups.ts"
import { PollingLive } from "../reconcile/polling.ts"
import { Reconciler } from "../reconcile/reconciler-service.ts"
import { StatusStore } from "../status/status-store.ts"
import { HeapCompactionLive } from "./heap-compaction.ts"
import { StartupLive } from "./startup.ts"
import { AgentZoneService } from "../cloudmap/zone.ts"

/** Never completes while HAProxy runs (or is restarted); fails when it died for good. */
const UntilHaproxyDies = Layer.effectDiscard(HaproxySupervisor.use((s) => s.died))

export const agentLayer = <E>(config: Layer.Layer<AgentConfigService, E>) => {
  const base = Layer.mergeAll(StatusStore.layer, Hangups.layer, DesiredChannel.layer, CloudMapActivity.layer, NodeServices.layer).pipe(
    Layer.provideMerge(config)
  )
  const services = Reconciler.layer.pipe(
    Layer.provideMerge(AgentZoneService.layer),
    Layer.provideMerge(CloudMapFromConfig),
    Layer.provideMerge(Applier.layer),
    Layer.provideMerge(HaproxyControl.layer),
    Layer.provideMerge(HaproxySupervisor.layer),
    Layer.provideMerge(AgentHttpLive),
    Layer.provideMerge(StartupLive),
    Layer.provideMerge(base)
  )
  const loops = Layer.mergeAll(PollingLive, ApplyLoopLive, HeapCompactionLive).pipe(Layer.provideMerge(services))
  return UntilHaproxyDies.pipe(Layer.provide(loops))
}
