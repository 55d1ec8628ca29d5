/**
 * The Cloud Map operations the mock serves, by awsJson1_1 target name, and the dispatcher the
 * HTTP server calls. Each operation is a pure function of the state, the request body and the
 * clock/random source (see request.ts); the semantics live beside each operation.
 */
import { Result } from "effect"
import { cloudMapError } from "./cloudmap-error.ts"
import { discoverInstances, discoverInstancesRevision } from "./discover.ts"
import {
  deregisterInstance,
  getInstancesHealthStatus,
  listInstances,
  registerInstance,
  updateInstanceCustomHealthStatus
} from "./instances.ts"
import { listOperations } from "./list-operations.ts"
import { createHttpNamespace, getNamespace, listNamespaces } from "./namespaces.ts"
import { getOperation } from "./operations.ts"
import type { Operation, OperationContext, OperationResult } from "./request.ts"
import { deleteServiceAttributes, getServiceAttributes, updateServiceAttributes } from "./service-attributes.ts"
import { createService, deleteService, getService, listServices } from "./services.ts"
import { idFromArn, type MockState } from "./state-model.ts"

/** Every operation the mock implements. Any other target is `UnknownOperationException`. */
export const operations: Readonly<Record<string, Operation>> = {
  // read by the agent
  ListNamespaces: listNamespaces,
  ListServices: listServices,
  DiscoverInstances: discoverInstances,
  DiscoverInstancesRevision: discoverInstancesRevision,
  // reads used by tests, scripts and the aws CLI
  ListInstances: listInstances,
  GetInstancesHealthStatus: getInstancesHealthStatus,
  GetNamespace: getNamespace,
  GetService: getService,
  GetOperation: getOperation,
  ListOperations: listOperations,
  // writes (demo, tests, benchmarks)
  CreateHttpNamespace: createHttpNamespace,
  CreateService: createService,
  DeleteService: deleteService,
  RegisterInstance: registerInstance,
  DeregisterInstance: deregisterInstance,
  UpdateInstanceCustomHealthStatus: updateInstanceCustomHealthStatus,
  // service attributes (per-service options)
  GetServiceAttributes: getServiceAttributes,
  UpdateServiceAttributes: updateServiceAttributes,
  DeleteServiceAttributes: deleteServiceAttributes
}

/**
 * Runs one operation. Unknown operations give `UnknownOperationException`; an exception (a bug
 * in the mock, never a bad request) is reported as `InternalFailure` (500).
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
    return op(state, input, ctx)
  } catch (e) {
    return Result.fail(cloudMapError("InternalFailure", `mock internal error: ${String(e)}`, 500))
  }
}

/**
 * The service name a request is about (for fault scoping and call statistics), if any. Read
 * leniently from the undecoded body: a malformed request still counts against its service.
 */
export const serviceNameOf = (
  state: MockState,
  operation: string,
  input: Readonly<Record<string, unknown>>
): string | undefined => {
  const name = input["ServiceName"]
  if (typeof name === "string") return name
  if (operation === "CreateService" && typeof input["Name"] === "string") return input["Name"]
  const id = input["ServiceId"] ?? (operation === "GetService" ? input["Id"] : undefined)
  if (typeof id === "string") return state.services.get(idFromArn(id))?.name
  return undefined
}
