/**
 * The readings of Cloud Map's operation feed that AWS does not publish (docs: cloudmap-api.md §7),
 * each one the mock can be, so the agent is tested against every plausible answer:
 * - `operationTargets`: what GetOperation's `Targets` carry for an instance operation: `service`
 *   (INSTANCE and SERVICE, the default) or `instance` (INSTANCE only, as some emulators record);
 * - `updateDateUnit`: how ListOperations reads the UPDATE_DATE filter's values: `seconds` (the
 *   default) or `milliseconds` (what an AWS controller once sent);
 * - `operationScan`: what ListOperations pages through before it filters ("Cloud Map gets MaxResults
 *   operations and then filters them"): every retained operation (`retained`, the default: pages
 *   follow the account's whole history) or those from the UPDATE_DATE filter's start on
 *   (`updateDate`: pages follow the operations in the window, as an index by date would);
 * - `operationRetentionMs`: how long operations are kept (short: GetOperation answers
 *   OperationNotFound for operations ListOperations listed moments ago);
 * - `foreignChurn`: operations per second made in a namespace of the mock's own (`foreign-churn`,
 *   never in a fixture), as another team's deployments would (see ./foreign-churn.ts).
 * Set on the command line (mock --operation-targets, --update-date-unit, --operation-retention-ms,
 * --foreign-churn) or at run time with POST /_mock/options.
 */
import { Schema } from "effect"
import type { OperationTargets } from "./operation-log.ts"

export type OperationTargetsReading = "service" | "instance"
export type UpdateDateUnit = "seconds" | "milliseconds"
export type OperationScan = "retained" | "updateDate"

export const OPERATION_TARGETS_READINGS: ReadonlyArray<OperationTargetsReading> = ["service", "instance"]
export const UPDATE_DATE_UNITS: ReadonlyArray<UpdateDateUnit> = ["seconds", "milliseconds"]
export const OPERATION_SCANS: ReadonlyArray<OperationScan> = ["retained", "updateDate"]

/** POST /_mock/options: every member optional, none unknown. */
export const MockOptionsRequest = Schema.Struct({
  emptyPages: Schema.optionalKey(Schema.Union([Schema.Boolean, Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))])),
  operationTargets: Schema.optionalKey(Schema.Literals(OPERATION_TARGETS_READINGS)),
  updateDateUnit: Schema.optionalKey(Schema.Literals(UPDATE_DATE_UNITS)),
  operationScan: Schema.optionalKey(Schema.Literals(OPERATION_SCANS)),
  operationRetentionMs: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))),
  foreignChurn: Schema.optionalKey(Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1_000 })))
})
export type MockOptionsRequest = typeof MockOptionsRequest.Type

export interface FeedReadings {
  readonly operationTargets: OperationTargetsReading
  readonly updateDateUnit: UpdateDateUnit
  /** Absent: `retained`. */
  readonly operationScan?: OperationScan
}

export const DEFAULT_FEED_READINGS: FeedReadings = { operationTargets: "service", updateDateUnit: "seconds" }

/** What the functions below read of the mock's state (./state-model.ts holds the whole of it). */
interface WithReadings {
  readonly feedReadings: FeedReadings
  readonly operationRetentionMs: number
}

/** GetOperation's `Targets` as this reading reports them. */
export const targetsAsRead = (state: WithReadings, targets: OperationTargets): OperationTargets =>
  state.feedReadings.operationTargets === "instance" && targets.INSTANCE !== undefined ? { INSTANCE: targets.INSTANCE } : targets

/** An UPDATE_DATE filter value (as sent) → epoch milliseconds, as this reading reads it. */
export const filterDateMs = (state: WithReadings, value: string): number =>
  state.feedReadings.updateDateUnit === "milliseconds" ? Number(value) : Number(value) * 1000

/** The state with the readings a POST /_mock/options asked for (the others unchanged). */
export const withFeedOptions = <S extends WithReadings>(state: S, r: MockOptionsRequest): S => ({
  ...state,
  ...(r.operationRetentionMs === undefined ? {} : { operationRetentionMs: r.operationRetentionMs }),
  feedReadings: {
    operationTargets: r.operationTargets ?? state.feedReadings.operationTargets,
    updateDateUnit: r.updateDateUnit ?? state.feedReadings.updateDateUnit,
    operationScan: r.operationScan ?? state.feedReadings.operationScan ?? "retained"
  }
})

/** What POST /_mock/options answers: every option as it is now. */
export const feedOptionsJson = (state: WithReadings, foreignChurn: number) => ({
  ...state.feedReadings,
  operationScan: state.feedReadings.operationScan ?? "retained",
  operationRetentionMs: state.operationRetentionMs,
  foreignChurn
})
