/**
 * The mock's record of Cloud Map's asynchronous operations (RegisterInstance,
 * DeregisterInstance, CreateHttpNamespace): an append-only log in creation order, and each
 * operation's status at a given time.
 *
 * The change itself is applied at once; only the reported status lags: an operation is
 * `SUBMITTED`, then `PENDING` from half its delay on, then `SUCCESS` once its delay has passed
 * (`operationDelayMs`, 0 = `SUCCESS` at once). The status is computed from the clock when read;
 * no timers. Operations older than the retention window (by CreateDate) are gone.
 *
 * The log is shared between successive states so that appending is O(1): a state sees only its
 * first `size` entries, and appending to a state that is not the newest copies its entries first
 * (states stay values).
 */

export type OperationType = "CREATE_NAMESPACE" | "REGISTER_INSTANCE" | "DEREGISTER_INSTANCE"
export type OperationStatus = "SUBMITTED" | "PENDING" | "SUCCESS"
export type OperationTargets = Readonly<{ INSTANCE?: string; SERVICE?: string; NAMESPACE?: string }>

export interface OperationRecord {
  readonly id: string
  readonly type: OperationType
  /** Epoch milliseconds. */
  readonly createDate: number
  /** How long after createDate the operation reports SUCCESS. */
  readonly delayMs: number
  /** GetOperation's `Targets`. */
  readonly targets: OperationTargets
  /** The namespace the operation is about (also the namespace of an instance's service). */
  readonly namespaceId: string | undefined
  /** The service the operation is about, if any. */
  readonly serviceId: string | undefined
}

interface SharedLog {
  readonly records: Array<OperationRecord>
  readonly index: Map<string, number>
}

export interface OperationLog {
  readonly shared: SharedLog
  /** Entries of `shared` this state sees. */
  readonly size: number
}

export const emptyOperationLog = (): OperationLog => ({ shared: { records: [], index: new Map() }, size: 0 })

export const appendOperation = (log: OperationLog, record: OperationRecord): OperationLog => {
  let shared = log.shared
  if (shared.records.length !== log.size) {
    // A later state already appended to this log: branch off with a copy.
    const records = shared.records.slice(0, log.size)
    shared = { records, index: new Map(records.map((r, i) => [r.id, i])) }
  }
  shared.records.push(record)
  shared.index.set(record.id, shared.records.length - 1)
  return { shared, size: log.size + 1 }
}

export const operationAt = (log: OperationLog, position: number): OperationRecord | undefined =>
  position < log.size ? log.shared.records[position] : undefined

export const findOperation = (log: OperationLog, id: string): OperationRecord | undefined => {
  const position = log.shared.index.get(id)
  return position === undefined ? undefined : operationAt(log, position)
}

/** An operation's status at `now`, and when it last changed (UpdateDate, epoch ms). */
export const statusAt = (op: OperationRecord, now: number): { status: OperationStatus; updateDate: number } => {
  const age = now - op.createDate
  if (age >= op.delayMs) return { status: "SUCCESS", updateDate: op.createDate + op.delayMs }
  if (age >= op.delayMs / 2) return { status: "PENDING", updateDate: op.createDate + op.delayMs / 2 }
  return { status: "SUBMITTED", updateDate: op.createDate }
}

/** Whether the operation is past the retention window at `now`. */
export const isExpired = (op: OperationRecord, now: number, retentionMs: number): boolean =>
  now - op.createDate > retentionMs

/**
 * The first position whose operation is not expired at `now` (CreateDates grow along the log, so
 * a binary search; an out-of-order clock only makes the caller's own expiry check matter more).
 */
export const firstRetained = (log: OperationLog, now: number, retentionMs: number): number => {
  let lo = 0
  let hi = log.size
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (isExpired(log.shared.records[mid]!, now, retentionMs)) lo = mid + 1
    else hi = mid
  }
  return lo
}
