/** Pure helpers for the fast path: the revision a snapshot holds, and replacing services in it. */
import type { DiscoveredService, NamespaceMapping, Snapshot } from "../model/snapshot.ts"

const sameMapping = (a: NamespaceMapping, b: NamespaceMapping) =>
  a.namespace === b.namespace && a.domain === b.domain && a.mode === b.mode

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
