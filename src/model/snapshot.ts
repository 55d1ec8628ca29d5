/**
 * What Cloud Map said, as plain immutable data. Produced by discovery (src/cloudmap),
 * consumed by the planner (src/plan). Nothing here is trusted: every string may hold
 * anything a Cloud Map API caller was able to register.
 */

export type RoutingMode = "host" | "path"

/** One NAMESPACE_MAP entry: which Cloud Map namespace is routed under which domain. */
export interface NamespaceMapping {
  readonly namespace: string
  readonly domain: string
  readonly mode: RoutingMode
}

/** Identity of a NAMESPACE_MAP entry (one namespace may be mapped under several domains). */
export const mappingKey = (m: NamespaceMapping): string => `${m.namespace}\u0000${m.domain}\u0000${m.mode}`

/** Cloud Map's DiscoverInstances health filter, as the agent allows it (HEALTH_FILTER). */
export type HealthFilter = "HEALTHY" | "HEALTHY_OR_ELSE_ALL" | "ALL"

export type InstanceHealth = "HEALTHY" | "UNHEALTHY" | "UNKNOWN"

export interface DiscoveredInstance {
  /** Cloud Map InstanceId (opaque; ECS uses the task id). */
  readonly id: string
  /** Raw attributes as registered (AWS_INSTANCE_IPV4, AWS_INSTANCE_PORT, ...). */
  readonly attributes: Readonly<Record<string, string>>
  /** Present when the service has a health check (ECS always configures a custom one). */
  readonly health: InstanceHealth | undefined
}

/**
 * One Cloud Map service. `failed` services carry the error and no instances: the caller keeps
 * the previously known instances of a failed service instead of treating it as empty.
 *
 * `createdAt` is ListServices' CreateDate (epoch milliseconds). It decides who keeps a route two
 * services claim (the older one, see src/plan); absent or undefined when unknown (ranks last).
 */
export type DiscoveredService =
  | {
    readonly _tag: "Ok"
    readonly id: string
    /** Raw Cloud Map service name (`web` or SRV-style `_web._tcp`). */
    readonly name: string
    readonly createdAt?: number | undefined
    /** InstancesRevision returned with the instances, when Cloud Map gave one. */
    readonly revision: number | undefined
    readonly instances: ReadonlyArray<DiscoveredInstance>
    /**
     * DiscoverInstances returned its maximum page (1,000 instances, also Cloud Map's per-service
     * maximum): the answer may have been cut short.
     */
    readonly truncated?: boolean | undefined
  }
  | {
    readonly _tag: "Failed"
    readonly id: string
    readonly name: string
    readonly createdAt?: number | undefined
    readonly error: string
  }

export type DiscoveredNamespace =
  | {
    readonly _tag: "Ok"
    readonly mapping: NamespaceMapping
    readonly id: string
    /** HttpName used by DiscoverInstances (usually equal to the name). */
    readonly httpName: string
    readonly services: ReadonlyArray<DiscoveredService>
  }
  | {
    readonly _tag: "Failed"
    readonly mapping: NamespaceMapping
    readonly error: string
  }

export interface Snapshot {
  /** In NAMESPACE_MAP order. */
  readonly namespaces: ReadonlyArray<DiscoveredNamespace>
  /** Epoch milliseconds when discovery finished. */
  readonly takenAt: number
}
