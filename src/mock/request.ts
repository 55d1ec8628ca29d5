/**
 * One API request to the mock: its input is decoded with a Schema per operation, and a request
 * that does not decode is answered with Cloud Map's `InvalidInput` (400) naming every member
 * that is wrong. Handlers are pure: `(state, input, ctx) → Result<{ state, output }, CloudMapError>`.
 *
 * As in awsJson1_1, unknown members are ignored and a `null` member counts as absent.
 */
import { Result, Schema, SchemaIssue } from "effect"
import { type CloudMapError, invalidInput } from "./cloudmap-error.ts"
import type { MockState } from "./state-model.ts"

export interface OperationContext {
  /** Epoch milliseconds. */
  readonly now: number
  /** Uniform in [0, 1). */
  readonly random: () => number
}

export interface OperationSuccess {
  readonly state: MockState
  /** The JSON response body. */
  readonly output: Readonly<Record<string, unknown>>
}

export type OperationResult = Result.Result<OperationSuccess, CloudMapError>

/** An operation as the dispatcher sees it: the request body is still untrusted JSON. */
export type Operation = (state: MockState, input: Readonly<Record<string, unknown>>, ctx: OperationContext) => OperationResult

// ---------------------------------------------------------------------------------------------
// Member schemas. Messages are predicates: they read "<member> <message>".

/** A required member. */
export const required = <S extends Schema.Top>(schema: S): S["Rebuild"] =>
  schema.annotateKey({ messageMissingKey: "is required" })

/** An optional member (absent or null). */
export const optional = Schema.optionalKey

/** A string of 1..max characters (Cloud Map ids, names, tokens). */
export const NonEmptyString = (max: number) =>
  Schema.String.check(
    Schema.makeFilter((s: string) =>
      s.length === 0 ? "must not be empty" : s.length > max ? `must be at most ${max} characters` : undefined
    )
  )

/** A string of at most max characters (descriptions, request ids). */
export const StringUpTo = (max: number) =>
  Schema.String.check(Schema.makeFilter((s: string) => s.length <= max || `must be at most ${max} characters`))

/** An integer in min..max, with Cloud Map's wording for the range. */
export const IntBetween = (min: number, max: number) =>
  Schema.Int.check(
    Schema.makeFilter((n: number) =>
      n < min
        ? `must have value greater than or equal to ${min}, got ${n}`
        : n > max
        ? `must have value less than or equal to ${max}, got ${n}`
        : undefined
    )
  )

export const StringMap = Schema.Record(Schema.String, Schema.String)

/** A string matching a pattern from the Smithy model. */
export const Matching = (pattern: RegExp, message: string) =>
  Schema.String.check(Schema.makeFilter((s: string) => pattern.test(s) || message))

// ---------------------------------------------------------------------------------------------
// Decoding

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/

type PathKey = PropertyKey | { readonly key: PropertyKey }

/** `Filters[0].Values`, `Attributes["a.b"]` */
const formatPath = (path: ReadonlyArray<PathKey>): string =>
  path.map((segment) => typeof segment === "object" ? segment.key : segment).map((key, i) =>
    typeof key === "number"
      ? `[${key}]`
      : typeof key === "string" && IDENTIFIER.test(key)
      ? i === 0 ? key : `.${key}`
      : `[${JSON.stringify(String(key))}]`
  ).join("")

const PREDICATE = /^(is|must|has|takes|can) /

const formatIssue = ({ path, message }: { readonly path?: ReadonlyArray<PathKey> | undefined; readonly message: string }) => {
  const where = path === undefined || path.length === 0 ? "" : formatPath(path)
  if (where === "") return message
  return PREDICATE.test(message) ? `${where} ${message}` : `${where}: ${message}`
}

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

/** Drops `null` members: awsJson1_1 treats them as not set. */
const withoutNulls = (input: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> => {
  for (const key in input) {
    if (input[key] === null) return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== null))
  }
  return input
}

/** Decodes a request body with `schema`; a mismatch is `InvalidInput` listing every problem. */
export const decodeRequest = <A>(schema: Schema.Decoder<A>) => {
  const decode = Schema.decodeUnknownResult(schema)
  return (input: Readonly<Record<string, unknown>>): Result.Result<A, CloudMapError> => {
    const r = decode(withoutNulls(input), { errors: "all" })
    if (Result.isSuccess(r)) return Result.succeed(r.success)
    const issues = formatter(r.failure.issue).issues.map(formatIssue)
    return invalidInput(
      `${issues.length} validation error${issues.length === 1 ? "" : "s"} detected: ${issues.join("; ")}`
    )
  }
}

/** An operation whose input is decoded with `schema` before `run` sees it. */
export const operation = <A>(
  schema: Schema.Decoder<A>,
  run: (state: MockState, input: A, ctx: OperationContext) => OperationResult
): Operation => {
  const decode = decodeRequest(schema)
  return (state, raw, ctx) => {
    const input = decode(raw)
    return Result.isFailure(input) ? Result.fail(input.failure) : run(state, input.success, ctx)
  }
}
