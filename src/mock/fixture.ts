/**
 * Fixture files for the mock Cloud Map: schema, loading, the built-in demo sample and a
 * synthetic generator for tests and benchmarks. Format documented in docs/mock-cloudmap.md.
 *
 * ```json
 * { "namespaces": [ { "name": "apps", "httpName": "apps", "services": [
 *     { "name": "web", "healthCheck": "custom", "instances": [
 *       { "id": "web-1", "attributes": { "AWS_INSTANCE_IPV4": "127.0.0.1", "AWS_INSTANCE_PORT": "9001" } } ] } ] } ] }
 * ```
 */
import { readFile } from "node:fs/promises"
import { Effect, Result, Schema } from "effect"
import {
  attributeProblem,
  INSTANCE_ID_PATTERN,
  NAMESPACE_NAME_PATTERN,
  namespaceIdFor,
  SERVICE_NAME_PATTERN,
  serviceIdFor
} from "./state-model.ts"

const AttributeMap = Schema.Record(Schema.String, Schema.String)

export const FixtureInstance = Schema.Struct({
  id: Schema.String.check(
    Schema.isPattern(INSTANCE_ID_PATTERN, { message: "an instance id: 1-64 characters of 0-9 a-z A-Z _ / : . @ -" })
  ),
  attributes: AttributeMap,
  health: Schema.optionalKey(Schema.Literals(["HEALTHY", "UNHEALTHY", "UNKNOWN"]))
})
export type FixtureInstance = typeof FixtureInstance.Type

export const FixtureService = Schema.Struct({
  name: Schema.String.check(
    Schema.isPattern(SERVICE_NAME_PATTERN, {
      message: "a Cloud Map service name: DNS labels of letters, digits, '-' and '_' (e.g. web or _web._tcp)"
    })
  ),
  id: Schema.optionalKey(Schema.String.check(Schema.isBetweenLength(1, 64))),
  description: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(1024))),
  /** "custom" (default): HealthCheckCustomConfig, as ECS creates. "none": no health check. */
  healthCheck: Schema.optionalKey(Schema.Literals(["custom", "none"])),
  /** Service attributes (GetServiceAttributes). */
  attributes: Schema.optionalKey(AttributeMap),
  instances: Schema.optionalKey(Schema.Array(FixtureInstance))
})
export type FixtureService = typeof FixtureService.Type

export const FixtureNamespace = Schema.Struct({
  name: Schema.String.check(
    Schema.isPattern(NAMESPACE_NAME_PATTERN, { message: "a namespace name: 1-1024 printable ASCII characters, no spaces" })
  ),
  /** DiscoverInstances' NamespaceName. Defaults to `name`. */
  httpName: Schema.optionalKey(
    Schema.String.check(
      Schema.isPattern(NAMESPACE_NAME_PATTERN, { message: "an HttpName: 1-1024 printable ASCII characters, no spaces" })
    )
  ),
  id: Schema.optionalKey(Schema.String.check(Schema.isBetweenLength(1, 64))),
  description: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(1024))),
  services: Schema.optionalKey(Schema.Array(FixtureService))
})
export type FixtureNamespace = typeof FixtureNamespace.Type

export const Fixture = Schema.Struct({
  namespaces: Schema.Array(FixtureNamespace),
  /**
   * Reproduce Cloud Map's "empty page but NextToken set" for filtered ListNamespaces/ListServices.
   * true: each page examines MaxResults entries, then filters. A number N: each page examines at
   * most min(MaxResults, N) entries (forces empty pages on small fixtures).
   */
  emptyPages: Schema.optionalKey(
    Schema.Union([Schema.Boolean, Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))])
  ),
  region: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^[a-z0-9-]{1,32}$/))),
  accountId: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^\d{12}$/)))
})
export type Fixture = typeof Fixture.Type

export class FixtureError extends Schema.TaggedError<FixtureError>()("FixtureError", {
  message: Schema.String,
  source: Schema.String
}) {}

/** Checks that cannot be expressed per field: uniqueness of names and ids, attribute rules. */
const semanticProblems = (fixture: Fixture): Array<string> => {
  const problems: Array<string> = []
  const nsNames = new Map<string, number>()
  const httpNames = new Map<string, number>()
  const nsIds = new Map<string, string>()
  const srvIds = new Map<string, string>()
  fixture.namespaces.forEach((ns, n) => {
    const at = `namespaces[${n}]`
    const prevName = nsNames.get(ns.name)
    if (prevName !== undefined) problems.push(`${at}.name: duplicate namespace name "${ns.name}" (also namespaces[${prevName}])`)
    nsNames.set(ns.name, n)
    const httpName = ns.httpName ?? ns.name
    const prevHttp = httpNames.get(httpName)
    if (prevHttp !== undefined) problems.push(`${at}.httpName: duplicate HttpName "${httpName}" (also namespaces[${prevHttp}])`)
    httpNames.set(httpName, n)
    const nsId = ns.id ?? namespaceIdFor(ns.name)
    const prevNsId = nsIds.get(nsId)
    if (prevNsId !== undefined && (prevName === undefined || ns.id !== undefined)) problems.push(`${at}.id: duplicate namespace id "${nsId}" (also ${prevNsId})`)
    nsIds.set(nsId, at)
    const svcNames = new Map<string, number>()
    ;(ns.services ?? []).forEach((svc, s) => {
      const sat = `${at}.services[${s}]`
      const prev = svcNames.get(svc.name)
      if (prev !== undefined) problems.push(`${sat}.name: duplicate service name "${svc.name}" (also ${at}.services[${prev}])`)
      svcNames.set(svc.name, s)
      const srvId = svc.id ?? serviceIdFor(nsId, svc.name)
      const prevId = srvIds.get(srvId)
      if (prevId !== undefined && (prev === undefined || svc.id !== undefined)) problems.push(`${sat}.id: duplicate service id "${srvId}" (also ${prevId})`)
      srvIds.set(srvId, sat)
      const attrs = svc.attributes ?? {}
      if (Object.keys(attrs).length > 30) problems.push(`${sat}.attributes: at most 30 service attributes`)
      const instIds = new Map<string, number>()
      ;(svc.instances ?? []).forEach((inst, i) => {
        const iat = `${sat}.instances[${i}]`
        const prevInst = instIds.get(inst.id)
        if (prevInst !== undefined) problems.push(`${iat}.id: duplicate instance id "${inst.id}" (also ${sat}.instances[${prevInst}])`)
        instIds.set(inst.id, i)
        const problem = attributeProblem(inst.attributes)
        if (problem !== undefined) problems.push(`${iat}.attributes: ${problem}`)
      })
    })
  })
  return problems
}

/** Validates an already-parsed fixture value. */
export const decodeFixtureResult = (input: unknown, source = "fixture"): Result.Result<Fixture, FixtureError> => {
  const decoded = Schema.decodeUnknownResult(Fixture)(input, { errors: "all", onExcessProperty: "error" })
  if (Result.isFailure(decoded)) {
    return Result.fail(new FixtureError({ source, message: `invalid fixture (${source}):\n${decoded.failure.message}` }))
  }
  const problems = semanticProblems(decoded.success)
  if (problems.length > 0) {
    return Result.fail(new FixtureError({ source, message: `invalid fixture (${source}):\n${problems.join("\n")}` }))
  }
  return Result.succeed(decoded.success)
}

/** Validates a fixture value; fails with a FixtureError naming the offending path. */
export const decodeFixture = (input: unknown, source = "fixture"): Effect.Effect<Fixture, FixtureError> =>
  Effect.fromResult(decodeFixtureResult(input, source))

/** Validates a fixture value; throws a FixtureError. */
export const decodeFixtureSync = (input: unknown, source = "fixture"): Fixture => {
  const r = decodeFixtureResult(input, source)
  if (Result.isFailure(r)) throw r.failure
  return r.success
}

/** Reads and validates a JSON fixture file. */
export const loadFixture = (path: string): Effect.Effect<Fixture, FixtureError> =>
  Effect.tryPromise({
    try: () => readFile(path, "utf8"),
    catch: (e) => new FixtureError({ source: path, message: `cannot read fixture ${path}: ${(e as Error).message}` })
  }).pipe(
    Effect.flatMap((text) =>
      Effect.try({
        try: () => JSON.parse(text) as unknown,
        catch: (e) => new FixtureError({ source: path, message: `fixture ${path} is not valid JSON: ${(e as Error).message}` })
      })
    ),
    Effect.flatMap((json) => decodeFixture(json, path))
  )

const instance = (id: string, port: number, extra: Readonly<Record<string, string>> = {}): FixtureInstance => ({
  id,
  attributes: { AWS_INSTANCE_IPV4: "127.0.0.1", AWS_INSTANCE_PORT: String(port), ...extra }
})

/**
 * The built-in sample (same as fixtures/demo.json): namespace `apps` with `web` (2 instances),
 * `api` (2 instances), the SRV-style `_admin._tcp` (1 instance) and `shop` (2 instances, an HTTP
 * health check on /healthz set as service attributes), on 127.0.0.1:9001-9008.
 */
export const demoFixture: Fixture = {
  namespaces: [
    {
      name: "apps",
      services: [
        {
          name: "web",
          instances: [
            instance("web-1", 9001, { AVAILABILITY_ZONE: "us-east-1a" }),
            instance("web-2", 9002, { AVAILABILITY_ZONE: "us-east-1b" })
          ]
        },
        {
          name: "api",
          instances: [
            instance("api-1", 9003, { AVAILABILITY_ZONE: "us-east-1a" }),
            instance("api-2", 9004, { AVAILABILITY_ZONE: "us-east-1b" })
          ]
        },
        {
          name: "_admin._tcp",
          instances: [instance("admin-1", 9005, { AVAILABILITY_ZONE: "us-east-1a" })]
        },
        {
          name: "shop",
          attributes: { "haproxy.check": "http", "haproxy.check.path": "/healthz", "haproxy.check.interval": "1s" },
          instances: [
            instance("shop-1", 9007, { AVAILABILITY_ZONE: "us-east-1a" }),
            instance("shop-2", 9008, { AVAILABILITY_ZONE: "us-east-1a" })
          ]
        }
      ]
    }
  ]
}

export interface SyntheticFixtureOptions {
  readonly namespaces: number
  readonly servicesPerNamespace: number
  readonly instancesPerService: number
  /** First AWS_INSTANCE_PORT; each instance gets the next port. */
  readonly basePort: number
  /** AWS_INSTANCE_IPV4 of every instance (default 127.0.0.1). */
  readonly host?: string
  /** Health check of every service (default "custom"). */
  readonly healthCheck?: "custom" | "none"
  readonly emptyPages?: boolean | number
  /** Service attributes (GetServiceAttributes) of every service, e.g. `haproxy.*` options (default none). */
  readonly serviceAttributes?: Readonly<Record<string, string>>
  /** Attributes every instance gets besides its address and port (default none). */
  readonly extraInstanceAttributes?: Readonly<Record<string, string>>
}

/**
 * A large, deterministic fixture: namespaces `ns0..`, services `svc0..` (per namespace),
 * instances `svcJ-K`, ports basePort, basePort+1, ... (RangeError if they pass 65535).
 * With a single namespace it is named `apps`. `serviceAttributes` go on every service and
 * `extraInstanceAttributes` on every instance (its address and port win over them).
 */
export const syntheticFixture = (options: SyntheticFixtureOptions): Fixture => {
  const { namespaces, servicesPerNamespace, instancesPerService, basePort } = options
  for (const [k, v] of Object.entries({ namespaces, servicesPerNamespace, instancesPerService, basePort })) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`syntheticFixture: ${k} must be a non-negative integer`)
  }
  const last = basePort + namespaces * servicesPerNamespace * instancesPerService - 1
  if (instancesPerService > 0 && namespaces * servicesPerNamespace > 0 && (basePort < 1 || last > 65535)) {
    throw new RangeError(`syntheticFixture: ports ${basePort}..${last} do not fit in 1..65535`)
  }
  const host = options.host ?? "127.0.0.1"
  const extra = options.extraInstanceAttributes ?? {}
  let port = basePort
  const out: Array<FixtureNamespace> = []
  for (let n = 0; n < namespaces; n++) {
    const services: Array<FixtureService> = []
    for (let s = 0; s < servicesPerNamespace; s++) {
      const name = `svc${s}`
      const instances: Array<FixtureInstance> = []
      for (let i = 0; i < instancesPerService; i++) {
        instances.push({ id: `${name}-${i}`, attributes: { ...extra, AWS_INSTANCE_IPV4: host, AWS_INSTANCE_PORT: String(port++) } })
      }
      const healthCheck = options.healthCheck === undefined ? {} : { healthCheck: options.healthCheck }
      const attributes = options.serviceAttributes === undefined ? {} : { attributes: { ...options.serviceAttributes } }
      services.push({ name, ...healthCheck, ...attributes, instances })
    }
    out.push({ name: namespaces === 1 ? "apps" : `ns${n}`, services })
  }
  return options.emptyPages === undefined ? { namespaces: out } : { namespaces: out, emptyPages: options.emptyPages }
}
