/**
 * Cloud Map's asynchronous operations: the writes that return an `OperationId`
 * (CreateHttpNamespace, RegisterInstance, DeregisterInstance) record an operation in the state's
 * log (operation-log.ts), and GetOperation reports it with its status at the time of the call.
 * ListOperations is in list-operations.ts.
 *
 * OperationIds are derived from a state-wide counter that survives resets, so an id is never
 * reused by one mock process.
 */
import { Result, Schema } from "effect"
import { fail } from "./cloudmap-error.ts"
import { targetsAsRead } from "./feed-readings.ts"
import {
  appendOperation,
  findOperation,
  isExpired,
  type OperationRecord,
  type OperationTargets,
  type OperationType,
  statusAt
} from "./operation-log.ts"
import { NonEmptyString, operation, type OperationContext, required } from "./request.ts"
import { deterministicId, epochSeconds, type MockState } from "./state-model.ts"

/** Records the start of an asynchronous operation; returns its OperationId. */
export const startOperation = (
  state: MockState,
  type: OperationType,
  targets: OperationTargets,
  ctx: OperationContext
): { state: MockState; operationId: string } => {
  const n = state.operationCounter + 1
  const serviceId = targets.SERVICE
  const record: OperationRecord = {
    id: deterministicId("op-", `operation:${n}`),
    type,
    createDate: ctx.now,
    delayMs: state.operationDelayMs,
    targets,
    namespaceId: targets.NAMESPACE ?? (serviceId === undefined ? undefined : state.services.get(serviceId)?.namespaceId),
    serviceId
  }
  return {
    state: { ...state, operationCounter: n, operations: appendOperation(state.operations, record) },
    operationId: record.id
  }
}

/** The operation with this id, unless it is unknown or past the retention window. */
export const retainedOperation = (state: MockState, id: string, now: number): OperationRecord | undefined => {
  const op = findOperation(state.operations, id)
  return op === undefined || isExpired(op, now, state.operationRetentionMs) ? undefined : op
}

export const getOperation = operation(
  Schema.Struct({ OperationId: required(NonEmptyString(255)) }),
  (state, input, ctx) => {
    const op = retainedOperation(state, input.OperationId, ctx.now)
    if (op === undefined) return fail("OperationNotFound", `Operation not found: ${input.OperationId}`)
    const { status, updateDate } = statusAt(op, ctx.now)
    return Result.succeed({
      state,
      output: {
        Operation: {
          Id: op.id,
          Type: op.type,
          Status: status,
          CreateDate: epochSeconds(op.createDate),
          UpdateDate: epochSeconds(updateDate),
          Targets: targetsAsRead(state, op.targets)
        }
      }
    })
  }
)
