/**
 * Snapshot -> Desired, pure. Owns every rule about names: service-name normalisation, hostname
 * and identifier grammar, address/port validation, route conflicts. Untrusted strings never get
 * past this file unless they passed ../model/grammar.ts; whatever fails is quarantined with a
 * reason and everything else proceeds. Route conflicts are decided by Cloud Map data (CreateDate
 * first), never by the order things were listed in.
 */
import { Data, Order, Result } from "effect"
import {
  type Backend,
  byName,
  type Desired,
  type HostRoute,
  type PathRoute,
  type Quarantined
} from "../model/desired.ts"
import { checkIdentifier, normaliseHostname, normaliseServiceName, quote } from "../model/grammar.ts"
import { hostBackendName, pathBackendName, pathRouteKey } from "../model/names.ts"
import type { IgnoredOption } from "../model/service-options.ts"
import type { DiscoveredService, NamespaceMapping, Snapshot } from "../model/snapshot.ts"
import { planInstances } from "./instances.ts"
import { DEFAULT_INSTANCE_NETWORKS, type InstanceNetworks } from "./networks.ts"
import { decodeServiceOptions } from "./options.ts"
import { applyZoneAffinity, type ZoneAffinity } from "./zones.ts"

export interface PlanOptions {
  /** Port for instances with an address but no AWS_INSTANCE_PORT (awsvpc A-record registrations). */
  readonly defaultInstancePort: number | undefined
  /** Service attributes by service id (GetServiceAttributes); a service without an entry gets the defaults. */
  readonly serviceAttributes?: ReadonlyMap<string, Readonly<Record<string, string>>> | undefined
  /** Zone affinity, when on and the agent's zone is known. */
  readonly zoneAffinity?: ZoneAffinity | undefined
  /** Which instance addresses may be routed (./networks.ts); unset refuses every refused range. */
  readonly instanceNetworks?: InstanceNetworks | undefined
}

/** Path-mode segments that are the monitoring pages on every host (see src/render). */
const RESERVED_SEGMENTS: ReadonlySet<string> = new Set(["stats", "metrics"])


/**
 * A service competing for a host (host mode), a path-mode domain or a path. Who wins depends on
 * Cloud Map data only (and NAMESPACE_MAP for the same service mapped twice), so every replica,
 * whenever it started, picks the same owner.
 */
export interface Claim {
  readonly namespace: string
  /** Raw Cloud Map service name. */
  readonly service: string
  readonly serviceId: string
  /** ListServices' CreateDate (epoch ms); undefined ranks last. */
  readonly createdAt: number | undefined
  /** The raw name is already its normalised form: no case change, no `_x._tcp` decoration. */
  readonly canonical: boolean
  /** Position of the namespace's NAMESPACE_MAP entry. */
  readonly mappingIndex: number
  /** False for a service whose instances could not be read: it holds its route, routing nothing. */
  readonly readable: boolean
}

const knownTime = (ms: number | undefined): number | undefined => (ms !== undefined && Number.isFinite(ms) ? ms : undefined)

/**
 * Claim rank, best first: created earlier (no creation date ranks last), canonical name form,
 * service id (code-unit order), NAMESPACE_MAP order.
 */
const compareClaims = (a: Claim, b: Claim): number => {
  const ta = knownTime(a.createdAt)
  const tb = knownTime(b.createdAt)
  if (ta !== tb) return ta === undefined ? 1 : tb === undefined ? -1 : ta - tb
  if (a.canonical !== b.canonical) return a.canonical ? -1 : 1
  return Order.String(a.serviceId, b.serviceId) || a.mappingIndex - b.mappingIndex
}

/** Largest epoch milliseconds a Date accepts; beyond it toISOString throws. */
const MAX_DATE_MS = 8.64e15

const timestamp = (ms: number): string => (Math.abs(ms) <= MAX_DATE_MS ? new Date(ms).toISOString() : String(ms))

const describeClaim = (claim: Claim): string =>
  `service ${quote(claim.service)} (id ${quote(claim.serviceId)}) in namespace ${quote(claim.namespace)}` +
  (claim.readable ? "" : " (its instances could not be read yet)")

/** Why `owner` ranks before `loser` (see compareClaims), for the loser's quarantine reason. */
const precedence = (owner: Claim, loser: Claim): string => {
  const to = knownTime(owner.createdAt)
  const tl = knownTime(loser.createdAt)
  if (to !== tl && to !== undefined) {
    return `created earlier (${timestamp(to)}; this service ${tl === undefined ? "has no creation date" : timestamp(tl)})`
  }
  const sameTime = to === undefined ? "neither has a creation date" : `both created at ${timestamp(to)}`
  if (owner.canonical !== loser.canonical) return `${sameTime}, and its name is in canonical form`
  if (owner.serviceId !== loser.serviceId) return `${sameTime}, both names in the same form, and its service id sorts first`
  return `${sameTime}, the same service, and its NAMESPACE_MAP entry comes first`
}

/** Where a service is routed: a whole host (host mode), or a domain's first path segment (path mode). */
type Route = Data.TaggedEnum<{
  Host: { readonly host: string; readonly backend: string }
  Path: { readonly domain: string; readonly segment: string; readonly backend: string }
}>
const Route = Data.taggedEnum<Route>()

/** `Backend.route`: the host, or the paths.map key `<domain>/<segment>`. */
const routeKey = (route: Route): string => route._tag === "Host" ? route.host : pathRouteKey(route.domain, route.segment)

/** Host mode: `<service>.<domain>`; path mode: `<domain>` + first segment `<service>`. */
const routeFor = (mapping: NamespaceMapping, domain: string, service: string): Result.Result<Route, string> => {
  if (mapping.mode === "host") {
    const host = normaliseHostname(`${service}.${domain}`)
    if (Result.isFailure(host)) return Result.fail(`host ${quote(`${service}.${domain}`)} ${host.failure}`)
    const backend = checkIdentifier(hostBackendName(host.success))
    if (Result.isFailure(backend)) return Result.fail(`backend name: ${backend.failure}`)
    return Result.succeed(Route.Host({ host: host.success, backend: backend.success }))
  }
  if (RESERVED_SEGMENTS.has(service)) {
    return Result.fail(`path segment /${service} is reserved for the monitoring pages (/stats, /metrics)`)
  }
  const backend = checkIdentifier(pathBackendName(domain, service))
  if (Result.isFailure(backend)) return Result.fail(`backend name: ${backend.failure}`)
  return Result.succeed(Route.Path({ domain, segment: service, backend: backend.success }))
}

/** A service with a valid route, before claims are decided. */
interface Candidate {
  readonly mapping: NamespaceMapping
  readonly service: DiscoveredService
  /** Normalised service name (host label or path segment). */
  readonly name: string
  readonly route: Route
  readonly claim: Claim
  /** The namespace's domain, normalised. */
  readonly domain: string
}

/** Who holds what so far, in rank order. */
interface Claims {
  /** host -> claim, for host-mode routes. */
  readonly hosts: Map<string, Claim>
  /** domain -> the highest-ranked path-mode claim under it. */
  readonly domains: Map<string, Claim>
  /** `<domain>/<segment>` -> claim. */
  readonly paths: Map<string, Claim>
}

/** The reason `candidate` loses its route to an earlier (higher-ranked) claim, or undefined. */
const conflictOf = (candidate: Candidate, claims: Claims): string | undefined => {
  const { route, claim } = candidate
  const lost = (what: string, owner: Claim | undefined) =>
    owner === undefined ? undefined : `${what} ${describeClaim(owner)}, ${precedence(owner, claim)}`
  switch (route._tag) {
    case "Host":
      return lost(`host ${route.host} is already routed to`, claims.hosts.get(route.host)) ??
        lost(`host ${route.host} is already a path-mode domain, held by`, claims.domains.get(route.host))
    case "Path":
      return lost(`domain ${route.domain} is already routed in host mode to`, claims.hosts.get(route.domain)) ??
        lost(`path ${routeKey(route)} is already routed to`, claims.paths.get(routeKey(route)))
  }
}

const recordClaim = (candidate: Candidate, claims: Claims): void => {
  const { route, claim } = candidate
  switch (route._tag) {
    case "Host":
      claims.hosts.set(route.host, claim)
      return
    case "Path":
      if (!claims.domains.has(route.domain)) claims.domains.set(route.domain, claim)
      claims.paths.set(routeKey(route), claim)
  }
}

/**
 * Why an extra host name (`haproxy.hosts`) of `claim` is refused, or undefined. A service's own
 * name or a path-mode domain always keeps its host (they were all claimed before any extra name);
 * between two extra names the service that ranks first keeps it.
 */
const extraHostConflict = (host: string, claim: Claim, claims: Claims, extraHosts: ReadonlySet<string>): string | undefined => {
  const domain = claims.domains.get(host)
  if (domain !== undefined) {
    return `host ${host} is a path-mode domain, held by ${describeClaim(domain)}: an extra host name never takes a path-mode domain`
  }
  const owner = claims.hosts.get(host)
  if (owner === undefined) return undefined
  if (!extraHosts.has(host)) {
    return `host ${host} is the own name of ${describeClaim(owner)}: an extra host name never takes a service's own name`
  }
  return `host ${host} is already an extra host name of ${describeClaim(owner)}, ${precedence(owner, claim)}`
}

/**
 * The plan. Every routable service of every namespace competes in one ranking (compareClaims:
 * earliest CreateDate, then canonical name form, then service id, then NAMESPACE_MAP order), so
 * a service created later never takes a route from a live one, whatever its name or namespace.
 * The first claimant of a host (host mode) or a domain + segment (path mode) keeps it; a later
 * claimant is quarantined with a reason naming the owner and why it ranks first. A host-mode
 * host and a path-mode domain with the same name also conflict (one request host cannot be
 * routed both ways): the domain's claim is its highest-ranked path service's, and the better
 * ranked of that and the host keeps the name.
 *
 * Extra host names (`haproxy.hosts`) come after every service's own route: they never take a
 * service's own name or a path-mode domain, whatever the ages, and among themselves rank as above.
 *
 * Failed namespaces produce nothing. A Failed service (no instances read yet: fail static keeps
 * the last good read otherwise) is not quarantined and routes nothing, but still holds its claim,
 * so a newer service cannot take its route while it cannot be read.
 */
export const plan = (snapshot: Snapshot, options: PlanOptions): Desired => {
  const backends: Array<Backend> = []
  const hostRoutes: Array<HostRoute> = []
  const pathRoutes: Array<PathRoute> = []
  const quarantined: Array<Quarantined> = []
  const ignoredOptions: Array<IgnoredOption> = []
  const candidates: Array<Candidate> = []

  snapshot.namespaces.forEach((namespace, mappingIndex) => {
    if (namespace._tag === "Failed") return
    const mapping = namespace.mapping
    const domain = normaliseHostname(mapping.domain)
    for (const service of namespace.services) {
      const reject = (reason: string) => {
        if (service._tag === "Ok") quarantined.push({ namespace: mapping.namespace, service: service.name, reason })
      }
      if (Result.isFailure(domain)) {
        reject(`namespace domain ${quote(mapping.domain)} ${domain.failure}`)
        continue
      }
      const name = normaliseServiceName(service.name)
      if (Result.isFailure(name)) {
        reject(name.failure)
        continue
      }
      const routed = routeFor(mapping, domain.success, name.success)
      if (Result.isFailure(routed)) {
        reject(routed.failure)
        continue
      }
      candidates.push({
        mapping,
        service,
        name: name.success,
        route: routed.success,
        domain: domain.success,
        claim: {
          namespace: mapping.namespace,
          service: service.name,
          serviceId: service.id,
          createdAt: service.createdAt,
          canonical: service.name === name.success,
          mappingIndex,
          readable: service._tag === "Ok"
        }
      })
    }
  })

  candidates.sort((a, b) => compareClaims(a.claim, b.claim))
  const claims: Claims = { hosts: new Map(), domains: new Map(), paths: new Map() }
  // First every service's own route (its name, or its segment of a path-mode domain), then the
  // extra host names: an extra name is an alias and never takes a host that is another service's
  // own name or a path-mode domain, whatever the ages (an attribute must not remove a route).
  const routed: Array<Candidate> = []
  /** Hosts granted as extra names so far (the others in claims.hosts are services' own names). */
  const extraHosts = new Set<string>()
  for (const candidate of candidates) {
    const conflict = conflictOf(candidate, claims)
    if (conflict !== undefined) {
      if (candidate.service._tag === "Ok") {
        quarantined.push({ namespace: candidate.mapping.namespace, service: candidate.service.name, reason: conflict })
      }
      continue
    }
    recordClaim(candidate, claims)
    routed.push(candidate)
  }
  for (const candidate of routed) {
    const { mapping, service, route } = candidate
    if (service._tag !== "Ok") continue
    const ignore = (key: string, reason: string, instanceId?: string) =>
      ignoredOptions.push({ namespace: mapping.namespace, service: service.name, ...(instanceId === undefined ? {} : { instanceId }), key, reason })
    const decoded = decodeServiceOptions(options.serviceAttributes?.get(service.id), {
      mode: mapping.mode,
      domain: candidate.domain
    })
    for (const p of decoded.ignored) ignore(p.key, p.reason)
    if (route._tag === "Host") hostRoutes.push({ host: route.host, backend: route.backend })
    else pathRoutes.push({ domain: route.domain, segment: route.segment, backend: route.backend })
    // Extra host names claim among themselves at the service's rank: the service created first
    // keeps a name two services ask for as an extra host.
    const granted: Array<string> = []
    for (const host of decoded.options.hosts) {
      if (route._tag === "Host" && host === route.host) continue
      const lost = extraHostConflict(host, candidate.claim, claims, extraHosts)
      if (lost !== undefined) {
        ignore("haproxy.hosts", lost)
        continue
      }
      claims.hosts.set(host, candidate.claim)
      extraHosts.add(host)
      hostRoutes.push({ host, backend: route.backend })
      granted.push(host)
    }
    const planned = planInstances(
      mapping.namespace,
      service.name,
      service.instances,
      options.defaultInstancePort,
      options.instanceNetworks ?? DEFAULT_INSTANCE_NETWORKS
    )
    quarantined.push(...planned.quarantined)
    ignoredOptions.push(...planned.ignoredOptions)
    const zoned = options.zoneAffinity === undefined ? undefined : applyZoneAffinity(planned.servers, options.zoneAffinity)
    backends.push({
      name: route.backend,
      namespace: mapping.namespace,
      service: candidate.name,
      serviceId: service.id,
      mode: mapping.mode,
      route: routeKey(route),
      servers: zoned?.servers ?? planned.servers,
      // The decoded object itself when every extra host was granted (stable across plans).
      options: granted.length === decoded.options.hosts.length ? decoded.options : { ...decoded.options, hosts: granted },
      zone: zoned?.zone
    })
  }

  backends.sort(byName)
  hostRoutes.sort(Order.Struct({ host: Order.String }))
  pathRoutes.sort(Order.Struct({ domain: Order.String, segment: Order.String }))
  quarantined.sort(Order.mapInput(
    Order.Tuple([Order.String, Order.String, Order.String, Order.String]),
    (q: Quarantined) => [q.namespace, q.service, q.instanceId ?? "", q.reason] as const
  ))
  ignoredOptions.sort(Order.mapInput(
    Order.Tuple([Order.String, Order.String, Order.String, Order.String]),
    (o: IgnoredOption) => [o.namespace, o.service, o.instanceId ?? "", o.key] as const
  ))
  return { backends, hostRoutes, pathRoutes, quarantined, ignoredOptions }
}
