/**
 * Fail static: a refresh in which some Cloud Map calls failed keeps the last good instances of
 * the services (or whole namespaces) it could not read. A service leaves routing only when a
 * successful ListServices no longer returns it. Pure.
 */
import type { ReadFailure } from "../status/status.ts"
import { type DiscoveredNamespace, type DiscoveredService, mappingKey, type Snapshot } from "../model/snapshot.ts"

export type { ReadFailure }

export interface MergedSnapshot {
  readonly snapshot: Snapshot
  readonly failures: ReadonlyArray<ReadFailure>
}

export const mergeWithPrevious = (previous: Snapshot | undefined, current: Snapshot): MergedSnapshot => {
  const failures: Array<ReadFailure> = []
  const previousByKey = new Map((previous?.namespaces ?? []).map((n) => [mappingKey(n.mapping), n]))
  const namespaces = current.namespaces.map((ns): DiscoveredNamespace => {
    const before = previousByKey.get(mappingKey(ns.mapping))
    if (ns._tag === "Failed") {
      const keep = before?._tag === "Ok" ? before : undefined
      failures.push({ namespace: ns.mapping.namespace, error: ns.error, servingPrevious: keep !== undefined })
      return keep ?? ns
    }
    const previousServices = new Map(
      before?._tag === "Ok" ? before.services.map((s) => [s.id, s] as const) : []
    )
    const services = ns.services.map((s): DiscoveredService => {
      if (s._tag === "Ok") return s
      const keep = previousServices.get(s.id)
      const usable = keep?._tag === "Ok" ? keep : undefined
      failures.push({ namespace: ns.mapping.namespace, service: s.name, error: s.error, servingPrevious: usable !== undefined })
      return usable ?? s
    })
    return { ...ns, services }
  })
  return { snapshot: { namespaces, takenAt: current.takenAt }, failures }
}
