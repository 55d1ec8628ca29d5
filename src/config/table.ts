/**
 * A configuration table: one entry per environment variable, holding everything about it once
 * (its name, the kind of value and its bounds, the default as a value or computed from other
 * variables, the default as shown to people, and what it means). `readTable` walks a table to
 * parse an environment and reports EVERY bad variable at once; the README table and `--help`
 * are printed from the same entries.
 *
 * Pure: a table is read from an env record, nothing else.
 */
import { isAbsolute } from "node:path"
import { Redacted, Result } from "effect"
import { normaliseHostname } from "../model/grammar.ts"

export type Env = Readonly<Record<string, string | undefined>>

export interface ConfigProblem {
  readonly variable: string
  /** The offending value as given; "<redacted>" for secrets; undefined when missing. */
  readonly value: string | undefined
  readonly expected: string
}

/** What is wrong with a given value; `variable` and `value` default to the variable read and its value. */
export interface Issue {
  readonly variable?: string
  readonly value?: string
  readonly expected: string
}

/** How a given (non-empty) value is read: the value, or why not. */
export interface Kind<A> {
  readonly parse: (raw: string) => Result.Result<A, ReadonlyArray<Issue>>
  /** The value as JSON data in the shape it is written in (default: the value itself). */
  encode?(value: A): unknown
}

/** Another variable's value, for computed defaults, conditions and rules across variables. */
export type Getter<S> = <K extends keyof S>(key: K) => S[K]

/** A default value; `shown` defaults to the value itself ("unset" for undefined). */
export interface ValueDefault<A> {
  readonly _tag: "Value"
  readonly value: A
  readonly shown?: string | undefined
}

/** A default computed from other variables (or the machine). */
export interface ComputedDefault<A, S> {
  readonly _tag: "Computed"
  readonly shown: string
  readonly from: (get: Getter<S>) => A
}

/** No default: missing is a problem, `expected` says what to set. */
export interface RequiredDefault {
  readonly _tag: "Required"
  readonly expected: string
  readonly shown?: string | undefined
}

export type Fallback<A, S> = ValueDefault<A> | ComputedDefault<A, S> | RequiredDefault

export interface Variable<A, S> {
  readonly name: string
  /** Other names read, in order, when `name` is unset (a problem names the variable actually read). */
  readonly aliases?: ReadonlyArray<string>
  /** Never echoed in a problem; read as given (not trimmed). */
  readonly secret?: boolean
  readonly kind: Kind<A>
  /** The value when unset (an invalid value is reported, and the fallback used for the rest). */
  readonly fallback: Fallback<A, S>
  /** Read only when this holds (a page's password only when the page is on); undefined otherwise. */
  readonly when?: (get: Getter<S>) => boolean
  /** A rule across variables on the value (given or default): what is expected, or undefined. */
  readonly check?: (value: A, get: Getter<S>) => string | undefined
  readonly meaning: string
}

/** One entry per field of S, in the order variables are documented and problems reported. */
export type Table<S> = { readonly [K in keyof S]-?: Variable<S[K], S> }

// ---------------------------------------------------------------------------------------------
// Defaults

export const value = <A>(value: A, shown?: string): ValueDefault<A> => ({ _tag: "Value", value, shown })

export const computed = <A, S>(shown: string, from: (get: Getter<S>) => A): ComputedDefault<A, S> => ({
  _tag: "Computed",
  shown,
  from
})

export const required = (expected: string, shown?: string): RequiredDefault => ({ _tag: "Required", expected, shown })

/** The default as shown to people (README, --help). */
export const shownDefault = (
  fallback: ValueDefault<unknown> | Pick<ComputedDefault<unknown, never>, "_tag" | "shown"> | RequiredDefault
): string => {
  switch (fallback._tag) {
    case "Value":
      return fallback.shown ?? (fallback.value === undefined ? "unset" : String(fallback.value))
    case "Computed":
      return fallback.shown
    case "Required":
      return fallback.shown ?? "required"
  }
}

// ---------------------------------------------------------------------------------------------
// Kinds

const refuse = (expected: string) => Result.fail([{ expected }])

const DECIMAL = /^[0-9]+(\.[0-9]+)?$/

const decimal = (min: number, max: number, integer: boolean): Kind<number> => ({
  parse: (raw) => {
    const n = DECIMAL.test(raw) ? Number(raw) : Number.NaN
    return Number.isFinite(n) && n >= min && n <= max && (!integer || Number.isInteger(n))
      ? Result.succeed(n)
      : refuse(`${integer ? "an integer" : "a number"} from ${min} to ${max}`)
  }
})

export const number = (min: number, max: number): Kind<number> => decimal(min, max, false)

export const integer = (min: number, max: number): Kind<number> => decimal(min, max, true)

export const oneOf = <const C extends string>(choices: ReadonlyArray<C>, normalise: (raw: string) => string): Kind<C> => ({
  parse: (raw) => {
    const found = choices.find((c) => c === normalise(raw))
    return found !== undefined ? Result.succeed(found) : refuse(`one of ${choices.join(", ")}`)
  }
})

export const boolean: Kind<boolean> = {
  parse: (raw) => {
    const v = raw.toLowerCase()
    if (["true", "1", "yes", "on"].includes(v)) return Result.succeed(true)
    if (["false", "0", "no", "off"].includes(v)) return Result.succeed(false)
    return refuse("true or false")
  }
}

/** Any value that passes `test`, as given. */
export const matching = (test: (raw: string) => boolean, expected: string): Kind<string> => ({
  parse: (raw) => (test(raw) ? Result.succeed(raw) : refuse(expected))
})

export const text: Kind<string> = { parse: Result.succeed }

export const secret: Kind<Redacted.Redacted<string>> = { parse: (raw) => Result.succeed(Redacted.make(raw)) }

export const hostname: Kind<string> = {
  parse: (raw) => Result.mapError(normaliseHostname(raw), (reason) => [{ expected: `a DNS hostname (it ${reason})` }])
}

/** An absolute directory (trailing slashes dropped) of A-Z a-z 0-9 _ . - /. */
export const directory: Kind<string> = {
  parse: (raw) => {
    const dir = raw.replace(/\/+$/, "")
    return isAbsolute(dir) && /^[A-Za-z0-9_./-]+$/.test(dir)
      ? Result.succeed(dir)
      : refuse("an absolute path made of A-Z a-z 0-9 _ . - /")
  }
}

export const httpUrl: Kind<string> = {
  parse: (raw) => {
    try {
      const url = new URL(raw)
      if (url.protocol === "http:" || url.protocol === "https:") return Result.succeed(raw)
    } catch {
      // not a URL
    }
    return refuse("an http:// or https:// URL")
  }
}

// ---------------------------------------------------------------------------------------------
// Reading

/** The first of the variable's names that is set, with its value (empty or blank is unset). */
const given = (
  v: Pick<Variable<unknown, never>, "name" | "aliases" | "secret">,
  env: Env
): { readonly name: string; readonly raw: string } | undefined => {
  for (const name of [v.name, ...(v.aliases ?? [])]) {
    const raw = v.secret === true ? env[name] : env[name]?.trim()
    if (raw !== undefined && raw !== "") return { name, raw }
  }
  return undefined
}

/** How one variable got its value: from which name, or its default; or not read (`when` was false). */
export interface Source {
  readonly read: boolean
  /** The name it was read from (the variable's own or an alias); undefined: the default. */
  readonly givenAs: string | undefined
}

interface Walk<S> {
  readonly values: ReadonlyMap<keyof S, unknown>
  readonly sources: ReadonlyMap<keyof S, Source>
  readonly problems: ReadonlyArray<ConfigProblem>
}

/**
 * Reads `keys` (default: every variable) of the table from `env`, and what they depend on. A
 * computed default, a condition or a rule may read any other variable (each is read once, on
 * first use).
 */
const walk = <S>(table: Table<S>, env: Env, keys: ReadonlyArray<keyof S>): Walk<S> => {
  const problems: Array<ConfigProblem> = []
  const values = new Map<keyof S, unknown>()
  const sources = new Map<keyof S, Source>()
  const reading = new Set<keyof S>()

  const read = <A>(key: keyof S, v: Variable<A, S>, get: Getter<S>): A => {
    const report = (variable: string, value: string | undefined, expected: string) =>
      problems.push({ variable, value: value !== undefined && v.secret === true ? "<redacted>" : value, expected })
    // A missing required variable is reported and has no value: the table is not returned then.
    const fallback = (reportMissing: boolean): A => {
      const f = v.fallback
      if (f._tag === "Value") return f.value
      if (f._tag === "Computed") return f.from(get)
      if (reportMissing) report(v.name, undefined, f.expected)
      return undefined as A
    }
    if (v.when !== undefined && !v.when(get)) {
      sources.set(key, { read: false, givenAs: undefined })
      return undefined as A
    }
    const found = given(v, env)
    sources.set(key, { read: true, givenAs: found?.name })
    let result: A
    if (found === undefined) {
      result = fallback(true)
    } else {
      const parsed = v.kind.parse(found.raw)
      if (Result.isSuccess(parsed)) {
        result = parsed.success
      } else {
        for (const issue of parsed.failure) report(issue.variable ?? found.name, issue.value ?? found.raw, issue.expected)
        result = fallback(false)
      }
    }
    const broken = result === undefined ? undefined : v.check?.(result, get)
    if (broken !== undefined) report(found?.name ?? v.name, String(result), broken)
    return result
  }

  const get: Getter<S> = (key) => {
    if (values.has(key)) return values.get(key) as S[typeof key]
    if (reading.has(key)) throw new Error(`configuration table: ${String(key)} depends on itself`)
    reading.add(key)
    const result = read(key, table[key], get)
    values.set(key, result)
    return result
  }

  for (const key of keys) get(key)
  return { values, sources, problems }
}

const allKeys = <S>(table: Table<S>): ReadonlyArray<keyof S> => Object.keys(table) as Array<keyof S>

/** Every variable of the table read from `env`: the values, or every problem found. */
export const readTable = <S>(table: Table<S>, env: Env): Result.Result<S, ReadonlyArray<ConfigProblem>> => {
  const { problems, values } = walk(table, env, allKeys(table))
  return problems.length > 0 ? Result.fail(problems) : Result.succeed(Object.fromEntries(values) as S)
}

/**
 * Only `keys` of the table (and what their defaults, conditions and rules read), for a command
 * that needs a few variables and must not fail on the others.
 */
export const readSome = <S, K extends keyof S>(
  table: Table<S>,
  env: Env,
  keys: ReadonlyArray<K>
): Result.Result<Pick<S, K>, ReadonlyArray<ConfigProblem>> => {
  const { problems, values } = walk(table, env, keys)
  return problems.length > 0
    ? Result.fail(problems)
    : Result.succeed(Object.fromEntries(keys.map((k) => [k, values.get(k)])) as Pick<S, K>)
}

/** One variable as the configuration in effect shows it. */
export interface Effective {
  readonly name: string
  /** The value as JSON data (a secret is "<redacted>", unset is undefined). */
  readonly value: unknown
  readonly secret: boolean
  readonly source: Source
}

/** Every variable of the table with its value in effect and where it came from; or every problem. */
export const effectiveTable = <S>(table: Table<S>, env: Env): Result.Result<ReadonlyArray<Effective>, ReadonlyArray<ConfigProblem>> => {
  const { problems, values, sources } = walk(table, env, allKeys(table))
  if (problems.length > 0) return Result.fail(problems)
  return Result.succeed(allKeys(table).map((key) => {
    const v = table[key]
    const raw = values.get(key) as S[typeof key]
    return {
      name: v.name,
      value: raw === undefined ? undefined : v.secret === true ? "<redacted>" : v.kind.encode !== undefined ? v.kind.encode(raw) : raw,
      secret: v.secret === true,
      source: sources.get(key) ?? { read: false, givenAs: undefined }
    }
  }))
}
