/**
 * Fault injection rules for the mock Cloud Map (pure data + pure decisions).
 *
 * A rule applies to calls of some operations (default: all) and optionally one service name
 * (matched against ServiceName, or the name of the service behind ServiceId / Id). It fires on
 * every matching call, with a probability, and/or for the next N matching calls (`times`), then
 * disappears. On one call, every matching `latency` rule adds its delay (the largest wins) and
 * the first matching rule of another kind (in the order they were added) decides the reply.
 *
 * Kinds:
 * - `throttle`     → `{"__type":"RequestLimitExceeded"}`, HTTP 429 (set `status: 400` for the documented code)
 * - `5xx`          → `{"__type":"InternalFailure"}`, HTTP 500 (or `status`, e.g. 503)
 * - `latency`      → waits `latencyMs` before handling the call normally
 * - `malformed`    → the operation runs, then HTTP 200 with a truncated (invalid) JSON body
 * - `accessDenied` → `{"__type":"AccessDeniedException"}`, HTTP 400
 * `code` and `message` override the error's `__type` and `Message`.
 */
import { Result, Schema } from "effect"

export const FaultKind = Schema.Literals(["throttle", "5xx", "latency", "malformed", "accessDenied"])
export type FaultKind = typeof FaultKind.Type

export const FaultSpec = Schema.Struct({
  kind: FaultKind,
  /** Operation name(s), e.g. "DiscoverInstances". Omitted or "*": all operations. */
  operation: Schema.optionalKey(Schema.Union([Schema.String, Schema.Array(Schema.String)])),
  /** Only calls about this service name. */
  service: Schema.optionalKey(Schema.String),
  /** Fire for the next N matching calls, then remove the rule. */
  times: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
  /** Fire with this probability (0..1) on each matching call. */
  probability: Schema.optionalKey(Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 }))),
  /** HTTP status of the error reply. */
  status: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 400, maximum: 599 }))),
  /** Error code (`__type`) of the error reply. */
  code: Schema.optionalKey(Schema.String.check(Schema.isBetweenLength(1, 128))),
  message: Schema.optionalKey(Schema.String),
  /** Delay for `latency` rules. */
  latencyMs: Schema.optionalKey(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 600_000 })))
}).check(
  Schema.makeFilter((s) => s.kind !== "latency" || s.latencyMs !== undefined || "a latency fault needs latencyMs")
)
export type FaultSpec = typeof FaultSpec.Type

/** Body of `POST /_mock/faults`: one rule or `{ "faults": [rules] }`. */
export const FaultRequest = Schema.Union([FaultSpec, Schema.Struct({ faults: Schema.Array(FaultSpec) })])
export type FaultRequest = typeof FaultRequest.Type

export interface FaultRule {
  readonly id: string
  readonly kind: FaultKind
  /** undefined = all operations */
  readonly operations: ReadonlyArray<string> | undefined
  readonly service: string | undefined
  /** Firings left; undefined = unlimited. */
  readonly remaining: number | undefined
  readonly probability: number | undefined
  readonly status: number
  readonly code: string
  readonly message: string | undefined
  readonly latencyMs: number
  /** How many times it fired. */
  readonly fired: number
}

const defaults: Record<FaultKind, { status: number; code: string }> = {
  throttle: { status: 429, code: "RequestLimitExceeded" },
  "5xx": { status: 500, code: "InternalFailure" },
  latency: { status: 200, code: "" },
  malformed: { status: 200, code: "" },
  accessDenied: { status: 400, code: "AccessDeniedException" }
}

export const makeFaultRule = (spec: FaultSpec, id: string): FaultRule => {
  const ops = spec.operation === undefined ? undefined : typeof spec.operation === "string" ? [spec.operation] : spec.operation
  return {
    id,
    kind: spec.kind,
    operations: ops === undefined || ops.includes("*") ? undefined : ops,
    service: spec.service,
    remaining: spec.times,
    probability: spec.probability,
    status: spec.status ?? defaults[spec.kind].status,
    code: spec.code ?? defaults[spec.kind].code,
    message: spec.message,
    latencyMs: spec.latencyMs ?? 0,
    fired: 0
  }
}

const FaultList = Schema.Struct({ faults: Schema.Array(FaultSpec) })

/** Decodes a `POST /_mock/faults` body (parsed JSON) into rules, or a message naming the bad paths. */
export const decodeFaultRequest = (json: unknown): Result.Result<ReadonlyArray<FaultSpec>, string> => {
  const options = { errors: "all", onExcessProperty: "error" } as const
  if (typeof json === "object" && json !== null && "faults" in json) {
    const r = Schema.decodeUnknownResult(FaultList)(json, options)
    return Result.isFailure(r) ? Result.fail(r.failure.message) : Result.succeed(r.success.faults)
  }
  const r = Schema.decodeUnknownResult(FaultSpec)(json, options)
  return Result.isFailure(r) ? Result.fail(r.failure.message) : Result.succeed([r.success])
}

export interface CallInfo {
  readonly operation: string
  readonly service: string | undefined
}

export interface FaultDecision {
  /** Delay before handling the call. */
  readonly latencyMs: number
  /** The rule that decides the reply (never a latency rule), if any. */
  readonly fault: FaultRule | undefined
}

const matches = (rule: FaultRule, call: CallInfo): boolean =>
  (rule.operations === undefined || rule.operations.includes(call.operation)) &&
  (rule.service === undefined || rule.service === call.service)

/**
 * Decides what happens to one call and returns the rules afterwards (counters updated,
 * exhausted rules removed). `random` is only consulted for rules with a probability.
 */
export const decideFaults = (
  rules: ReadonlyArray<FaultRule>,
  call: CallInfo,
  random: () => number
): { readonly rules: ReadonlyArray<FaultRule>; readonly decision: FaultDecision } => {
  if (rules.length === 0) return { rules, decision: { latencyMs: 0, fault: undefined } }
  let latencyMs = 0
  let fault: FaultRule | undefined
  const next: Array<FaultRule> = []
  for (const rule of rules) {
    const candidate = rule.kind === "latency" || fault === undefined
    const fires = candidate && matches(rule, call) && (rule.probability === undefined || random() < rule.probability)
    if (!fires) {
      next.push(rule)
      continue
    }
    const updated: FaultRule = {
      ...rule,
      fired: rule.fired + 1,
      remaining: rule.remaining === undefined ? undefined : rule.remaining - 1
    }
    if (rule.kind === "latency") latencyMs = Math.max(latencyMs, rule.latencyMs)
    else fault = updated
    if (updated.remaining === undefined || updated.remaining > 0) next.push(updated)
  }
  return { rules: next, decision: { latencyMs, fault } }
}

export interface FaultReply {
  readonly status: number
  readonly body: string
  /** Error code for statistics and the `x-amzn-errortype` header; "malformed" for malformed bodies. */
  readonly outcome: string
}

/** The reply of a firing error rule (not for `malformed`, see `malformedBody`). */
export const faultReply = (rule: FaultRule, operation: string, accountId: string): FaultReply => {
  const message = rule.message ?? (
    rule.kind === "throttle"
      ? "Rate exceeded"
      : rule.kind === "accessDenied"
      ? `User: arn:aws:sts::${accountId}:assumed-role/cloudmap-haproxy/mock is not authorized to perform: servicediscovery:${operation} because no identity-based policy allows the servicediscovery:${operation} action`
      : "Internal failure (injected by the mock)"
  )
  return { status: rule.status, body: JSON.stringify({ __type: rule.code, Message: message }), outcome: rule.code }
}

/** A 200 reply whose body is not valid JSON (a truncated document). */
export const malformedBody = (validBody: string): string => {
  const cut = Math.max(1, Math.min(validBody.length - 1, Math.floor(validBody.length / 2)))
  return validBody.length > 2 ? validBody.slice(0, cut) : `{"Instances":[{"InstanceId":`
}

/** JSON view of a rule for `GET /_mock/faults`. */
export const faultRuleJson = (rule: FaultRule): Record<string, unknown> => {
  const out: Record<string, unknown> = { id: rule.id, kind: rule.kind, operation: rule.operations ?? "*", fired: rule.fired }
  if (rule.service !== undefined) out["service"] = rule.service
  if (rule.remaining !== undefined) out["remaining"] = rule.remaining
  if (rule.probability !== undefined) out["probability"] = rule.probability
  if (rule.kind === "latency") out["latencyMs"] = rule.latencyMs
  else if (rule.kind !== "malformed") {
    out["status"] = rule.status
    out["code"] = rule.code
  }
  if (rule.message !== undefined) out["message"] = rule.message
  return out
}
