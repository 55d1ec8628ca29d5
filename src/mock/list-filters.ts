/**
 * `Filters` of ListNamespaces, ListServices and ListOperations: `{ Name, Values, Condition? }`
 * (Condition EQ by default; EQ takes exactly one value, BETWEEN two; multiple filters are ANDed). Which names, conditions and
 * values are allowed is per operation.
 */
import { Schema } from "effect"

export type Condition = "EQ" | "BEGINS_WITH" | "IN" | "BETWEEN"

export interface FilterRule {
  readonly conditions: ReadonlyArray<Condition>
  /** When set, every value must be one of these. */
  readonly values?: ReadonlyArray<string>
  /** Further checks of the values: a message when they are not acceptable. */
  readonly check?: (values: ReadonlyArray<string>) => string | undefined
}

/** A decoded filter, Condition defaulted (this is also what page tokens are bound to). */
export interface Filter<N extends string = string> {
  readonly name: N
  readonly values: ReadonlyArray<string>
  readonly condition: Condition
}

/** The `Filters` member for an operation that supports the filter names in `rules`. */
export const FiltersMember = <N extends string>(rules: Readonly<Record<N, FilterRule>>) => {
  const names = Object.keys(rules) as Array<N>
  const RawFilter = Schema.Struct({
    Name: Schema.Literals(names).annotate({ message: `must be one of ${names.join(", ")}` }),
    Values: Schema.Array(Schema.String).check(Schema.makeFilter((v) => v.length > 0 || "must not be empty")),
    Condition: Schema.optionalKey(Schema.NullOr(Schema.Literals(["EQ", "BEGINS_WITH", "IN", "BETWEEN"])))
  }).check(Schema.makeFilter((f) => {
    const rule: FilterRule = rules[f.Name]
    const condition = f.Condition ?? "EQ"
    if (!rule.conditions.includes(condition)) return `Condition ${condition} is not supported for filter ${f.Name}`
    if (condition === "EQ" && f.Values.length !== 1) return "Condition EQ takes exactly one value"
    if (condition === "BETWEEN" && f.Values.length !== 2) return "Condition BETWEEN takes exactly two values (start, end)"
    const bad = rule.values === undefined ? undefined : f.Values.find((v) => !rule.values!.includes(v))
    if (bad !== undefined) return `Invalid ${f.Name} value: ${bad}`
    return rule.check?.(f.Values)
  }))
  return Schema.Array(RawFilter)
}

/** Normalizes decoded filters (Condition defaults to EQ). */
export const toFilters = <N extends string>(
  raw: ReadonlyArray<{ readonly Name: N; readonly Values: ReadonlyArray<string>; readonly Condition?: Condition | null }> | undefined
): ReadonlyArray<Filter<N>> =>
  (raw ?? []).map((f) => ({ name: f.Name, values: f.Values, condition: f.Condition ?? "EQ" }))

export const matchCondition = (filter: Filter, actual: string): boolean =>
  filter.condition === "BEGINS_WITH"
    ? filter.values.some((v) => actual.startsWith(v))
    : filter.values.includes(actual)

/** RESOURCE_OWNER: everything in the mock belongs to the caller's account. */
export const matchOwner = (filter: Filter): boolean => filter.values.includes("SELF")
