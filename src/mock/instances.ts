/**
 * Instance registry: RegisterInstance (an upsert), DeregisterInstance,
 * UpdateInstanceCustomHealthStatus, ListInstances and GetInstancesHealthStatus.
 *
 * `InstancesRevision` is bumped by RegisterInstance (new instance, or re-registration with
 * different attributes) and DeregisterInstance, never by health changes. Re-registration keeps
 * the instance's current health; a new instance starts with AWS_INIT_HEALTH_STATUS (default
 * HEALTHY), or UNKNOWN in a service without a health check.
 */
import { Result, Schema } from "effect"
import { fail } from "./cloudmap-error.ts"
import { startOperation } from "./operations.ts"
import {
  DEFAULT_MAX_RESULTS,
  decodeToken,
  encodeToken,
  fingerprint,
  instancePage,
  MaxResults,
  NextToken
} from "./paging.ts"
import { Matching, NonEmptyString, operation, optional, required, StringMap, StringUpTo } from "./request.ts"
import {
  attributeProblem,
  bumpRevision,
  findService,
  type HealthStatus,
  initialHealth,
  INSTANCE_ID_PATTERN,
  MAX_INSTANCES_PER_SERVICE,
  withService
} from "./state-model.ts"

const ServiceId = required(NonEmptyString(255))
const InstanceId = required(NonEmptyString(64))

const notFound = (instanceId: string) => fail("InstanceNotFound", `Instance not found: ${instanceId}`)

export const listInstances = operation(
  Schema.Struct({ ServiceId, MaxResults: optional(MaxResults), NextToken: optional(NextToken) }),
  (state, input) =>
    Result.gen(function*() {
      const svc = yield* findService(state, input.ServiceId)
      const fp = fingerprint(svc.id)
      const token = yield* decodeToken(input.NextToken, "ListInstances", fp)
      const { page, nextToken } = instancePage(svc, "ListInstances", fp, token, input.MaxResults ?? DEFAULT_MAX_RESULTS)
      const output: Record<string, unknown> = {
        ResourceOwner: state.accountId,
        Instances: page.map((i) => ({ Id: i.id, Attributes: i.attributes, CreatedByAccount: state.accountId }))
      }
      if (nextToken !== undefined) output["NextToken"] = nextToken
      return { state, output }
    })
)

const GetInstancesHealthStatusInput = Schema.Struct({
  ServiceId,
  Instances: optional(
    Schema.Array(Schema.String).check(Schema.makeFilter((ids) => ids.length > 0 || "must contain at least one instance id"))
  ),
  MaxResults: optional(MaxResults),
  NextToken: optional(NextToken)
})

export const getInstancesHealthStatus = operation(GetInstancesHealthStatusInput, (state, input) =>
  Result.gen(function*() {
    const svc = yield* findService(state, input.ServiceId)
    const max = input.MaxResults ?? DEFAULT_MAX_RESULTS
    const wanted = input.Instances
    const fp = fingerprint([svc.id, wanted ?? null])
    const token = yield* decodeToken(input.NextToken, "GetInstancesHealthStatus", fp)
    const Status: Record<string, HealthStatus> = {}
    let nextToken: string | undefined
    if (wanted === undefined) {
      const r = instancePage(svc, "GetInstancesHealthStatus", fp, token, max)
      for (const i of r.page) Status[i.id] = i.health
      nextToken = r.nextToken
    } else {
      const missing = wanted.find((id) => !svc.instances.has(id))
      if (missing !== undefined) return yield* notFound(missing)
      const start = Math.min(token?.pos ?? 0, wanted.length)
      const end = Math.min(wanted.length, start + max)
      for (let i = start; i < end; i++) Status[wanted[i]!] = svc.instances.get(wanted[i]!)!.health
      if (end < wanted.length) nextToken = encodeToken({ op: "GetInstancesHealthStatus", pos: end, fp })
    }
    const output: Record<string, unknown> = { Status }
    if (nextToken !== undefined) output["NextToken"] = nextToken
    return { state, output }
  }))

const sameAttributes = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean => {
  const ak = Object.keys(a)
  if (ak.length !== Object.keys(b).length) return false
  for (const k of ak) if (a[k] !== b[k]) return false
  return true
}

const RegisterInstanceInput = Schema.Struct({
  ServiceId,
  InstanceId: required(Matching(INSTANCE_ID_PATTERN, "must be 1-64 characters of 0-9 a-z A-Z _ / : . @ -")),
  CreatorRequestId: optional(StringUpTo(64)),
  Attributes: required(StringMap.check(Schema.makeFilter((attributes) => attributeProblem(attributes))))
})

export const registerInstance = operation(RegisterInstanceInput, (state, input, ctx) =>
  Result.gen(function*() {
    const { InstanceId: instanceId, Attributes: attributes, CreatorRequestId: creatorRequestId } = input
    const svc = yield* findService(state, input.ServiceId)
    const existing = svc.instances.get(instanceId)
    if (existing === undefined && svc.instances.size >= MAX_INSTANCES_PER_SERVICE) {
      return yield* fail("ResourceLimitExceeded", `A service can have at most ${MAX_INSTANCES_PER_SERVICE} instances`)
    }
    let next = state
    let revision = svc.revision
    if (existing === undefined || !sameAttributes(existing.attributes, attributes)) {
      const bumped = bumpRevision(state)
      next = bumped.state
      revision = bumped.revision
    }
    const health: HealthStatus = svc.healthCheck === "none"
      ? "UNKNOWN"
      : existing?.health ?? initialHealth(svc.healthCheck, attributes)
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
  }))

export const deregisterInstance = operation(Schema.Struct({ ServiceId, InstanceId }), (state, input, ctx) =>
  Result.gen(function*() {
    const svc = yield* findService(state, input.ServiceId)
    const instanceId = input.InstanceId
    if (!svc.instances.has(instanceId)) return yield* notFound(instanceId)
    const instances = new Map(svc.instances)
    instances.delete(instanceId)
    const bumped = bumpRevision(state)
    const next = withService(bumped.state, { ...svc, instances, revision: bumped.revision })
    const op = startOperation(next, "DEREGISTER_INSTANCE", { INSTANCE: instanceId, SERVICE: svc.id }, ctx)
    return { state: op.state, output: { OperationId: op.operationId } }
  }))

const UpdateInstanceCustomHealthStatusInput = Schema.Struct({
  ServiceId,
  InstanceId,
  Status: required(Schema.Literals(["HEALTHY", "UNHEALTHY"]).annotate({ message: "must be HEALTHY or UNHEALTHY" }))
})

export const updateInstanceCustomHealthStatus = operation(UpdateInstanceCustomHealthStatusInput, (state, input) =>
  Result.gen(function*() {
    const svc = yield* findService(state, input.ServiceId)
    if (svc.healthCheck !== "custom") {
      return yield* fail("CustomHealthNotFound", `Service ${svc.id} does not have a custom health check configuration`)
    }
    const inst = svc.instances.get(input.InstanceId)
    if (inst === undefined) return yield* notFound(input.InstanceId)
    if (inst.health === input.Status) return { state, output: {} }
    const instances = new Map(svc.instances)
    instances.set(inst.id, { ...inst, health: input.Status })
    // Health changes do not bump InstancesRevision.
    return { state: withService(state, { ...svc, instances }), output: {} }
  }))
