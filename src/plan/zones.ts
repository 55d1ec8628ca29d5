/**
 * Zone-aware routing of one backend, pure. With zone affinity on, every server outside the
 * agent's availability zone (or without a zone) is a `backup` server: HAProxy sends it traffic
 * only when no in-zone server is usable, so the moment its own health checks take the last
 * in-zone server out, the other zones serve (`option allbackups` spreads over all of them). Being
 * a backup never changes for an instance, so a server added at runtime gets it right away.
 *
 * "Enough" is judged here, on Cloud Map's health: while fewer than `minHealthy` in-zone servers
 * are healthy (and another zone has a healthy one), the in-zone servers get weight 0, which
 * makes them unusable and hands the traffic to every other zone. Weights change through the
 * runtime API, so switching between the two states needs no reload.
 */
import type { Server, ZoneRouting } from "../model/desired.ts"

export interface ZoneAffinity {
  /** The agent's availability zone. */
  readonly zone: string
  /** Healthy in-zone servers a backend needs to keep its traffic in the zone (ZONE_AFFINITY_MIN_HEALTHY). */
  readonly minHealthy: number
}

const healthy = (s: Server) => s.health !== "UNHEALTHY"

export const applyZoneAffinity = (
  servers: ReadonlyArray<Server>,
  affinity: ZoneAffinity
): { readonly servers: ReadonlyArray<Server>; readonly zone: ZoneRouting } => {
  const isLocal = (s: Server) => s.zone === affinity.zone
  const local = servers.filter(isLocal)
  const localHealthy = local.filter(healthy).length
  const otherHealthy = servers.filter((s) => !isLocal(s) && healthy(s)).length
  const inZone = local.length > 0 && (localHealthy >= affinity.minHealthy || otherHealthy === 0)
  return {
    servers: servers.map((s) =>
      isLocal(s) ? (inZone || local.length === 0 ? s : { ...s, weight: 0 }) : { ...s, backup: true }
    ),
    zone: { zone: affinity.zone, local: local.length, localHealthy, inZone }
  }
}
