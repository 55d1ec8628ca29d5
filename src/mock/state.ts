/**
 * The mock Cloud Map's state and its operations, without any HTTP.
 *
 * The state is an immutable value: every operation takes the current state and the decoded
 * JSON request and returns either `{ state, output }` (the new state, unchanged for reads, and
 * the JSON response body) or a modeled Cloud Map error (`{ code, message, status }`). The
 * clock and the random source are passed in, so the functions are deterministic.
 *
 * Costs: lookups go through indexes (namespace by id/name/HttpName, service by id and by
 * namespace+name). A read costs at most O(items scanned for the page or the service's
 * instances). A write copies the touched maps, O(services + instances of that service);
 * nothing is O(n²).
 *
 * Semantics follow the AWS Cloud Map API (2017-03-14 model):
 * - `InstancesRevision` is per service and only ever grows. It is bumped by RegisterInstance
 *   (new instance, or re-registration with different attributes) and DeregisterInstance, never by
 *   health changes. Revisions come from one state-wide counter, so they are monotonic per service
 *   (also across a reset) but not consecutive.
 * - DiscoverInstances: QueryParameters (all must match), then HealthStatus (ignored for services
 *   without a health check; default HEALTHY), then OptionalParameters (preferred when some match),
 *   then a random subset/permutation of at most MaxResults (1..1000, default 100).
 *   Services without a health check report `HealthStatus: "UNKNOWN"`, as Cloud Map does.
 * - List* / GetInstancesHealthStatus: MaxResults 1..100 (default 100), opaque NextToken
 *   (base64url JSON bound to the operation and the filters). With `emptyPages` set, filtered
 *   ListNamespaces/ListServices look at a window of entries per page and filter afterwards, so a
 *   page can be empty while NextToken is set (Cloud Map's documented behaviour).
 */
import { Buffer } from "node:buffer"
import { createHash } from "node:crypto"
import { Result } from "effect"
import type { Fixture } from "./fixture.ts"

// ---------------------------------------------------------------------------------------------
// Types

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
   * then filter (pages may be empty with a NextToken).
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
  /** Operations started so far (OperationIds are numbered). */
  readonly operationCounter: number
}

/** A modeled Cloud Map error, as sent on the wire. */
export interface CloudMapError {
  readonly code: string
  readonly message: string
  readonly status: number
  /** Extra members of the error body (e.g. `ServiceId` of ServiceAlreadyExists). */
  readonly fields?: Readonly<Record<string, unknown>>
}

export interface OperationContext {
  /** Epoch milliseconds. */
  readonly now: number
  /** Uniform in [0, 1). */
  readonly random: () => number
}

export interface OperationSuccess {
  readonly state: MockState
  readonly output: Readonly<Record<string, unknown>>
}

export type OperationResult = Result.Result<OperationSuccess, CloudMapError>

export type Operation = (state: MockState, input: Readonly<Record<string, unknown>>, ctx: OperationContext) => OperationSuccess

// ---------------------------------------------------------------------------------------------
// Errors

class Thrown {
  readonly error: CloudMapError
  constructor(error: CloudMapError) {
    this.error = error
  }
}

const fail = (code: string, message: string, status = 400, fields?: Readonly<Record<string, unknown>>): never => {
  throw new Thrown(fields === undefined ? { code, message, status } : { code, message, status, fields })
}
const invalid = (message: string): never => fail("InvalidInput", message)

export const cloudMapError = (code: string, message: string, status = 400): CloudMapError => ({ code, message, status })

// ---------------------------------------------------------------------------------------------
// Ids, ARNs, constraints

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

const namespaceArn = (s: Pick<MockState, "region" | "accountId">, id: string) =>
  `arn:aws:servicediscovery:${s.region}:${s.accountId}:namespace/${id}`
const serviceArn = (s: Pick<MockState, "region" | "accountId">, id: string) =>
  `arn:aws:servicediscovery:${s.region}:${s.accountId}:service/${id}`

/** Patterns from the Cloud Map Smithy model. */
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

// ---------------------------------------------------------------------------------------------
// Initial state

export interface InitialStateOptions {
  /** Epoch milliseconds used as CreateDate of fixture entities. */
  readonly now: number
  /** Revisions start above this value (pass the previous state's revisionClock on reset). */
  readonly revisionBase?: number
  /** Overrides the fixture's `emptyPages`. */
  readonly emptyPages?: boolean | number
}

const emptyPagesWindow = (emptyPages: boolean | number | undefined): number | undefined =>
  emptyPages === undefined || emptyPages === false
    ? undefined
    : emptyPages === true
    ? Number.POSITIVE_INFINITY
    : Math.max(1, Math.floor(emptyPages))

/**
 * Builds the state described by a fixture. The fixture must have been validated
 * (`decodeFixture` in fixture.ts checks names, ids and attributes).
 */
export const initialState = (fixture: Fixture, options: InitialStateOptions): MockState => {
  const region = fixture.region ?? "us-east-1"
  const accountId = fixture.accountId ?? "123456789012"
  const ids = { region, accountId }
  const revision = (options.revisionBase ?? 0) + 1
  const created = options.now
  const namespaces = new Map<string, NamespaceRecord>()
  const namespaceByName = new Map<string, string>()
  const namespaceByHttpName = new Map<string, string>()
  const services = new Map<string, ServiceRecord>()
  const serviceOrder: Array<string> = []
  const serviceByKey = new Map<string, string>()
  for (const ns of fixture.namespaces) {
    const nsId = ns.id ?? namespaceIdFor(ns.name)
    const serviceIds: Array<string> = []
    for (const svc of ns.services ?? []) {
      const srvId = svc.id ?? serviceIdFor(nsId, svc.name)
      const healthCheck: HealthCheck = svc.healthCheck ?? "custom"
      const instances = new Map<string, InstanceRecord>()
      for (const inst of svc.instances ?? []) {
        const init = inst.attributes["AWS_INIT_HEALTH_STATUS"]
        const health: HealthStatus = healthCheck === "none"
          ? "UNKNOWN"
          : inst.health ?? (init === "UNHEALTHY" ? "UNHEALTHY" : "HEALTHY")
        instances.set(inst.id, {
          id: inst.id,
          attributes: { ...inst.attributes },
          health,
          createDate: created,
          creatorRequestId: undefined
        })
      }
      services.set(srvId, {
        id: srvId,
        arn: serviceArn(ids, srvId),
        name: svc.name,
        namespaceId: nsId,
        description: svc.description,
        healthCheck,
        attributes: { ...svc.attributes },
        revision,
        instances,
        createDate: created,
        creatorRequestId: undefined
      })
      serviceIds.push(srvId)
      serviceOrder.push(srvId)
      serviceByKey.set(`${nsId}/${svc.name}`, srvId)
    }
    const httpName = ns.httpName ?? ns.name
    namespaces.set(nsId, {
      id: nsId,
      arn: namespaceArn(ids, nsId),
      name: ns.name,
      httpName,
      description: ns.description,
      serviceIds,
      createDate: created,
      creatorRequestId: undefined
    })
    namespaceByName.set(ns.name, nsId)
    namespaceByHttpName.set(httpName, nsId)
  }
  return {
    region,
    accountId,
    emptyPagesWindow: emptyPagesWindow(options.emptyPages ?? fixture.emptyPages),
    namespaces,
    namespaceOrder: [...namespaces.keys()],
    namespaceByName,
    namespaceByHttpName,
    services,
    serviceOrder,
    serviceByKey,
    revisionClock: revision,
    operationCounter: 0
  }
}

/** Changes the empty-pages behaviour of an existing state (control API). */
export const withEmptyPages = (state: MockState, emptyPages: boolean | number): MockState => ({
  ...state,
  emptyPagesWindow: emptyPagesWindow(emptyPages)
})

// ---------------------------------------------------------------------------------------------
// Input helpers (requests are untrusted JSON)

type Input = Readonly<Record<string, unknown>>

const optString = (input: Input, key: string, max = 4096): string | undefined => {
  const v = input[key]
  if (v === undefined || v === null) return undefined
  if (typeof v !== "string") return invalid(`${key} must be a string`)
  if (v.length > max) return invalid(`${key} must be at most ${max} characters`)
  return v
}
const reqString = (input: Input, key: string, max = 4096): string => {
  const v = optString(input, key, max)
  if (v === undefined || v === "") return invalid(`${key} is required`)
  return v
}
const optInt = (input: Input, key: string, min: number, max: number): number | undefined => {
  const v = input[key]
  if (v === undefined || v === null) return undefined
  if (typeof v !== "number" || !Number.isInteger(v)) return invalid(`${key} must be an integer`)
  if (v < min || v > max) {
    return invalid(
      `1 validation error detected: Value '${v}' at '${key}' failed to satisfy constraint: Member must have value ${
        v < min ? `greater than or equal to ${min}` : `less than or equal to ${max}`
      }`
    )
  }
  return v
}
const optStringMap = (input: Input, key: string): Readonly<Record<string, string>> | undefined => {
  const v = input[key]
  if (v === undefined || v === null) return undefined
  if (typeof v !== "object" || Array.isArray(v)) return invalid(`${key} must be a map of strings`)
  for (const value of Object.values(v as Record<string, unknown>)) {
    if (typeof value !== "string") return invalid(`${key} must be a map of strings`)
  }
  return v as Record<string, string>
}
const optStringArray = (input: Input, key: string): ReadonlyArray<string> | undefined => {
  const v = input[key]
  if (v === undefined || v === null) return undefined
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) return invalid(`${key} must be a list of strings`)
  return v as ReadonlyArray<string>
}
const optObject = (input: Input, key: string): Input | undefined => {
  const v = input[key]
  if (v === undefined || v === null) return undefined
  if (typeof v !== "object" || Array.isArray(v)) return invalid(`${key} must be an object`)
  return v as Input
}

const epochSeconds = (ms: number) => ms / 1000

// ---------------------------------------------------------------------------------------------
// Lookups

/** Accepts an id or an ARN (`arn:...:namespace/ns-x`, `arn:...:service/srv-x`). */
const idFromArn = (idOrArn: string): string => {
  if (!idOrArn.startsWith("arn:")) return idOrArn
  const slash = idOrArn.lastIndexOf("/")
  return slash === -1 ? idOrArn : idOrArn.slice(slash + 1)
}

const getService = (state: MockState, idOrArn: string): ServiceRecord => {
  const svc = state.services.get(idFromArn(idOrArn))
  if (svc === undefined) return fail("ServiceNotFound", `Service not found: ${idOrArn}`)
  return svc
}
const getNamespace = (state: MockState, idOrArn: string): NamespaceRecord => {
  const ns = state.namespaces.get(idFromArn(idOrArn))
  if (ns === undefined) return fail("NamespaceNotFound", `Namespace not found: ${idOrArn}`)
  return ns
}
/** Finds the service addressed by DiscoverInstances(Revision): (HttpName or namespace ARN, ServiceName). */
const discoverTarget = (state: MockState, input: Input): { ns: NamespaceRecord; svc: ServiceRecord } => {
  const namespaceName = reqString(input, "NamespaceName", 1024)
  const serviceName = reqString(input, "ServiceName", 127)
  const nsId = namespaceName.startsWith("arn:")
    ? idFromArn(namespaceName)
    : state.namespaceByHttpName.get(namespaceName)
  const ns = nsId === undefined ? undefined : state.namespaces.get(nsId)
  if (ns === undefined) return fail("NamespaceNotFound", `Namespace not found: ${namespaceName}`)
  const srvId = state.serviceByKey.get(`${ns.id}/${serviceName}`)
  const svc = srvId === undefined ? undefined : state.services.get(srvId)
  if (svc === undefined) return fail("ServiceNotFound", `Service not found: ${serviceName} in namespace ${namespaceName}`)
  return { ns, svc }
}

/** The service name a request is about (for fault scoping and call statistics), if any. */
export const serviceNameOf = (state: MockState, operation: string, input: Input): string | undefined => {
  const name = input["ServiceName"]
  if (typeof name === "string") return name
  if (operation === "CreateService" && typeof input["Name"] === "string") return input["Name"]
  const id = input["ServiceId"] ?? (operation === "GetService" ? input["Id"] : undefined)
  if (typeof id === "string") return state.services.get(idFromArn(id))?.name
  return undefined
}

// ---------------------------------------------------------------------------------------------
// Pagination

interface PageToken {
  readonly op: string
  /** Position in the underlying ordered list where the next page starts. */
  readonly pos: number
  /** Fingerprint of the request parameters the token belongs to. */
  readonly fp: string
  /** Key of the last item returned (lets instance pagination survive deregistrations). */
  readonly last?: string
}

const fingerprint = (value: unknown): string =>
  createHash("sha1").update(JSON.stringify(value) ?? "").digest("base64url").slice(0, 12)

const encodeToken = (token: PageToken): string => Buffer.from(JSON.stringify(token)).toString("base64url")

const decodeToken = (raw: string | undefined, op: string, fp: string): PageToken | undefined => {
  if (raw === undefined) return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(raw, "base64url").toString("utf8"))
  } catch {
    return invalid("The NextToken is not valid")
  }
  if (
    typeof parsed !== "object" || parsed === null ||
    (parsed as PageToken).op !== op || (parsed as PageToken).fp !== fp ||
    typeof (parsed as PageToken).pos !== "number" || !Number.isInteger((parsed as PageToken).pos) ||
    (parsed as PageToken).pos < 0
  ) {
    return invalid("The NextToken is not valid for this request")
  }
  return parsed as PageToken
}

/**
 * One page over an ordered id list with a filter. `window` (empty-pages mode) caps how many
 * entries are examined; otherwise the page is filled with up to `max` matches and the token
 * points at the next match (no trailing empty page).
 */
const scanPage = <T>(
  order: ReadonlyArray<string>,
  start: number,
  max: number,
  window: number | undefined,
  select: (id: string) => T | undefined
): { items: Array<T>; next: number | undefined } => {
  const items: Array<T> = []
  if (window !== undefined) {
    const end = Math.min(order.length, start + Math.min(max, window))
    for (let i = start; i < end; i++) {
      const item = select(order[i]!)
      if (item !== undefined) items.push(item)
    }
    return { items, next: end < order.length ? end : undefined }
  }
  let i = start
  for (; i < order.length && items.length < max; i++) {
    const item = select(order[i]!)
    if (item !== undefined) items.push(item)
  }
  for (; i < order.length; i++) {
    if (select(order[i]!) !== undefined) return { items, next: i }
  }
  return { items, next: undefined }
}

/** Pages over a service's instances in registration order. */
const instancePage = (
  svc: ServiceRecord,
  op: string,
  fp: string,
  token: PageToken | undefined,
  max: number
): { page: Array<InstanceRecord>; nextToken: string | undefined } => {
  const all = [...svc.instances.values()]
  let start = 0
  if (token !== undefined) {
    start = Math.min(token.pos, all.length)
    // An instance before the position was deregistered: resume right after the last one returned.
    if (token.last !== undefined && all[start - 1]?.id !== token.last) {
      const idx = all.findIndex((i) => i.id === token.last)
      if (idx >= 0) start = idx + 1
      else start = Math.max(0, Math.min(start - 1, all.length))
    }
  }
  const page = all.slice(start, start + max)
  const end = start + page.length
  const nextToken = end < all.length
    ? encodeToken({ op, pos: end, fp, last: page[page.length - 1]?.id ?? token?.last ?? "" })
    : undefined
  return { page, nextToken }
}

// ---------------------------------------------------------------------------------------------
// Output shapes

const namespaceShape = (state: MockState, ns: NamespaceRecord, full: boolean): Record<string, unknown> => {
  const out: Record<string, unknown> = {
    Id: ns.id,
    Arn: ns.arn,
    ResourceOwner: state.accountId,
    Name: ns.name,
    Type: "HTTP",
    ServiceCount: ns.serviceIds.length,
    Properties: { DnsProperties: {}, HttpProperties: { HttpName: ns.httpName } },
    CreateDate: epochSeconds(ns.createDate)
  }
  if (ns.description !== undefined) out["Description"] = ns.description
  if (full && ns.creatorRequestId !== undefined) out["CreatorRequestId"] = ns.creatorRequestId
  return out
}

const serviceShape = (state: MockState, svc: ServiceRecord, full: boolean): Record<string, unknown> => {
  const out: Record<string, unknown> = {
    Id: svc.id,
    Arn: svc.arn,
    ResourceOwner: state.accountId,
    Name: svc.name,
    Type: "HTTP",
    InstanceCount: svc.instances.size,
    CreateDate: epochSeconds(svc.createDate),
    CreatedByAccount: state.accountId
  }
  if (svc.healthCheck === "custom") out["HealthCheckCustomConfig"] = { FailureThreshold: 1 }
  if (svc.description !== undefined) out["Description"] = svc.description
  if (full) {
    out["NamespaceId"] = svc.namespaceId
    if (svc.creatorRequestId !== undefined) out["CreatorRequestId"] = svc.creatorRequestId
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Operation ids (asynchronous writes). The id encodes what GetOperation needs, so nothing is stored.

interface OperationInfo {
  readonly n: number
  readonly t: string
  readonly d: number
  readonly g: Readonly<Record<string, string>>
}

const startOperation = (
  state: MockState,
  type: string,
  targets: Readonly<Record<string, string>>,
  ctx: OperationContext
): { state: MockState; operationId: string } => {
  const n = state.operationCounter + 1
  const info: OperationInfo = { n, t: type, d: ctx.now, g: targets }
  return {
    state: { ...state, operationCounter: n },
    operationId: `op-${Buffer.from(JSON.stringify(info)).toString("base64url")}`
  }
}

const readOperation = (operationId: string): OperationInfo | undefined => {
  if (!operationId.startsWith("op-")) return undefined
  try {
    const info = JSON.parse(Buffer.from(operationId.slice(3), "base64url").toString("utf8")) as OperationInfo
    return typeof info.n === "number" && typeof info.t === "string" && typeof info.d === "number" ? info : undefined
  } catch {
    return undefined
  }
}

// ---------------------------------------------------------------------------------------------
// State updates

const withService = (state: MockState, svc: ServiceRecord): MockState => {
  const services = new Map(state.services)
  services.set(svc.id, svc)
  return { ...state, services }
}

const bumpRevision = (state: MockState): { state: MockState; revision: number } => {
  const revision = state.revisionClock + 1
  return { state: { ...state, revisionClock: revision }, revision }
}

const sameAttributes = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean => {
  const ak = Object.keys(a)
  if (ak.length !== Object.keys(b).length) return false
  for (const k of ak) if (a[k] !== b[k]) return false
  return true
}

// ---------------------------------------------------------------------------------------------
// Filters for ListNamespaces / ListServices

interface Filter {
  readonly name: string
  readonly values: ReadonlyArray<string>
  readonly condition: string
}

const readFilters = (input: Input, allowed: Readonly<Record<string, ReadonlyArray<string>>>): ReadonlyArray<Filter> => {
  const raw = input["Filters"]
  if (raw === undefined || raw === null) return []
  if (!Array.isArray(raw)) return invalid("Filters must be a list")
  return raw.map((f: unknown, i): Filter => {
    if (typeof f !== "object" || f === null) return invalid(`Filters[${i}] must be an object`)
    const name = reqString(f as Input, "Name")
    const values = optStringArray(f as Input, "Values")
    const condition = optString(f as Input, "Condition") ?? "EQ"
    const conditions = allowed[name]
    if (conditions === undefined) return invalid(`Filter name ${name} is not supported`)
    if (!conditions.includes(condition)) return invalid(`Condition ${condition} is not supported for filter ${name}`)
    if (values === undefined || values.length === 0) return invalid(`Filters[${i}].Values is required`)
    if (condition === "EQ" && values.length !== 1) return invalid(`Condition EQ takes exactly one value`)
    return { name, values, condition }
  })
}

const matchCondition = (filter: Filter, actual: string): boolean =>
  filter.condition === "BEGINS_WITH"
    ? filter.values.some((v) => actual.startsWith(v))
    : filter.values.includes(actual)

const matchOwner = (filter: Filter): boolean => filter.values.includes("SELF")

// ---------------------------------------------------------------------------------------------
// Operations

const listNamespaces: Operation = (state, input) => {
  const max = optInt(input, "MaxResults", 1, 100) ?? 100
  const filters = readFilters(input, {
    TYPE: ["EQ", "IN"],
    NAME: ["EQ", "BEGINS_WITH"],
    HTTP_NAME: ["EQ", "BEGINS_WITH"],
    RESOURCE_OWNER: ["EQ"]
  })
  for (const f of filters) {
    if (f.name === "TYPE") {
      for (const v of f.values) {
        if (v !== "HTTP" && v !== "DNS_PUBLIC" && v !== "DNS_PRIVATE") return invalid(`Invalid namespace type: ${v}`)
      }
    }
  }
  const fp = fingerprint(filters)
  const token = decodeToken(optString(input, "NextToken"), "ListNamespaces", fp)
  const select = (id: string) => {
    const ns = state.namespaces.get(id)!
    for (const f of filters) {
      const ok = f.name === "TYPE"
        ? f.values.includes("HTTP")
        : f.name === "NAME"
        ? matchCondition(f, ns.name)
        : f.name === "HTTP_NAME"
        ? matchCondition(f, ns.httpName)
        : matchOwner(f)
      if (!ok) return undefined
    }
    return namespaceShape(state, ns, false)
  }
  const { items, next } = scanPage(
    state.namespaceOrder,
    token?.pos ?? 0,
    max,
    filters.length > 0 ? state.emptyPagesWindow : undefined,
    select
  )
  const output: Record<string, unknown> = { Namespaces: items }
  if (next !== undefined) output["NextToken"] = encodeToken({ op: "ListNamespaces", pos: next, fp })
  return { state, output }
}

const listServices: Operation = (state, input) => {
  const max = optInt(input, "MaxResults", 1, 100) ?? 100
  const filters = readFilters(input, { NAMESPACE_ID: ["EQ"], RESOURCE_OWNER: ["EQ"] })
  const namespaceIds = filters.filter((f) => f.name === "NAMESPACE_ID").map((f) => idFromArn(f.values[0]!))
  const fp = fingerprint(filters)
  const token = decodeToken(optString(input, "NextToken"), "ListServices", fp)
  const ownerOk = filters.every((f) => f.name !== "RESOURCE_OWNER" || matchOwner(f))
  const select = (id: string) => {
    if (!ownerOk) return undefined
    const svc = state.services.get(id)!
    for (const nsId of namespaceIds) if (svc.namespaceId !== nsId) return undefined
    return serviceShape(state, svc, false)
  }
  const { items, next } = scanPage(
    state.serviceOrder,
    token?.pos ?? 0,
    max,
    filters.length > 0 ? state.emptyPagesWindow : undefined,
    select
  )
  const output: Record<string, unknown> = { Services: items }
  if (next !== undefined) output["NextToken"] = encodeToken({ op: "ListServices", pos: next, fp })
  return { state, output }
}

const listInstances: Operation = (state, input) => {
  const svc = getService(state, reqString(input, "ServiceId", 255))
  const max = optInt(input, "MaxResults", 1, 100) ?? 100
  const fp = fingerprint(svc.id)
  const token = decodeToken(optString(input, "NextToken"), "ListInstances", fp)
  const { page, nextToken } = instancePage(svc, "ListInstances", fp, token, max)
  const output: Record<string, unknown> = {
    ResourceOwner: state.accountId,
    Instances: page.map((i) => ({ Id: i.id, Attributes: i.attributes, CreatedByAccount: state.accountId }))
  }
  if (nextToken !== undefined) output["NextToken"] = nextToken
  return { state, output }
}

const getInstancesHealthStatus: Operation = (state, input) => {
  const svc = getService(state, reqString(input, "ServiceId", 255))
  const max = optInt(input, "MaxResults", 1, 100) ?? 100
  const wanted = optStringArray(input, "Instances")
  if (wanted !== undefined && wanted.length === 0) return invalid("Instances must contain at least one instance id")
  const fp = fingerprint([svc.id, wanted ?? null])
  const token = decodeToken(optString(input, "NextToken"), "GetInstancesHealthStatus", fp)
  const Status: Record<string, HealthStatus> = {}
  let nextToken: string | undefined
  if (wanted === undefined) {
    const r = instancePage(svc, "GetInstancesHealthStatus", fp, token, max)
    for (const i of r.page) Status[i.id] = i.health
    nextToken = r.nextToken
  } else {
    for (const id of wanted) {
      if (!svc.instances.has(id)) return fail("InstanceNotFound", `Instance not found: ${id}`)
    }
    const start = Math.min(token?.pos ?? 0, wanted.length)
    const end = Math.min(wanted.length, start + max)
    for (let i = start; i < end; i++) Status[wanted[i]!] = svc.instances.get(wanted[i]!)!.health
    if (end < wanted.length) nextToken = encodeToken({ op: "GetInstancesHealthStatus", pos: end, fp })
  }
  const output: Record<string, unknown> = { Status }
  if (nextToken !== undefined) output["NextToken"] = nextToken
  return { state, output }
}

const matchesAll = (attrs: Readonly<Record<string, string>>, wanted: Readonly<Record<string, string>>): boolean => {
  for (const k in wanted) if (attrs[k] !== wanted[k]) return false
  return true
}

const HEALTH_FILTERS = ["HEALTHY", "UNHEALTHY", "ALL", "HEALTHY_OR_ELSE_ALL"]

const discoverInstances: Operation = (state, input, ctx) => {
  const { ns, svc } = discoverTarget(state, input)
  const max = optInt(input, "MaxResults", 1, 1000) ?? 100
  const query = optStringMap(input, "QueryParameters")
  const optional = optStringMap(input, "OptionalParameters")
  const healthFilter = optString(input, "HealthStatus") ?? "HEALTHY"
  if (!HEALTH_FILTERS.includes(healthFilter)) return invalid(`Invalid HealthStatus: ${healthFilter}`)
  let matched: Array<InstanceRecord> = []
  for (const inst of svc.instances.values()) {
    if (query === undefined || matchesAll(inst.attributes, query)) matched.push(inst)
  }
  if (svc.healthCheck === "custom" && healthFilter !== "ALL") {
    if (healthFilter === "HEALTHY_OR_ELSE_ALL") {
      const healthy = matched.filter((i) => i.health === "HEALTHY")
      if (healthy.length > 0) matched = healthy
    } else {
      matched = matched.filter((i) => i.health === healthFilter)
    }
  }
  if (optional !== undefined && Object.keys(optional).length > 0) {
    const preferred = matched.filter((i) => matchesAll(i.attributes, optional))
    if (preferred.length > 0) matched = preferred
  }
  // Partial Fisher-Yates: a random subset of at most `max`, in random order.
  const n = Math.min(max, matched.length)
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(ctx.random() * (matched.length - i))
    const tmp = matched[i]!
    matched[i] = matched[j]!
    matched[j] = tmp
  }
  const Instances = new Array(n)
  for (let i = 0; i < n; i++) {
    const inst = matched[i]!
    Instances[i] = {
      InstanceId: inst.id,
      NamespaceName: ns.httpName,
      ServiceName: svc.name,
      HealthStatus: inst.health,
      Attributes: inst.attributes
    }
  }
  return { state, output: { Instances, InstancesRevision: svc.revision } }
}

const discoverInstancesRevision: Operation = (state, input) => {
  const { svc } = discoverTarget(state, input)
  return { state, output: { InstancesRevision: svc.revision } }
}

const getNamespaceOp: Operation = (state, input) => {
  const ns = getNamespace(state, reqString(input, "Id", 255))
  return { state, output: { Namespace: namespaceShape(state, ns, true) } }
}

const getServiceOp: Operation = (state, input) => {
  const svc = getService(state, reqString(input, "Id", 255))
  return { state, output: { Service: serviceShape(state, svc, true) } }
}

const getServiceAttributes: Operation = (state, input) => {
  const svc = getService(state, reqString(input, "ServiceId", 255))
  return {
    state,
    output: { ServiceAttributes: { ServiceArn: svc.arn, ResourceOwner: state.accountId, Attributes: svc.attributes } }
  }
}

const updateServiceAttributes: Operation = (state, input) => {
  const svc = getService(state, reqString(input, "ServiceId", 255))
  const attrs = optStringMap(input, "Attributes")
  if (attrs === undefined || Object.keys(attrs).length === 0) return invalid("Attributes is required")
  if (Object.keys(attrs).length > 30) return invalid("Attributes can contain at most 30 entries")
  for (const [k, v] of Object.entries(attrs)) {
    if (k.length === 0 || k.length > 255) return invalid(`Invalid service attribute key: ${k}`)
    if (v.length > 1024) return invalid(`Service attribute ${k} is longer than 1024 characters`)
  }
  const merged = { ...svc.attributes, ...attrs }
  if (Object.keys(merged).length > 30) {
    return fail("ServiceAttributesLimitExceededException", "A service can have at most 30 attributes")
  }
  return { state: withService(state, { ...svc, attributes: merged }), output: {} }
}

const deleteServiceAttributes: Operation = (state, input) => {
  const svc = getService(state, reqString(input, "ServiceId", 255))
  const keys = optStringArray(input, "Attributes")
  if (keys === undefined || keys.length === 0) return invalid("Attributes is required")
  const attributes = { ...svc.attributes }
  for (const k of keys) delete attributes[k]
  return { state: withService(state, { ...svc, attributes }), output: {} }
}

const getInstance: Operation = (state, input) => {
  const svc = getService(state, reqString(input, "ServiceId", 255))
  const id = reqString(input, "InstanceId", 64)
  const inst = svc.instances.get(id)
  if (inst === undefined) return fail("InstanceNotFound", `Instance not found: ${id}`)
  const Instance: Record<string, unknown> = { Id: inst.id, Attributes: inst.attributes, CreatedByAccount: state.accountId }
  if (inst.creatorRequestId !== undefined) Instance["CreatorRequestId"] = inst.creatorRequestId
  return { state, output: { ResourceOwner: state.accountId, Instance } }
}

const getOperation: Operation = (state, input) => {
  const id = reqString(input, "OperationId", 255)
  const info = readOperation(id)
  if (info === undefined || info.n > state.operationCounter) {
    return fail("OperationNotFound", `Operation not found: ${id}`)
  }
  return {
    state,
    output: {
      Operation: {
        Id: id,
        Type: info.t,
        Status: "SUCCESS",
        CreateDate: epochSeconds(info.d),
        UpdateDate: epochSeconds(info.d),
        Targets: info.g
      }
    }
  }
}

const createHttpNamespace: Operation = (state, input, ctx) => {
  const name = reqString(input, "Name", 1024)
  if (!NAMESPACE_NAME_PATTERN.test(name)) return invalid(`Invalid namespace name: ${name}`)
  const description = optString(input, "Description", 1024)
  const creatorRequestId = optString(input, "CreatorRequestId", 64)
  const existing = state.namespaceByName.get(name)
  if (existing !== undefined) {
    const ns = state.namespaces.get(existing)!
    if (creatorRequestId !== undefined && ns.creatorRequestId === creatorRequestId) {
      // Idempotent retry of the same request.
      const op = startOperation(state, "CREATE_NAMESPACE", { NAMESPACE: ns.id }, ctx)
      return { state: op.state, output: { OperationId: op.operationId } }
    }
    return fail("NamespaceAlreadyExists", `Namespace already exists: ${name}`, 400, {
      NamespaceId: ns.id,
      ...(ns.creatorRequestId === undefined ? {} : { CreatorRequestId: ns.creatorRequestId })
    })
  }
  let id = namespaceIdFor(name)
  for (let i = 1; state.namespaces.has(id); i++) id = deterministicId("ns-", `namespace:${name}#${i}`)
  // Cloud Map appends a hash to HttpName when the name is already in use.
  const httpName = state.namespaceByHttpName.has(name) ? `${name}-${id.slice(3, 11)}` : name
  const ns: NamespaceRecord = {
    id,
    arn: namespaceArn(state, id),
    name,
    httpName,
    description,
    serviceIds: [],
    createDate: ctx.now,
    creatorRequestId
  }
  const namespaces = new Map(state.namespaces)
  namespaces.set(id, ns)
  const namespaceByName = new Map(state.namespaceByName)
  namespaceByName.set(name, id)
  const namespaceByHttpName = new Map(state.namespaceByHttpName)
  namespaceByHttpName.set(httpName, id)
  const next: MockState = {
    ...state,
    namespaces,
    namespaceOrder: [...state.namespaceOrder, id],
    namespaceByName,
    namespaceByHttpName
  }
  const op = startOperation(next, "CREATE_NAMESPACE", { NAMESPACE: id }, ctx)
  return { state: op.state, output: { OperationId: op.operationId } }
}

const createService: Operation = (state, input, ctx) => {
  const name = reqString(input, "Name", 127)
  if (!SERVICE_NAME_PATTERN.test(name)) return invalid(`Invalid service name: ${name}`)
  const nsIdOrArn = optString(input, "NamespaceId", 255)
  if (nsIdOrArn === undefined) return invalid("NamespaceId is required")
  const ns = getNamespace(state, nsIdOrArn)
  if (optObject(input, "DnsConfig") !== undefined) return invalid("DnsConfig is not supported for HTTP namespaces")
  if (optObject(input, "HealthCheckConfig") !== undefined) {
    return invalid("HealthCheckConfig (Route 53 health checks) is not supported for HTTP namespaces")
  }
  const type = optString(input, "Type")
  if (type !== undefined && type !== "HTTP") return invalid(`Service type ${type} is not supported for HTTP namespaces`)
  const description = optString(input, "Description", 1024)
  const creatorRequestId = optString(input, "CreatorRequestId", 64)
  const custom = optObject(input, "HealthCheckCustomConfig") !== undefined
  const existing = state.serviceByKey.get(`${ns.id}/${name}`)
  if (existing !== undefined) {
    const svc = state.services.get(existing)!
    if (creatorRequestId !== undefined && svc.creatorRequestId === creatorRequestId) {
      return { state, output: { Service: serviceShape(state, svc, true) } }
    }
    return fail("ServiceAlreadyExists", `Service already exists: ${name}`, 400, {
      ServiceId: svc.id,
      ServiceArn: svc.arn,
      ...(svc.creatorRequestId === undefined ? {} : { CreatorRequestId: svc.creatorRequestId })
    })
  }
  let id = serviceIdFor(ns.id, name)
  for (let i = 1; state.services.has(id); i++) id = deterministicId("srv-", `service:${ns.id}/${name}#${i}`)
  const { state: bumped, revision } = bumpRevision(state)
  const svc: ServiceRecord = {
    id,
    arn: serviceArn(state, id),
    name,
    namespaceId: ns.id,
    description,
    healthCheck: custom ? "custom" : "none",
    attributes: {},
    revision,
    instances: new Map(),
    createDate: ctx.now,
    creatorRequestId
  }
  const services = new Map(bumped.services)
  services.set(id, svc)
  const namespaces = new Map(bumped.namespaces)
  namespaces.set(ns.id, { ...ns, serviceIds: [...ns.serviceIds, id] })
  const serviceByKey = new Map(bumped.serviceByKey)
  serviceByKey.set(`${ns.id}/${name}`, id)
  const next: MockState = {
    ...bumped,
    services,
    namespaces,
    serviceOrder: [...bumped.serviceOrder, id],
    serviceByKey
  }
  return { state: next, output: { Service: serviceShape(next, svc, true) } }
}

const registerInstance: Operation = (state, input, ctx) => {
  const svc = getService(state, reqString(input, "ServiceId", 255))
  const instanceId = reqString(input, "InstanceId", 64)
  if (!INSTANCE_ID_PATTERN.test(instanceId)) return invalid(`Invalid InstanceId: ${instanceId}`)
  const creatorRequestId = optString(input, "CreatorRequestId", 64)
  const attributes = optStringMap(input, "Attributes")
  if (attributes === undefined) return invalid("Attributes is required")
  const problem = attributeProblem(attributes)
  if (problem !== undefined) return invalid(problem)
  const existing = svc.instances.get(instanceId)
  if (existing === undefined && svc.instances.size >= MAX_INSTANCES_PER_SERVICE) {
    return fail("ResourceLimitExceeded", `A service can have at most ${MAX_INSTANCES_PER_SERVICE} instances`)
  }
  let next = state
  let revision = svc.revision
  if (existing === undefined || !sameAttributes(existing.attributes, attributes)) {
    const bumped = bumpRevision(state)
    next = bumped.state
    revision = bumped.revision
  }
  const init = attributes["AWS_INIT_HEALTH_STATUS"]
  const health: HealthStatus = svc.healthCheck === "none"
    ? "UNKNOWN"
    : existing !== undefined
    ? existing.health
    : init === "UNHEALTHY"
    ? "UNHEALTHY"
    : "HEALTHY"
  const instances = new Map(svc.instances)
  instances.set(instanceId, {
    id: instanceId,
    attributes: { ...attributes },
    health,
    createDate: existing?.createDate ?? ctx.now,
    creatorRequestId: creatorRequestId ?? existing?.creatorRequestId
  })
  next = withService(next, { ...svc, instances, revision })
  const op = startOperation(next, "REGISTER_INSTANCE", { INSTANCE: instanceId, SERVICE: svc.id }, ctx)
  return { state: op.state, output: { OperationId: op.operationId } }
}

const deregisterInstance: Operation = (state, input, ctx) => {
  const svc = getService(state, reqString(input, "ServiceId", 255))
  const instanceId = reqString(input, "InstanceId", 64)
  if (!svc.instances.has(instanceId)) return fail("InstanceNotFound", `Instance not found: ${instanceId}`)
  const instances = new Map(svc.instances)
  instances.delete(instanceId)
  const bumped = bumpRevision(state)
  const next = withService(bumped.state, { ...svc, instances, revision: bumped.revision })
  const op = startOperation(next, "DEREGISTER_INSTANCE", { INSTANCE: instanceId, SERVICE: svc.id }, ctx)
  return { state: op.state, output: { OperationId: op.operationId } }
}

const updateInstanceCustomHealthStatus: Operation = (state, input) => {
  const svc = getService(state, reqString(input, "ServiceId", 255))
  const instanceId = reqString(input, "InstanceId", 64)
  const status = reqString(input, "Status")
  if (status !== "HEALTHY" && status !== "UNHEALTHY") return invalid(`Status must be HEALTHY or UNHEALTHY`)
  if (svc.healthCheck !== "custom") {
    return fail("CustomHealthNotFound", `Service ${svc.id} does not have a custom health check configuration`)
  }
  const inst = svc.instances.get(instanceId)
  if (inst === undefined) return fail("InstanceNotFound", `Instance not found: ${instanceId}`)
  if (inst.health === status) return { state, output: {} }
  const instances = new Map(svc.instances)
  instances.set(instanceId, { ...inst, health: status })
  // Health changes do not bump InstancesRevision.
  return { state: withService(state, { ...svc, instances }), output: {} }
}

/** Every operation the mock implements, by awsJson1_1 target name. */
export const operations: Readonly<Record<string, Operation>> = {
  ListNamespaces: listNamespaces,
  ListServices: listServices,
  ListInstances: listInstances,
  DiscoverInstances: discoverInstances,
  DiscoverInstancesRevision: discoverInstancesRevision,
  GetInstancesHealthStatus: getInstancesHealthStatus,
  GetNamespace: getNamespaceOp,
  GetService: getServiceOp,
  GetServiceAttributes: getServiceAttributes,
  GetInstance: getInstance,
  GetOperation: getOperation,
  CreateHttpNamespace: createHttpNamespace,
  CreateService: createService,
  RegisterInstance: registerInstance,
  DeregisterInstance: deregisterInstance,
  UpdateInstanceCustomHealthStatus: updateInstanceCustomHealthStatus,
  UpdateServiceAttributes: updateServiceAttributes,
  DeleteServiceAttributes: deleteServiceAttributes
}

/**
 * Runs one operation. Unknown operations give `UnknownOperationException`; anything thrown
 * that is not a modeled error is reported as `InternalFailure` (500).
 */
export const runOperation = (
  state: MockState,
  operation: string,
  input: Readonly<Record<string, unknown>>,
  ctx: OperationContext
): OperationResult => {
  const op = Object.hasOwn(operations, operation) ? operations[operation] : undefined
  if (op === undefined) return Result.fail(cloudMapError("UnknownOperationException", `Unknown operation ${operation}`))
  try {
    return Result.succeed(op(state, input, ctx))
  } catch (e) {
    if (e instanceof Thrown) return Result.fail(e.error)
    return Result.fail(cloudMapError("InternalFailure", `mock internal error: ${String(e)}`, 500))
  }
}

/** JSON view of the whole state (`GET /_mock/state`). */
export const dumpState = (state: MockState): Record<string, unknown> => ({
  region: state.region,
  accountId: state.accountId,
  emptyPages: state.emptyPagesWindow === undefined
    ? false
    : state.emptyPagesWindow === Number.POSITIVE_INFINITY
    ? true
    : state.emptyPagesWindow,
  revisionClock: state.revisionClock,
  operationCount: state.operationCounter,
  namespaces: state.namespaceOrder.map((nsId) => {
    const ns = state.namespaces.get(nsId)!
    return {
      id: ns.id,
      arn: ns.arn,
      name: ns.name,
      httpName: ns.httpName,
      ...(ns.description === undefined ? {} : { description: ns.description }),
      createDate: epochSeconds(ns.createDate),
      services: ns.serviceIds.map((srvId) => {
        const svc = state.services.get(srvId)!
        return {
          id: svc.id,
          arn: svc.arn,
          name: svc.name,
          ...(svc.description === undefined ? {} : { description: svc.description }),
          healthCheck: svc.healthCheck,
          attributes: svc.attributes,
          revision: svc.revision,
          createDate: epochSeconds(svc.createDate),
          instances: [...svc.instances.values()].map((i) => ({ id: i.id, attributes: i.attributes, health: i.health }))
        }
      })
    }
  })
})
