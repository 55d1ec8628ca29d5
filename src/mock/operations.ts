/**
 * Cloud Map's asynchronous operations (CreateHttpNamespace, RegisterInstance,
 * DeregisterInstance return an `OperationId`). The mock applies every write at once, so each
 * operation is already `SUCCESS`. The id itself encodes the operation's record (number, type,
 * date, targets), so nothing is stored: GetOperation decodes it, and knows an id is real when its
 * number is not above the state's operation counter.
 */
import { Buffer } from "node:buffer"
import { Option, Result, Schema } from "effect"
import { fail } from "./cloudmap-error.ts"
import { NonEmptyString, operation, type OperationContext, required } from "./request.ts"
import { epochSeconds, type MockState } from "./state-model.ts"

export type OperationType = "CREATE_NAMESPACE" | "REGISTER_INSTANCE" | "DEREGISTER_INSTANCE"

const OperationRecord = Schema.Struct({
  /** Sequence number (1, 2, ...). */
  n: Schema.Int,
  /** Operation type. */
  t: Schema.String,
  /** CreateDate, epoch milliseconds. */
  d: Schema.Number,
  /** Targets, e.g. { INSTANCE: "web-3", SERVICE: "srv-..." }. */
  g: Schema.Record(Schema.String, Schema.String)
})
type OperationRecord = typeof OperationRecord.Type

const decodeRecord = Schema.decodeUnknownOption(Schema.fromJsonString(OperationRecord))

/** Records the start of an asynchronous operation; returns its OperationId. */
export const startOperation = (
  state: MockState,
  type: OperationType,
  targets: Readonly<Record<string, string>>,
  ctx: OperationContext
): { state: MockState; operationId: string } => {
  const n = state.operationCounter + 1
  const record: OperationRecord = { n, t: type, d: ctx.now, g: targets }
  return {
    state: { ...state, operationCounter: n },
    operationId: `op-${Buffer.from(JSON.stringify(record)).toString("base64url")}`
  }
}

const readOperation = (operationId: string): OperationRecord | undefined => {
  if (!operationId.startsWith("op-")) return undefined
  return Option.getOrUndefined(decodeRecord(Buffer.from(operationId.slice(3), "base64url").toString("utf8")))
}

export const getOperation = operation(
  Schema.Struct({ OperationId: required(NonEmptyString(255)) }),
  (state, input) => {
    const id = input.OperationId
    const record = readOperation(id)
    if (record === undefined || record.n > state.operationCounter) {
      return fail("OperationNotFound", `Operation not found: ${id}`)
    }
    return Result.succeed({
      state,
      output: {
        Operation: {
          Id: id,
          Type: record.t,
          Status: "SUCCESS",
          CreateDate: epochSeconds(record.d),
          UpdateDate: epochSeconds(record.d),
          Targets: record.g
        }
      }
    })
  }
)
