/**
 * The data plane the agent polls: DiscoverInstances and DiscoverInstancesRevision, addressed by
 * (HttpName or namespace ARN, ServiceName).
 *
 * DiscoverInstances: QueryParameters (all must match), then HealthStatus (ignored for services
 * without a health check; default HEALTHY), then OptionalParameters (preferred when some match),
 * then a random subset/permutation of at most MaxResults (1..1000, default 100). Services without
 * a health check report `HealthStatus: "UNKNOWN"`, as Cloud Map does.
 */
import { Result, Schema } from "effect"
import { type CloudMapError, fail } from "./cloudmap-error.ts"
import { IntBetween, NonEmptyString, operation, optional, required, StringMap } from "./request.ts"
import { idFromArn, type InstanceRecord, type MockState, type NamespaceRecord, type ServiceRecord } from "./state-model.ts"

const Target = {
  NamespaceName: required(NonEmptyString(1024)),
  ServiceName: required(NonEmptyString(127))
}

/** Finds the service a DiscoverInstances(Revision) request addresses. */
const discoverTarget = (
  state: MockState,
  namespaceName: string,
  serviceName: string
): Result.Result<{ ns: NamespaceRecord; svc: ServiceRecord }, CloudMapError> => {
  const nsId = namespaceName.startsWith("arn:")
    ? idFromArn(namespaceName)
    : state.namespaceByHttpName.get(namespaceName)
  const ns = nsId === undefined ? undefined : state.namespaces.get(nsId)
  if (ns === undefined) return fail("NamespaceNotFound", `Namespace not found: ${namespaceName}`)
  const srvId = state.serviceByKey.get(`${ns.id}/${serviceName}`)
  const svc = srvId === undefined ? undefined : state.services.get(srvId)
  if (svc === undefined) return fail("ServiceNotFound", `Service not found: ${serviceName} in namespace ${namespaceName}`)
  return Result.succeed({ ns, svc })
}

const matchesAll = (attrs: Readonly<Record<string, string>>, wanted: Readonly<Record<string, string>>): boolean => {
  for (const k in wanted) if (attrs[k] !== wanted[k]) return false
  return true
}

const DiscoverInstancesInput = Schema.Struct({
  ...Target,
  MaxResults: optional(IntBetween(1, 1000)),
  QueryParameters: optional(StringMap),
  OptionalParameters: optional(StringMap),
  HealthStatus: optional(
    Schema.Literals(["HEALTHY", "UNHEALTHY", "ALL", "HEALTHY_OR_ELSE_ALL"]).annotate({
      message: "must be HEALTHY, UNHEALTHY, ALL or HEALTHY_OR_ELSE_ALL"
    })
  )
})

export const discoverInstances = operation(DiscoverInstancesInput, (state, input, ctx) =>
  Result.map(discoverTarget(state, input.NamespaceName, input.ServiceName), ({ ns, svc }) => {
    const max = input.MaxResults ?? 100
    const query = input.QueryParameters
    const optionalParameters = input.OptionalParameters
    const healthFilter = input.HealthStatus ?? "HEALTHY"
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
    if (optionalParameters !== undefined && Object.keys(optionalParameters).length > 0) {
      const preferred = matched.filter((i) => matchesAll(i.attributes, optionalParameters))
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
  }))

export const discoverInstancesRevision = operation(Schema.Struct(Target), (state, input) =>
  Result.map(
    discoverTarget(state, input.NamespaceName, input.ServiceName),
    ({ svc }) => ({ state, output: { InstancesRevision: svc.revision } })
  ))
