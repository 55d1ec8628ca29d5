/**
 * What HAProxy should do, derived purely from a Snapshot by src/plan. Every string in here has
 * passed the grammar in ./grammar.ts: it is safe to place in a config file, a map file or a
 * runtime API command without quoting.
 */
import { Order } from "effect"
import type { IgnoredOption, ServiceOptions } from "./service-options.ts"
import type { InstanceHealth, RoutingMode } from "./snapshot.ts"

/**
 * The one string order of the plan and the rendered files: code-unit order (`Order.String`),
 * locale-independent, so every replica sorts the same way. By `name` (backends, servers).
 */
export const byName: Order.Order<{ readonly name: string }> = Order.mapInput(Order.String, (x) => x.name)

export interface Server {
  /** HAProxy server name, derived from the Cloud Map instance id (stable, unique per backend). */
  readonly name: string
  readonly instanceId: string
  /** IPv4 or IPv6 literal (net.isIP). */
  readonly address: string
  readonly port: number
  readonly health: InstanceHealth | undefined
  /** HAProxy weight, 0-256 (`haproxy.weight`, or 0 for in-zone servers while their zone fails over). */
  readonly weight: number
  /** A backup server: another zone's instance under zone affinity (used when no active server is up). */
  readonly backup: boolean
  /** The instance's AVAILABILITY_ZONE, when registered. */
  readonly zone: string | undefined
}

/** Zone affinity of one backend (present only when it is on and the agent's zone is known). */
export interface ZoneRouting {
  readonly zone: string
  /** Servers in the agent's zone, and how many of them Cloud Map reports healthy. */
  readonly local: number
  readonly localHealthy: number
  /** True: traffic stays in the zone; false: every zone serves (too few healthy in-zone servers). */
  readonly inZone: boolean
}

export interface Backend {
  /** HAProxy backend name, `be_<route>`; unique. */
  readonly name: string
  readonly namespace: string
  /** Normalised service name (`_web._tcp` -> `web`). */
  readonly service: string
  readonly serviceId: string
  readonly mode: RoutingMode
  /** `web.example.com` in host mode, `example.com/web` in path mode. */
  readonly route: string
  /** Sorted by name. Empty means the route answers 503. */
  readonly servers: ReadonlyArray<Server>
  /** Routing options from the service's attributes (extra hosts: only those it was granted). */
  readonly options: ServiceOptions
  readonly zone: ZoneRouting | undefined
}

/** `<host>` -> backend (host mode). */
export interface HostRoute {
  readonly host: string
  readonly backend: string
}

/** `<domain>` + first path segment `<service>` -> backend (path mode; prefix stripped). */
export interface PathRoute {
  readonly domain: string
  readonly segment: string
  readonly backend: string
}

/** A record left out of routing, with the reason an operator can act on. */
export interface Quarantined {
  readonly namespace: string
  readonly service: string
  /** Absent when the whole service (or namespace) was quarantined. */
  readonly instanceId?: string
  readonly reason: string
}

/** Identity of a quarantined record, for "is this one new" (logged once). */
export const quarantineKey = (q: Quarantined): string => JSON.stringify([q.namespace, q.service, q.instanceId ?? null, q.reason])

export interface Desired {
  /** Sorted by name. */
  readonly backends: ReadonlyArray<Backend>
  /** Sorted by host. */
  readonly hostRoutes: ReadonlyArray<HostRoute>
  /** Sorted by domain, then segment. */
  readonly pathRoutes: ReadonlyArray<PathRoute>
  readonly quarantined: ReadonlyArray<Quarantined>
  /** Options (service or instance attributes) that were not applied, with the reason. */
  readonly ignoredOptions: ReadonlyArray<IgnoredOption>
}
