/**
 * Anti-flap guard: at most MAX_REMOVAL_PERCENT of a service's instances may disappear in one
 * step. An empty or much smaller answer for a service that had many instances is more often a
 * Cloud Map or ECS hiccup than a real scale-in; larger drops are applied in steps (one step per
 * refresh), and what is held back is reported. A service may always go from 1 instance to 0. Pure.
 */
import { type DiscoveredInstance, type DiscoveredNamespace, mappingKey, type Snapshot } from "../model/snapshot.ts"
import type { SuppressedChange } from "../status/status.ts"

export interface Guarded {
  readonly snapshot: Snapshot
  readonly suppressed: ReadonlyArray<SuppressedChange>
}

/** How many of `before` instances may be removed in one step. */
export const removalAllowance = (before: number, maxRemovalPercent: number) =>
  Math.max(1, Math.floor((before * maxRemovalPercent) / 100))

export const guardRemovals = (previous: Snapshot | undefined, next: Snapshot, maxRemovalPercent: number): Guarded => {
  if (previous === undefined || maxRemovalPercent >= 100) return { snapshot: next, suppressed: [] }
  const suppressed: Array<SuppressedChange> = []
  const before = new Map(previous.namespaces.map((n) => [mappingKey(n.mapping), n]))
  const namespaces = next.namespaces.map((ns): DiscoveredNamespace => {
    const old = before.get(mappingKey(ns.mapping))
    if (ns._tag !== "Ok" || old?._tag !== "Ok") return ns
    const oldServices = new Map(old.services.map((s) => [s.id, s]))
    return {
      ...ns,
      services: ns.services.map((s) => {
        const o = oldServices.get(s.id)
        if (s._tag !== "Ok" || o?._tag !== "Ok") return s
        const present = new Set(s.instances.map((i) => i.id))
        const removed = o.instances.filter((i) => !present.has(i.id))
        const allowed = removalAllowance(o.instances.length, maxRemovalPercent)
        if (removed.length <= allowed) return s
        // Keep the removed instances beyond the allowance (deterministically: highest ids kept).
        const kept: Array<DiscoveredInstance> = [...removed].sort((a, b) => (a.id < b.id ? -1 : 1)).slice(allowed)
        suppressed.push({
          namespace: ns.mapping.namespace,
          service: s.name,
          held: kept.length,
          reason: `${removed.length} of ${o.instances.length} instances disappeared at once; removing ${allowed} now ` +
            `(MAX_REMOVAL_PERCENT=${maxRemovalPercent}), the rest on the next refreshes`
        })
        return { ...s, instances: [...s.instances, ...kept] }
      })
    }
  })
  return { snapshot: { namespaces, takenAt: next.takenAt }, suppressed }
}
