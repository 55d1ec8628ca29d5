/**
 * Snapshot -> Desired, pure. Owns every rule about names: service-name normalisation, hostname
 * and identifier grammar, address/port validation, route conflicts. Untrusted strings never get
 * past this file unless they passed ../model/grammar.ts; whatever fails is quarantined with a
 * reason and everything else proceeds.
 */
import type {
  Backend,
  Desired,
  HostRoute,
  PathRoute,
  Quarantined,
  Server
} from "../model/desired.ts"
import {
  checkIdentifier,
  checkInstanceId,
  checkIpv4,
  checkIpv6,
  checkPortNumber,
  type Checked,
  invalid,
  normaliseHostname,
  normaliseServiceName,
  parsePort,
  quote,
  valid
} from "../model/grammar.ts"
import { hostBackendName, pathBackendName, pathRouteKey, serverNameForInstance } from "../model/names.ts"
import type { DiscoveredInstance, DiscoveredService, NamespaceMapping, Snapshot } from "../model/snapshot.ts"

export interface PlanOptions {
  /** Port for instances with an address but no AWS_INSTANCE_PORT (awsvpc A-record registrations). */
  readonly defaultInstancePort: number | undefined
}

/** Path-mode segments that are the monitoring pages on every host (see src/render). */
export const RESERVED_SEGMENTS: ReadonlySet<string> = new Set(["stats", "metrics"])

export const ATTR_IPV4 = "AWS_INSTANCE_IPV4"
export const ATTR_IPV6 = "AWS_INSTANCE_IPV6"
export const ATTR_PORT = "AWS_INSTANCE_PORT"

/** Plain code-unit order: locale-independent, so every replica sorts the same way. */
export const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

type OkService = Extract<DiscoveredService, { readonly _tag: "Ok" }>

/** Who holds a host, a path-mode domain or a path route: named in the loser's reason. */
interface Claim {
  readonly namespace: string
  readonly service: string
  readonly serviceId: string
}

const describeClaim = (claim: Claim): string =>
  `service ${quote(claim.service)} (id ${quote(claim.serviceId)}) in namespace ${quote(claim.namespace)}`

/**
 * The address of an instance: AWS_INSTANCE_IPV4 when present, else AWS_INSTANCE_IPV6. An IPv4
 * attribute that is present but invalid quarantines the instance (no silent fallback to IPv6).
 */
export const instanceAddress = (attributes: Readonly<Record<string, string>>): Checked<string> => {
  const v4 = attributes[ATTR_IPV4]
  if (v4 !== undefined) return checkIpv4(v4)
  const v6 = attributes[ATTR_IPV6]
  if (v6 !== undefined) return checkIpv6(v6)
  return invalid(
    `has no ${ATTR_IPV4} or ${ATTR_IPV6} attribute (CNAME and alias registrations cannot be routed)`
  )
}

/** AWS_INSTANCE_PORT when present (it must be valid), else the configured default port. */
export const instancePort = (
  attributes: Readonly<Record<string, string>>,
  defaultPort: number | undefined
): Checked<number> => {
  const raw = attributes[ATTR_PORT]
  if (raw !== undefined) return parsePort(raw)
  if (defaultPort === undefined) {
    return invalid(`has no ${ATTR_PORT} attribute and no default instance port is configured`)
  }
  const checked = checkPortNumber(defaultPort)
  return checked._tag === "Valid" ? checked : invalid(`default instance ${checked.reason}`)
}

interface InstanceResult {
  readonly servers: ReadonlyArray<Server>
  readonly quarantined: ReadonlyArray<Quarantined>
}

/**
 * Validated, named servers of one service. Instances are visited in instance-id order so the
 * outcome of a name clash does not depend on the order Cloud Map returned them in.
 */
export const planInstances = (
  namespace: string,
  service: string,
  instances: ReadonlyArray<DiscoveredInstance>,
  options: PlanOptions
): InstanceResult => {
  const servers: Array<Server> = []
  const quarantined: Array<Quarantined> = []
  const byName = new Map<string, string>()
  const reject = (instanceId: string, reason: string) =>
    quarantined.push({ namespace, service, instanceId, reason })
  const sorted = [...instances].sort((a, b) => compareStrings(a.id, b.id))
  for (const instance of sorted) {
    const id = checkInstanceId(instance.id)
    if (id._tag === "Invalid") {
      reject(instance.id, id.reason)
      continue
    }
    const name = checkIdentifier(serverNameForInstance(id.value))
    if (name._tag === "Invalid") {
      reject(instance.id, `server name: ${name.reason}`)
      continue
    }
    const holder = byName.get(name.value)
    if (holder !== undefined) {
      reject(
        instance.id,
        holder === instance.id
          ? "duplicate instance id in the same service"
          : `server name ${name.value} is already used by instance ${quote(holder)}`
      )
      continue
    }
    const address = instanceAddress(instance.attributes)
    if (address._tag === "Invalid") {
      reject(instance.id, address.reason)
      continue
    }
    const port = instancePort(instance.attributes, options.defaultInstancePort)
    if (port._tag === "Invalid") {
      reject(instance.id, port.reason)
      continue
    }
    byName.set(name.value, instance.id)
    servers.push({
      name: name.value,
      instanceId: id.value,
      address: address.value,
      port: port.value,
      health: instance.health
    })
  }
  servers.sort((a, b) => compareStrings(a.name, b.name))
  return { servers, quarantined }
}

interface Route {
  readonly route: string
  readonly backend: string
  readonly host?: string
  readonly domain?: string
  readonly segment?: string
}

/** Host mode: `<service>.<domain>`; path mode: `<domain>` + first segment `<service>`. */
const routeFor = (mapping: NamespaceMapping, domain: string, service: string): Checked<Route> => {
  if (mapping.mode === "host") {
    const host = normaliseHostname(`${service}.${domain}`)
    if (host._tag === "Invalid") return invalid(`host ${quote(`${service}.${domain}`)} ${host.reason}`)
    const backend = checkIdentifier(hostBackendName(host.value))
    if (backend._tag === "Invalid") return invalid(`backend name: ${backend.reason}`)
    return valid({ route: host.value, backend: backend.value, host: host.value })
  }
  if (RESERVED_SEGMENTS.has(service)) {
    return invalid(`path segment /${service} is reserved for the monitoring pages (/stats, /metrics)`)
  }
  const backend = checkIdentifier(pathBackendName(domain, service))
  if (backend._tag === "Invalid") return invalid(`backend name: ${backend.reason}`)
  return valid({ route: pathRouteKey(domain, service), backend: backend.value, domain, segment: service })
}

/**
 * The plan. Services are visited in a deterministic order: namespace map order, then raw service
 * name, then service id (code-unit order). The first service to claim a host (host mode), a
 * domain + segment (path mode) wins; a later claimant is quarantined with a reason naming the
 * winner. A host-mode host and a path-mode domain with the same name also conflict (one request
 * host cannot be routed both ways): whichever claims the name first keeps it.
 *
 * Failed namespaces and Failed services produce nothing here and are NOT quarantined: the caller
 * keeps their previous state (fail static) and reports the failure itself.
 */
export const plan = (snapshot: Snapshot, options: PlanOptions): Desired => {
  const backends: Array<Backend> = []
  const hostRoutes: Array<HostRoute> = []
  const pathRoutes: Array<PathRoute> = []
  const quarantined: Array<Quarantined> = []

  /** host -> claim, for host-mode routes. */
  const hostClaims = new Map<string, Claim>()
  /** domain -> first path-mode claim under it. */
  const domainClaims = new Map<string, Claim>()
  /** `<domain>/<segment>` -> claim. */
  const pathClaims = new Map<string, Claim>()

  for (const namespace of snapshot.namespaces) {
    if (namespace._tag === "Failed") continue
    const mapping = namespace.mapping
    const services = namespace.services
      .filter((s): s is OkService => s._tag === "Ok")
      .sort((a, b) => compareStrings(a.name, b.name) || compareStrings(a.id, b.id))
    const domain = normaliseHostname(mapping.domain)

    for (const service of services) {
      const reject = (reason: string) =>
        quarantined.push({ namespace: mapping.namespace, service: service.name, reason })
      if (domain._tag === "Invalid") {
        reject(`namespace domain ${quote(mapping.domain)} ${domain.reason}`)
        continue
      }
      const name = normaliseServiceName(service.name)
      if (name._tag === "Invalid") {
        reject(name.reason)
        continue
      }
      const routed = routeFor(mapping, domain.value, name.value)
      if (routed._tag === "Invalid") {
        reject(routed.reason)
        continue
      }
      const route = routed.value
      const claim: Claim = { namespace: mapping.namespace, service: service.name, serviceId: service.id }

      if (route.host !== undefined) {
        const byHost = hostClaims.get(route.host)
        if (byHost !== undefined) {
          reject(`host ${route.host} is already routed to ${describeClaim(byHost)}`)
          continue
        }
        const byDomain = domainClaims.get(route.host)
        if (byDomain !== undefined) {
          reject(`host ${route.host} is already a path-mode domain, first claimed by ${describeClaim(byDomain)}`)
          continue
        }
        hostClaims.set(route.host, claim)
        hostRoutes.push({ host: route.host, backend: route.backend })
      } else if (route.domain !== undefined && route.segment !== undefined) {
        const byHost = hostClaims.get(route.domain)
        if (byHost !== undefined) {
          reject(`domain ${route.domain} is already routed in host mode to ${describeClaim(byHost)}`)
          continue
        }
        const byPath = pathClaims.get(route.route)
        if (byPath !== undefined) {
          reject(`path ${route.domain}/${route.segment} is already routed to ${describeClaim(byPath)}`)
          continue
        }
        if (!domainClaims.has(route.domain)) domainClaims.set(route.domain, claim)
        pathClaims.set(route.route, claim)
        pathRoutes.push({ domain: route.domain, segment: route.segment, backend: route.backend })
      }

      const planned = planInstances(mapping.namespace, service.name, service.instances, options)
      quarantined.push(...planned.quarantined)
      backends.push({
        name: route.backend,
        namespace: mapping.namespace,
        service: name.value,
        serviceId: service.id,
        mode: mapping.mode,
        route: route.route,
        servers: planned.servers
      })
    }
  }

  backends.sort((a, b) => compareStrings(a.name, b.name))
  hostRoutes.sort((a, b) => compareStrings(a.host, b.host))
  pathRoutes.sort((a, b) => compareStrings(a.domain, b.domain) || compareStrings(a.segment, b.segment))
  quarantined.sort((a, b) =>
    compareStrings(a.namespace, b.namespace) ||
    compareStrings(a.service, b.service) ||
    compareStrings(a.instanceId ?? "", b.instanceId ?? "") ||
    compareStrings(a.reason, b.reason)
  )
  return { backends, hostRoutes, pathRoutes, quarantined }
}
