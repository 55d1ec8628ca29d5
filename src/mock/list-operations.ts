/**
 * ListOperations: the operations in the retention window, in creation order, as
 * `Operations: [{ Id, Status }]` with the status at the time of the call.
 *
 * Filters (ANDed), as documented: NAMESPACE_ID and SERVICE_ID take EQ (one id or ARN); STATUS
 * and TYPE take EQ or IN; UPDATE_DATE takes BETWEEN with two epoch values (start, end, inclusive;
 * UpdateDate is when the status last changed), read as seconds or, with the mock's
 * `updateDateUnit: milliseconds` reading, as milliseconds (./feed-readings.ts). NAMESPACE_ID also matches instance
 * operations in that namespace's services.
 *
 * Paging is Cloud Map's: each page takes the next MaxResults operations and then filters them,
 * so a page can be empty while NextToken is set; page to the end.
 */
import { Result, Schema } from "effect"
import { filterDateMs } from "./feed-readings.ts"
import { type Filter, FiltersMember, type FilterRule, toFilters } from "./list-filters.ts"
import { firstRetained, isExpired, type OperationRecord, statusAt } from "./operation-log.ts"
import { DEFAULT_MAX_RESULTS, decodeToken, encodeToken, fingerprint, MaxResults, NextToken, scanPage } from "./paging.ts"
import { operation, optional } from "./request.ts"
import { idFromArn, type MockState } from "./state-model.ts"

const epochSecondsPair = (values: ReadonlyArray<string>): string | undefined => {
  const [start, end] = values.map((v) => (v.trim() === "" ? Number.NaN : Number(v)))
  if (!Number.isFinite(start) || !Number.isFinite(end)) return "UPDATE_DATE values must be epoch seconds"
  return start! <= end! ? undefined : "UPDATE_DATE start must not be after its end"
}

const rules = {
  NAMESPACE_ID: { conditions: ["EQ"] },
  SERVICE_ID: { conditions: ["EQ"] },
  STATUS: { conditions: ["EQ", "IN"], values: ["SUBMITTED", "PENDING", "SUCCESS", "FAIL"] },
  TYPE: {
    conditions: ["EQ", "IN"],
    values: ["CREATE_NAMESPACE", "DELETE_NAMESPACE", "UPDATE_NAMESPACE", "UPDATE_SERVICE", "REGISTER_INSTANCE", "DEREGISTER_INSTANCE"]
  },
  UPDATE_DATE: { conditions: ["BETWEEN"], check: epochSecondsPair }
} satisfies Record<string, FilterRule>

const ListOperationsInput = Schema.Struct({
  MaxResults: optional(MaxResults),
  NextToken: optional(NextToken),
  Filters: optional(FiltersMember(rules))
})

type OperationFilterName = keyof typeof rules

const matches = (state: MockState, f: Filter<OperationFilterName>, op: OperationRecord, status: string, updateDate: number): boolean => {
  switch (f.name) {
    case "NAMESPACE_ID":
      return op.namespaceId === idFromArn(f.values[0]!)
    case "SERVICE_ID":
      return op.serviceId === idFromArn(f.values[0]!)
    case "STATUS":
      return f.values.includes(status)
    case "TYPE":
      return f.values.includes(op.type)
    case "UPDATE_DATE": {
      // The values' unit is the mock's reading (./feed-readings.ts).
      return filterDateMs(state, f.values[0]!) <= updateDate && updateDate <= filterDateMs(state, f.values[1]!)
    }
  }
}

/** The first operation created at or after `ms` (operations are kept in creation order). */
const firstCreatedFrom = (state: MockState, ms: number): number => {
  const records = state.operations.shared.records
  let lo = 0
  let hi = state.operations.size
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (records[mid]!.createDate < ms) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * With the `updateDate` scan reading, what paging walks, as an index by date would: from the first
 * operation that may have changed status since the UPDATE_DATE filter's start (created at most its
 * delay before it) to the last one created by its end. Otherwise the whole log.
 */
const scanRange = (state: MockState, filters: ReadonlyArray<Filter<OperationFilterName>>): { start: number; end: number } => {
  const dates = filters.find((f) => f.name === "UPDATE_DATE")
  if (state.feedReadings.operationScan !== "updateDate" || dates === undefined) return { start: 0, end: state.operations.size }
  return {
    start: firstCreatedFrom(state, filterDateMs(state, dates.values[0]!) - state.operationDelayMs),
    end: firstCreatedFrom(state, filterDateMs(state, dates.values[1]!) + 1)
  }
}

export const listOperations = operation(ListOperationsInput, (state, input, ctx) =>
  Result.gen(function*() {
    const filters = toFilters(input.Filters)
    const fp = fingerprint(filters)
    const token = yield* decodeToken(input.NextToken, "ListOperations", fp)
    const log = state.operations
    const retention = state.operationRetentionMs
    const select = (op: OperationRecord) => {
      if (isExpired(op, ctx.now, retention)) return undefined
      const { status, updateDate } = statusAt(op, ctx.now)
      for (const f of filters) if (!matches(state, f, op, status, updateDate)) return undefined
      return { Id: op.id, Status: status }
    }
    const range = scanRange(state, filters)
    const start = Math.max(token?.pos ?? 0, firstRetained(log, ctx.now, retention), range.start)
    const max = input.MaxResults ?? DEFAULT_MAX_RESULTS
    // window = MaxResults: the page examines MaxResults operations, then filters them.
    const { items, next } = scanPage(log.shared.records, start, max, max, select, range.end)
    const output: Record<string, unknown> = { Operations: items }
    if (next !== undefined) output["NextToken"] = encodeToken({ op: "ListOperations", pos: next, fp })
    return { state, output }
  }))
