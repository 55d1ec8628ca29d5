/**
 * Pure helpers for the polling rounds: the revision a snapshot holds, whether fresh reads change
 * it, and replacing services in it.
 */
import { Order } from "effect"
import type { Topology } from "../cloudmap/discovery.ts"
import {
  type DiscoveredInstance,
  type DiscoveredService,
  mappingKey,
  type NamespaceMapping,
  type Snapshot
} from "../model/snapshot.ts"

const sameMapping = (a: NamespaceMapping, b: NamespaceMapping) => mappingKey(a) === mappingKey(b)

/** Identity of a service within a NAMESPACE_MAP entry. */
export const serviceKey = (mapping: NamespaceMapping, serviceId: string) => `${mappingKey(mapping)} ${serviceId}`

/** Every service of a snapshot by `serviceKey`: one pass, then constant-time lookups. */
export const indexServices = (snapshot: Snapshot): ReadonlyMap<string, DiscoveredService> => {
  const index = new Map<string, DiscoveredService>()
  for (const ns of snapshot.namespaces) {
    if (ns._tag !== "Ok") continue
    const prefix = mappingKey(ns.mapping)
    for (const s of ns.services) index.set(`${prefix} ${s.id}`, s)
  }
  return index
}

export const knownRevision = (snapshot: Snapshot, mapping: NamespaceMapping, serviceId: string): number | undefined =>
  revisionIn(indexServices(snapshot), mapping, serviceId)

/** The revision a service read successfully had, from an index (indexServices). */
export const revisionIn = (index: ReadonlyMap<string, DiscoveredService>, mapping: NamespaceMapping, serviceId: string) => {
  const service = index.get(serviceKey(mapping, serviceId))
  return service?._tag === "Ok" ? service.revision : undefined
}

export interface ServiceUpdate {
  readonly mapping: NamespaceMapping
  readonly service: DiscoveredService
}

const instanceKey = (i: DiscoveredInstance) =>
  JSON.stringify([i.id, i.health ?? null, Object.entries(i.attributes).sort(Order.mapInput(Order.String, ([name]: readonly [string, string]) => name))])

/**
 * True when every update is a successful read identical to what the snapshot holds (Cloud Map
 * returns instances in random order, so order does not count): nothing to plan or apply.
 */
export const sameAsSnapshot = (
  snapshot: Snapshot,
  updates: ReadonlyArray<ServiceUpdate>,
  /** indexServices(snapshot), when the caller has it already. */
  known?: ReadonlyMap<string, DiscoveredService>
): boolean => {
  if (updates.length === 0) return true
  if (updates.some((u) => u.service._tag !== "Ok")) return false
  const index = known ?? indexServices(snapshot)
  return updates.every((u) => {
    const fresh = u.service
    const held = index.get(serviceKey(u.mapping, fresh.id))
    if (fresh._tag !== "Ok" || held?._tag !== "Ok" || held.name !== fresh.name || held.revision !== fresh.revision) return false
    if (held.instances.length !== fresh.instances.length) return false
    const keys = new Set(held.instances.map(instanceKey))
    return fresh.instances.every((i) => keys.has(instanceKey(i)))
  })
}

/** The snapshot with the given services replaced (services unknown to it are appended). */
export const replaceServices = (snapshot: Snapshot, updates: ReadonlyArray<ServiceUpdate>, takenAt: number): Snapshot => ({
  takenAt,
  namespaces: snapshot.namespaces.map((ns) => {
    if (ns._tag !== "Ok") return ns
    const mine = updates.filter((u) => sameMapping(u.mapping, ns.mapping))
    if (mine.length === 0) return ns
    const byId = new Map(mine.map((u) => [u.service.id, u.service]))
    const services = ns.services.map((s) => byId.get(s.id) ?? s)
    const known = new Set(ns.services.map((s) => s.id))
    return { ...ns, services: [...services, ...mine.filter((u) => !known.has(u.service.id)).map((u) => u.service)] }
  })
})

/**
 * The snapshot without the services a freshly listed topology no longer has (deleted in Cloud
 * Map). Namespaces whose listing failed are left as they are (fail static).
 */
export const retainListedServices = (
  snapshot: Snapshot,
  listed: ReadonlyArray<{ readonly mapping: NamespaceMapping; readonly serviceIds: ReadonlySet<string> | undefined }>
): { readonly snapshot: Snapshot; readonly removed: number } => {
  let removed = 0
  const namespaces = snapshot.namespaces.map((ns) => {
    const entry = listed.find((l) => sameMapping(l.mapping, ns.mapping))
    if (ns._tag !== "Ok" || entry?.serviceIds === undefined) return ns
    const services = ns.services.filter((s) => entry.serviceIds!.has(s.id))
    removed += ns.services.length - services.length
    return services.length === ns.services.length ? ns : { ...ns, services }
  })
  return { snapshot: removed === 0 ? snapshot : { ...snapshot, namespaces }, removed }
}

/**
 * The snapshot with every namespace that is `Failed` in it but listed now as an empty `Ok`
 * namespace, so that its services can be read into it (they have no read time yet, so the same
 * round reads them). Without this a namespace that failed in the first round (created later,
 * or a transient error) would never be routed.
 */
export const adoptListedNamespaces = (snapshot: Snapshot, listed: Topology): { readonly snapshot: Snapshot; readonly adopted: number } => {
  let adopted = 0
  const namespaces = snapshot.namespaces.map((ns) => {
    if (ns._tag === "Ok") return ns
    const entry = listed.find((l) => sameMapping(l.mapping, ns.mapping))
    if (entry?._tag !== "Ok") return ns
    adopted += 1
    return { _tag: "Ok" as const, mapping: ns.mapping, id: entry.namespace.id, httpName: entry.namespace.httpName, services: [] }
  })
  return { snapshot: adopted === 0 ? snapshot : { ...snapshot, namespaces }, adopted }
}

/**
 * Services whose last read hit DiscoverInstances' page limit (possibly truncated) in `next` but
 * not in `previous`: each is reported once, when it reaches the limit, not on every round.
 */
export const newlyTruncated = (
  previous: Snapshot | undefined,
  next: Snapshot
): ReadonlyArray<{ readonly namespace: string; readonly service: string; readonly instances: number }> => {
  const index = previous === undefined ? undefined : indexServices(previous)
  return next.namespaces.flatMap((ns) =>
    ns._tag !== "Ok" ? [] : ns.services.flatMap((s) => {
      if (s._tag !== "Ok" || s.truncated !== true) return []
      const before = index?.get(serviceKey(ns.mapping, s.id))
      return before?._tag === "Ok" && before.truncated === true
        ? []
        : [{ namespace: ns.mapping.namespace, service: s.name, instances: s.instances.length }]
    })
  )
}

/** A refresh "succeeded" when the topology was read and Cloud Map answered for some service. */
export const reachedCloudMap = (snapshot: Snapshot) => {
  const services = snapshot.namespaces.flatMap((n) => (n._tag === "Ok" ? n.services : []))
  return snapshot.namespaces.some((n) => n._tag === "Ok") &&
    (services.length === 0 || services.some((s) => s._tag === "Ok"))
}
