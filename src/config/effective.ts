/**
 * The configuration in effect, for people (`cloudmap-haproxy config`) and machines (`--json`):
 * every variable of the table, its value (a secret as `<redacted>`) and whether it was set or is
 * the default. Pure.
 */
import { Result } from "effect"
import type { ConfigProblem, Effective, Env } from "./table.ts"
import { effectiveTable } from "./table.ts"
import { TABLE } from "./variables.ts"

/** Every variable in effect, or every problem (the same problems `run` reports). */
export const effectiveConfig = (env: Env): Result.Result<ReadonlyArray<Effective>, ReadonlyArray<ConfigProblem>> =>
  effectiveTable(TABLE, env)

const shown = (value: unknown): string => (typeof value === "string" ? value : JSON.stringify(value))

/** Where the value came from: `(default)`, `(set)`, `(set as ALIAS)`, or `(not used)`. */
const mark = (e: Effective): string =>
  !e.source.read
    ? "(not used)"
    : e.source.givenAs === undefined
    ? "(default)"
    : e.source.givenAs === e.name
    ? "(set)"
    : `(set as ${e.source.givenAs})`

/** One line per variable: `NAME=value`, or `NAME unset`, then where it came from, in a column. */
export const formatEffective = (entries: ReadonlyArray<Effective>): string => {
  const heads = entries.map((e) => (e.value === undefined ? `${e.name} unset` : `${e.name}=${shown(e.value)}`))
  const column = Math.min(56, Math.max(...heads.map((h) => h.length)) + 2)
  return entries.map((e, i) => `${heads[i]!.padEnd(column)}${heads[i]!.length >= column ? " " : ""}${mark(e)}`).join("\n") + "\n"
}

/** The same as JSON: `{"variables": [{"name", "value" (null when unset), "default", "setAs"?, "used"}]}`. */
export const effectiveJson = (entries: ReadonlyArray<Effective>): string =>
  JSON.stringify({
    variables: entries.map((e) => ({
      name: e.name,
      value: e.value ?? null,
      default: e.source.givenAs === undefined,
      ...(e.source.givenAs !== undefined && e.source.givenAs !== e.name ? { setAs: e.source.givenAs } : {}),
      used: e.source.read
    }))
  }, null, 2) + "\n"
