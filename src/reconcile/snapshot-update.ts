/** Pure helpers for the fast path: the revision a snapshot holds, and replacing services in it. */
import { type DiscoveredService, mappingKey, type NamespaceMapping, type Snapshot } from "../model/snapshot.ts"

const sameMapping = (a: NamespaceMapping, b: NamespaceMapping) => mappingKey(a) === mappingKey(b)

export const knownRevision = (snapshot: Snapshot, mapping: NamespaceMapping, serviceId: string): number | undefined => {
  const ns = snapshot.namespaces.find((n) => sameMapping(n.mapping, mapping))
  if (ns?._tag !== "Ok") return undefined
  const service = ns.services.find((s) => s.id === serviceId)
  return service?._tag === "Ok" ? service.revision : undefined
}

export interface ServiceUpdate {
  readonly mapping: NamespaceMapping
  readonly service: DiscoveredService
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
