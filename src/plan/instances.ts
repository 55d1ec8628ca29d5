/**
 * A service's instances -> validated, named servers, pure: address and port from the reserved
 * attributes (quarantined with a reason when unusable or not to be routed: ./networks.ts), the `haproxy.weight` option, and the
 * AVAILABILITY_ZONE that ECS registers (for zone affinity, ./zones.ts).
 */
import { Order, Result } from "effect"
import { byName, type Quarantined, type Server } from "../model/desired.ts"
import {
  checkIdentifier,
  checkInstanceId,
  checkIpv4,
  checkIpv6,
  checkPortNumber,
  parsePort,
  quote
} from "../model/grammar.ts"
import { serverNameForInstance } from "../model/names.ts"
import type { IgnoredOption } from "../model/service-options.ts"
import type { DiscoveredInstance } from "../model/snapshot.ts"
import { type InstanceNetworks, refusedInstance } from "./networks.ts"
import { decodeInstanceWeight } from "./options.ts"

const ATTR_IPV4 = "AWS_INSTANCE_IPV4"
const ATTR_IPV6 = "AWS_INSTANCE_IPV6"
const ATTR_PORT = "AWS_INSTANCE_PORT"
/** Registered by ECS on every task's instance. */
const ATTR_ZONE = "AVAILABILITY_ZONE"

/** The instance's zone when it is a plausible zone name; anything else counts as no zone. */
const instanceZone = (attributes: Readonly<Record<string, string>>): string | undefined => {
  const zone = attributes[ATTR_ZONE]
  return zone !== undefined && /^[a-z0-9-]{1,64}$/.test(zone) ? zone : undefined
}

/**
 * The address of an instance: AWS_INSTANCE_IPV4 when present, else AWS_INSTANCE_IPV6. An IPv4
 * attribute that is present but invalid quarantines the instance (no silent fallback to IPv6).
 */
const instanceAddress = (attributes: Readonly<Record<string, string>>): Result.Result<string, string> => {
  const v4 = attributes[ATTR_IPV4]
  if (v4 !== undefined) return checkIpv4(v4)
  const v6 = attributes[ATTR_IPV6]
  if (v6 !== undefined) return checkIpv6(v6)
  return Result.fail(
    `has no ${ATTR_IPV4} or ${ATTR_IPV6} attribute (CNAME and alias registrations cannot be routed)`
  )
}

/** AWS_INSTANCE_PORT when present (it must be valid), else the configured default port. */
const instancePort = (
  attributes: Readonly<Record<string, string>>,
  defaultPort: number | undefined
): Result.Result<number, string> => {
  const raw = attributes[ATTR_PORT]
  if (raw !== undefined) return parsePort(raw)
  if (defaultPort === undefined) {
    return Result.fail(`has no ${ATTR_PORT} attribute and no default instance port is configured`)
  }
  const checked = checkPortNumber(defaultPort)
  return Result.mapError(checked, (reason) => `default instance ${reason}`)
}

export interface InstanceResult {
  readonly servers: ReadonlyArray<Server>
  readonly quarantined: ReadonlyArray<Quarantined>
  readonly ignoredOptions: ReadonlyArray<IgnoredOption>
}

/**
 * Validated, named servers of one service. Instances are visited in instance-id order so the
 * outcome of a name clash does not depend on the order Cloud Map returned them in.
 */
export const planInstances = (
  namespace: string,
  service: string,
  instances: ReadonlyArray<DiscoveredInstance>,
  defaultInstancePort: number | undefined,
  networks: InstanceNetworks
): InstanceResult => {
  const servers: Array<Server> = []
  const quarantined: Array<Quarantined> = []
  const ignoredOptions: Array<IgnoredOption> = []
  const holderOf = new Map<string, string>()
  const reject = (instanceId: string, reason: string) =>
    quarantined.push({ namespace, service, instanceId, reason })
  const sorted = [...instances].sort(Order.mapInput(Order.String, (i: DiscoveredInstance) => i.id))
  for (const instance of sorted) {
    const id = checkInstanceId(instance.id)
    if (Result.isFailure(id)) {
      reject(instance.id, id.failure)
      continue
    }
    const name = checkIdentifier(serverNameForInstance(id.success))
    if (Result.isFailure(name)) {
      reject(instance.id, `server name: ${name.failure}`)
      continue
    }
    const holder = holderOf.get(name.success)
    if (holder !== undefined) {
      reject(
        instance.id,
        holder === instance.id
          ? "duplicate instance id in the same service"
          : `server name ${name.success} is already used by instance ${quote(holder)}`
      )
      continue
    }
    const address = instanceAddress(instance.attributes)
    if (Result.isFailure(address)) {
      reject(instance.id, address.failure)
      continue
    }
    const port = instancePort(instance.attributes, defaultInstancePort)
    if (Result.isFailure(port)) {
      reject(instance.id, port.failure)
      continue
    }
    const refused = refusedInstance(address.success, port.success, networks)
    if (refused !== undefined) {
      reject(instance.id, refused)
      continue
    }
    holderOf.set(name.success, instance.id)
    const weight = decodeInstanceWeight(instance.attributes)
    for (const { key, reason } of weight.ignored) ignoredOptions.push({ namespace, service, instanceId: instance.id, key, reason })
    servers.push({
      name: name.success,
      instanceId: id.success,
      address: address.success,
      port: port.success,
      health: instance.health,
      weight: weight.weight,
      backup: false,
      zone: instanceZone(instance.attributes)
    })
  }
  servers.sort(byName)
  return { servers, quarantined, ignoredOptions }
}

