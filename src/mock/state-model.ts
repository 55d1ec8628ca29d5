/**
 * The mock Cloud Map's data: the records, the state type, ids and ARNs, the constraints Cloud Map
 * puts on names and attributes, and the lookups and updates every operation shares.
 *
 * The state is an immutable value. Lookups go through indexes (namespace by id/name/HttpName,
 * service by id and by namespace+name); a write copies the touched maps, O(services + instances
 * of that service); nothing is O(n²).
 *
 * `InstancesRevision` is per service and only ever grows. Revisions come from one state-wide
 * counter (`revisionClock`), so they are monotonic per service (also across a reset) but not
 * consecutive.
 */
import { createHash } from "node:crypto"
import { Result } from "effect"
import { type CloudMapError, fail } from "./cloudmap-error.ts"
import type { FeedReadings } from "./feed-readings.ts"
import type { OperationLog } from "./operation-log.ts"

export type HealthStatus = "HEALTHY" | "UNHEALTHY" | "UNKNOWN"
export type HealthCheck = "custom" | "none"

export interface InstanceRecord {
  readonly id: string
  readonly attributes: Readonly<Record<string, string>>
  /** Always "UNKNOWN" for services without a health check. */
  readonly health: HealthStatus
  readonly createDate: number
  readonly creatorRequestId: string | undefined
}

export interface ServiceRecord {
  readonly id: string
  readonly arn: string
  readonly name: string
  readonly namespaceId: string
  readonly description: string | undefined
  readonly healthCheck: HealthCheck
  /** Service attributes (GetServiceAttributes / UpdateServiceAttributes). */
  readonly attributes: Readonly<Record<string, string>>
  readonly revision: number
  /** In registration order; re-registration keeps the position. */
  readonly instances: ReadonlyMap<string, InstanceRecord>
  readonly createDate: number
  readonly creatorRequestId: string | undefined
}

export interface NamespaceRecord {
  readonly id: string
  readonly arn: string
  readonly name: string
  readonly httpName: string
  readonly description: string | undefined
  /** In creation order. */
  readonly serviceIds: ReadonlyArray<string>
  readonly createDate: number
  readonly creatorRequestId: string | undefined
}

export interface MockState {
  readonly region: string
  readonly accountId: string
  /**
   * undefined: pages are filled with matches (no empty pages). A number: filtered
   * ListNamespaces/ListServices examine at most min(MaxResults, emptyPagesWindow) entries per page,
   * then filter (pages may be empty with a NextToken). See paging.ts.
   */
  readonly emptyPagesWindow: number | undefined
  readonly namespaces: ReadonlyMap<string, NamespaceRecord>
  /** Namespace ids in creation order (append-only: stable pagination positions). */
  readonly namespaceOrder: ReadonlyArray<string>
  readonly namespaceByName: ReadonlyMap<string, string>
  readonly namespaceByHttpName: ReadonlyMap<string, string>
  readonly services: ReadonlyMap<string, ServiceRecord>
  /** Service ids in creation order (append-only). */
  readonly serviceOrder: ReadonlyArray<string>
  /** `${namespaceId}/${serviceName}` → service id */
  readonly serviceByKey: ReadonlyMap<string, string>
  /** Last revision handed out (state-wide, monotonic). */
  readonly revisionClock: number
  /** Operations started so far, also across resets (OperationIds are derived from the number). */
  readonly operationCounter: number
  /** The asynchronous operations, in creation order (see operation-log.ts). */
  readonly operations: OperationLog
  /** How long a new operation takes to report SUCCESS (0 = at once). */
  readonly operationDelayMs: number
  /** How long operations stay visible to GetOperation and ListOperations (by CreateDate). */
  readonly operationRetentionMs: number
  /** How the operation feed reads where AWS publishes nothing (./feed-readings.ts). */
  readonly feedReadings: FeedReadings
}

// ---------------------------------------------------------------------------------------------
// Ids and ARNs

const ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"

/** A Cloud Map-looking id (`ns-` / `srv-` + 16 lowercase alphanumerics) derived from `key`. */
export const deterministicId = (prefix: string, key: string): string => {
  const digest = createHash("sha256").update(key).digest()
  let out = prefix
  for (let i = 0; i < 16; i++) out += ID_ALPHABET[digest[i]! % ID_ALPHABET.length]
  return out
}
export const namespaceIdFor = (namespaceName: string): string => deterministicId("ns-", `namespace:${namespaceName}`)
export const serviceIdFor = (namespaceId: string, serviceName: string): string =>
  deterministicId("srv-", `service:${namespaceId}/${serviceName}`)

type Account = Pick<MockState, "region" | "accountId">
export const namespaceArn = (s: Account, id: string): string =>
  `arn:aws:servicediscovery:${s.region}:${s.accountId}:namespace/${id}`
export const serviceArn = (s: Account, id: string): string =>
  `arn:aws:servicediscovery:${s.region}:${s.accountId}:service/${id}`

/** Accepts an id or an ARN (`arn:...:namespace/ns-x`, `arn:...:service/srv-x`). */
export const idFromArn = (idOrArn: string): string => {
  if (!idOrArn.startsWith("arn:")) return idOrArn
  const slash = idOrArn.lastIndexOf("/")
  return slash === -1 ? idOrArn : idOrArn.slice(slash + 1)
}

/** Cloud Map timestamps are epoch seconds (JSON numbers, fractional). */
export const epochSeconds = (ms: number): number => ms / 1000

// ---------------------------------------------------------------------------------------------
// Constraints (patterns from the Cloud Map Smithy model)

export const SERVICE_NAME_PATTERN =
  /((?=^.{1,127}$)^([a-zA-Z0-9_][a-zA-Z0-9-_]{0,61}[a-zA-Z0-9_]|[a-zA-Z0-9])(\.([a-zA-Z0-9_][a-zA-Z0-9-_]{0,61}[a-zA-Z0-9_]|[a-zA-Z0-9]))*$)|(^\.$)/
export const NAMESPACE_NAME_PATTERN = /^[!-~]{1,1024}$/
export const INSTANCE_ID_PATTERN = /^[0-9a-zA-Z_/:.@-]{1,64}$/
export const ATTR_KEY_PATTERN = /^[a-zA-Z0-9!-~]{1,255}$/
export const ATTR_VALUE_PATTERN = /^([a-zA-Z0-9!-~][ \ta-zA-Z0-9!-~]*){0,1}[a-zA-Z0-9!-~]{0,1}$/
export const RESERVED_ATTRIBUTES: ReadonlySet<string> = new Set([
  "AWS_INSTANCE_IPV4",
  "AWS_INSTANCE_IPV6",
  "AWS_INSTANCE_PORT",
  "AWS_INSTANCE_CNAME",
  "AWS_ALIAS_DNS_NAME",
  "AWS_EC2_INSTANCE_ID",
  "AWS_INIT_HEALTH_STATUS"
])
export const MAX_INSTANCES_PER_SERVICE = 1000
export const MAX_SERVICE_ATTRIBUTES = 30

/** Why an instance attribute map is not acceptable to Cloud Map, or undefined when it is. */
export const attributeProblem = (attributes: Readonly<Record<string, string>>): string | undefined => {
  let custom = 0
  let chars = 0
  for (const [key, value] of Object.entries(attributes)) {
    if (!ATTR_KEY_PATTERN.test(key)) return `attribute key ${JSON.stringify(key)} must match ${ATTR_KEY_PATTERN.source}`
    if (typeof value !== "string") return `attribute ${key} must be a string`
    if (value.length > 1024 || !ATTR_VALUE_PATTERN.test(value)) {
      return `attribute ${key} has an invalid value (at most 1024 printable ASCII characters, no leading/trailing whitespace)`
    }
    if (!RESERVED_ATTRIBUTES.has(key)) custom++
    chars += key.length + value.length
  }
  if (custom > 30) return `at most 30 custom attributes are allowed, got ${custom}`
  if (chars > 5000) return `attribute keys and values must total at most 5000 characters, got ${chars}`
  const init = attributes["AWS_INIT_HEALTH_STATUS"]
  if (init !== undefined && init !== "HEALTHY" && init !== "UNHEALTHY") {
    return "AWS_INIT_HEALTH_STATUS must be HEALTHY or UNHEALTHY"
  }
  return undefined
}

/** The health a newly registered instance starts with (AWS_INIT_HEALTH_STATUS, default HEALTHY). */
export const initialHealth = (healthCheck: HealthCheck, attributes: Readonly<Record<string, string>>): HealthStatus =>
  healthCheck === "none" ? "UNKNOWN" : attributes["AWS_INIT_HEALTH_STATUS"] === "UNHEALTHY" ? "UNHEALTHY" : "HEALTHY"

// ---------------------------------------------------------------------------------------------
// Lookups (modeled not-found errors) and updates

export const findService = (state: MockState, idOrArn: string): Result.Result<ServiceRecord, CloudMapError> => {
  const svc = state.services.get(idFromArn(idOrArn))
  return svc === undefined ? fail("ServiceNotFound", `Service not found: ${idOrArn}`) : Result.succeed(svc)
}

export const findNamespace = (state: MockState, idOrArn: string): Result.Result<NamespaceRecord, CloudMapError> => {
  const ns = state.namespaces.get(idFromArn(idOrArn))
  return ns === undefined ? fail("NamespaceNotFound", `Namespace not found: ${idOrArn}`) : Result.succeed(ns)
}

export const withService = (state: MockState, svc: ServiceRecord): MockState => {
  const services = new Map(state.services)
  services.set(svc.id, svc)
  return { ...state, services }
}

/** Hands out the next revision of the state-wide clock. */
export const bumpRevision = (state: MockState): { state: MockState; revision: number } => {
  const revision = state.revisionClock + 1
  return { state: { ...state, revisionClock: revision }, revision }
}
