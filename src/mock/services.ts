/**
 * Service operations: ListServices, GetService, CreateService, DeleteService. Services live in HTTP namespaces:
 * type HTTP, no DNS records, no Route 53 health check; `HealthCheckCustomConfig` (as ECS
 * creates) makes instance health matter to DiscoverInstances.
 */
import { Result, Schema } from "effect"
import { fail, invalidInput } from "./cloudmap-error.ts"
import { FiltersMember, matchOwner, toFilters } from "./list-filters.ts"
import { DEFAULT_MAX_RESULTS, decodeToken, encodeToken, fingerprint, MaxResults, NextToken, scanPage } from "./paging.ts"
import { Matching, NonEmptyString, operation, optional, required, StringUpTo } from "./request.ts"
import {
  bumpRevision,
  deterministicId,
  epochSeconds,
  findNamespace,
  findService,
  idFromArn,
  type MockState,
  SERVICE_NAME_PATTERN,
  serviceArn,
  serviceIdFor,
  type ServiceRecord
} from "./state-model.ts"

/** `ServiceSummary` (`full`: `Service` of GetService/CreateService). */
export const serviceShape = (state: MockState, svc: ServiceRecord, full: boolean): Record<string, unknown> => {
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

const ListServicesInput = Schema.Struct({
  MaxResults: optional(MaxResults),
  NextToken: optional(NextToken),
  Filters: optional(FiltersMember({ NAMESPACE_ID: { conditions: ["EQ"] }, RESOURCE_OWNER: { conditions: ["EQ"] } }))
})

export const listServices = operation(ListServicesInput, (state, input) =>
  Result.gen(function*() {
    const filters = toFilters(input.Filters)
    const namespaceIds = filters.filter((f) => f.name === "NAMESPACE_ID").map((f) => idFromArn(f.values[0]!))
    const fp = fingerprint(filters)
    const token = yield* decodeToken(input.NextToken, "ListServices", fp)
    const ownerOk = filters.every((f) => f.name !== "RESOURCE_OWNER" || matchOwner(f))
    const select = (id: string) => {
      if (!ownerOk) return undefined
      const svc = state.services.get(id)
      if (svc === undefined) return undefined // deleted (serviceOrder is append-only)
      for (const nsId of namespaceIds) if (svc.namespaceId !== nsId) return undefined
      return serviceShape(state, svc, false)
    }
    const { items, next } = scanPage(
      state.serviceOrder,
      token?.pos ?? 0,
      input.MaxResults ?? DEFAULT_MAX_RESULTS,
      filters.length > 0 ? state.emptyPagesWindow : undefined,
      select
    )
    const output: Record<string, unknown> = { Services: items }
    if (next !== undefined) output["NextToken"] = encodeToken({ op: "ListServices", pos: next, fp })
    return { state, output }
  }))

export const getService = operation(
  Schema.Struct({ Id: required(NonEmptyString(255)) }),
  (state, input) =>
    Result.map(findService(state, input.Id), (svc) => ({ state, output: { Service: serviceShape(state, svc, true) } }))
)

const AnyObject = Schema.Record(Schema.String, Schema.Unknown)

const CreateServiceInput = Schema.Struct({
  Name: required(Matching(SERVICE_NAME_PATTERN, "must be DNS labels of letters, digits, '-' and '_' (e.g. web or _web._tcp)")),
  NamespaceId: required(StringUpTo(255)),
  Description: optional(StringUpTo(1024)),
  CreatorRequestId: optional(StringUpTo(64)),
  Type: optional(
    Schema.String.check(Schema.makeFilter((t: string) => t === "HTTP" || `${t} is not supported for HTTP namespaces`))
  ),
  DnsConfig: optional(AnyObject),
  HealthCheckConfig: optional(AnyObject),
  HealthCheckCustomConfig: optional(AnyObject)
})

export const createService = operation(CreateServiceInput, (state, input, ctx) =>
  Result.gen(function*() {
    const { Name: name, Description: description, CreatorRequestId: creatorRequestId } = input
    const ns = yield* findNamespace(state, input.NamespaceId)
    if (input.DnsConfig !== undefined) return yield* invalidInput("DnsConfig is not supported for HTTP namespaces")
    if (input.HealthCheckConfig !== undefined) {
      return yield* invalidInput("HealthCheckConfig (Route 53 health checks) is not supported for HTTP namespaces")
    }
    const existing = state.serviceByKey.get(`${ns.id}/${name}`)
    if (existing !== undefined) {
      const svc = state.services.get(existing)!
      if (creatorRequestId !== undefined && svc.creatorRequestId === creatorRequestId) {
        return { state, output: { Service: serviceShape(state, svc, true) } }
      }
      return yield* fail("ServiceAlreadyExists", `Service already exists: ${name}`, 400, {
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
      healthCheck: input.HealthCheckCustomConfig !== undefined ? "custom" : "none",
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
  }))

/**
 * DeleteService: as AWS, refused with `ResourceInUse` while the service has instances; no
 * operation is created. The id stays in `serviceOrder` (append-only pagination positions).
 */
export const deleteService = operation(
  Schema.Struct({ Id: required(NonEmptyString(255)) }),
  (state, input) =>
    Result.gen(function*() {
      const svc = yield* findService(state, input.Id)
      if (svc.instances.size > 0) {
        return yield* fail("ResourceInUse", `Service ${svc.id} has ${svc.instances.size} registered instances`)
      }
      const { state: bumped } = bumpRevision(state)
      const services = new Map(bumped.services)
      services.delete(svc.id)
      const ns = bumped.namespaces.get(svc.namespaceId)!
      const namespaces = new Map(bumped.namespaces)
      namespaces.set(ns.id, { ...ns, serviceIds: ns.serviceIds.filter((id) => id !== svc.id) })
      const serviceByKey = new Map(bumped.serviceByKey)
      serviceByKey.delete(`${ns.id}/${svc.name}`)
      return { state: { ...bumped, services, namespaces, serviceByKey }, output: {} }
    })
)
