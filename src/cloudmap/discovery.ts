/**
 * Cloud Map → Snapshot. Talks to Cloud Map (through the CloudMap service) and nothing else.
 * All-or-nothing per service: a service whose calls failed is returned as `Failed` with the
 * reason, never as an empty service.
 */
import { Clock, Effect } from "effect"
import type { DiscoveredNamespace, DiscoveredService, HealthFilter, NamespaceMapping, Snapshot } from "../model/snapshot.ts"
import { CloudMap, type CloudMapError, type NamespaceInfo, type ServiceInfo } from "./client.ts"

/** Namespaces and their services, without instances (the cheap, slowly changing part). */
export type Topology = ReadonlyArray<
  | {
    readonly _tag: "Ok"
    readonly mapping: NamespaceMapping
    readonly namespace: NamespaceInfo
    readonly services: ReadonlyArray<ServiceInfo>
    /** The last listing of its services failed: these are the ones listed before (reconcile/relist.ts). */
    readonly listingError?: string
  }
  | {
    readonly _tag: "Failed"
    readonly mapping: NamespaceMapping
    readonly error: string
    /** The namespace is there; listing its services failed (a throttled ListServices, say). */
    readonly listing?: true
  }
>

const describe = (e: CloudMapError) => e.message

/**
 * Resolves every NAMESPACE_MAP entry by name (ListNamespaces, paginated to the end) and lists
 * its services (ListServices with the NAMESPACE_ID filter). Fails only when ListNamespaces
 * itself fails (nothing can be known then); a failure of one namespace's ListServices marks that
 * namespace Failed.
 */
export const readTopology = Effect.fn("readTopology")(function*(
  mappings: ReadonlyArray<NamespaceMapping>,
  region: string
): Effect.fn.Return<Topology, CloudMapError, CloudMap> {
  const cloudMap = yield* CloudMap
  const namespaces = yield* cloudMap.listNamespaces
  return yield* Effect.forEach(mappings, (mapping): Effect.Effect<Topology[number]> => {
    const matches = namespaces.filter((n) => n.name === mapping.namespace)
    const namespace = matches[0]
    if (namespace === undefined) {
      return Effect.succeed({
        _tag: "Failed" as const,
        mapping,
        error: `namespace "${mapping.namespace}" not found in ${region} (${namespaces.length} namespaces visible): ` +
          `check NAMESPACE_MAP and AWS_REGION`
      })
    }
    return cloudMap.listServices(namespace.id).pipe(
      Effect.map((services) => ({ _tag: "Ok" as const, mapping, namespace, services })),
      Effect.catch((e) => Effect.succeed({ _tag: "Failed" as const, mapping, error: describe(e), listing: true as const }))
    )
  }, { concurrency: "unbounded" })
})

/**
 * DiscoverInstances for one service; a failure becomes a `Failed` service. Both carry the
 * service's CreateDate from the listing, and a full page (DISCOVER_MAX_RESULTS) is marked truncated.
 */
// Untraced: called for every service in every round (a span each would cost more than the call).
export const readService = Effect.fnUntraced(function*(
  namespace: NamespaceInfo,
  service: ServiceInfo,
  healthFilter: HealthFilter,
  /** Ahead of the other reads in the token buckets (a service the change feed named). */
  first = false
): Effect.fn.Return<DiscoveredService, never, CloudMap> {
  const cloudMap = yield* CloudMap
  return yield* cloudMap.discoverInstances(namespace.httpName, service.name, healthFilter, first).pipe(
    Effect.map((r): DiscoveredService => ({
      _tag: "Ok",
      id: service.id,
      name: service.name,
      createdAt: service.createdAt,
      revision: r.revision,
      instances: r.instances,
      ...(r.truncated === true ? { truncated: true } : {})
    })),
    Effect.catch((e) =>
      Effect.succeed<DiscoveredService>({
        _tag: "Failed",
        id: service.id,
        name: service.name,
        createdAt: service.createdAt,
        error: describe(e)
      })
    )
  )
})

/** Reads every service of a topology (bounded by the client's concurrency and rate limit). */
export const readInstances = Effect.fn("readInstances")(function*(
  topology: Topology,
  healthFilter: HealthFilter
): Effect.fn.Return<Snapshot, never, CloudMap> {
  const cloudMap = yield* CloudMap
  const namespaces = yield* Effect.forEach(topology, (entry) =>
    entry._tag === "Failed"
      ? Effect.succeed<DiscoveredNamespace>(entry)
      : Effect.forEach(entry.services, (service) => readService(entry.namespace, service, healthFilter), {
        concurrency: cloudMap.concurrency
      }).pipe(
        Effect.map((services): DiscoveredNamespace => ({
          _tag: "Ok",
          mapping: entry.mapping,
          id: entry.namespace.id,
          httpName: entry.namespace.httpName,
          services
        }))
      ), { concurrency: "unbounded" })
  return { namespaces, takenAt: yield* Clock.currentTimeMillis }
})

/** One full discovery: topology, then every service's instances. */
export const discover = (mappings: ReadonlyArray<NamespaceMapping>, region: string, healthFilter: HealthFilter) =>
  readTopology(mappings, region).pipe(Effect.flatMap((topology) => readInstances(topology, healthFilter)))
