/**
 * Cloud Map service and instance attributes under `haproxy.` -> ServiceOptions and server
 * weights, pure. A typed allow-list: every value is decoded with a Schema of exactly what it may
 * be (literals, bounded numbers, durations, narrow grammars for paths, status lists, cookie and
 * host names), so nothing reaches haproxy.cfg verbatim that could change its meaning. What does
 * not decode is ignored with a reason (the default applies, the service keeps routing); an
 * unknown key is reported with the closest known one.
 */
import { Result, Schema } from "effect"
import { closest } from "../model/closest.ts"
import { normaliseHostname, quote } from "../model/grammar.ts"
import {
  type Balance,
  type BackendProtocol,
  DEFAULT_CHECK_INTERVAL_MS,
  DEFAULT_OPTIONS,
  DEFAULT_WEIGHT,
  MAX_WEIGHT,
  OPTION_PREFIX,
  type ServiceOptions
} from "../model/service-options.ts"
import type { RoutingMode } from "../model/snapshot.ts"

/** A service's namespace mapping, which some options depend on. */
export interface OptionContext {
  readonly mode: RoutingMode
  /** The namespace's domain, normalised. */
  readonly domain: string
}

export interface OptionProblem {
  readonly key: string
  readonly reason: string
}

export interface DecodedOptions {
  readonly options: ServiceOptions
  readonly ignored: ReadonlyArray<OptionProblem>
}

/** Decodes `raw` with `schema`; a failure says what was expected and what was given. */
const decodeWith = <A>(schema: Schema.Codec<A, unknown>, raw: string, expected: string): Result.Result<A, string> =>
  Result.mapError(Schema.decodeUnknownResult(schema)(raw), () => `expected ${expected}, got ${quote(raw)}`)

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const
const DURATION = /^([0-9]{1,9})(ms|s|m|h)$/
const DurationText = Schema.String.check(Schema.makeFilter((s: string) => DURATION.test(s)))

/** `500ms`, `10s`, `1m`, `1h` -> milliseconds within [min, max]. */
const duration = (raw: string, minMs: number, maxMs: number, bounds: string): Result.Result<number, string> =>
  Result.flatMap(decodeWith(DurationText, raw, `a duration such as 500ms, 10s, 1m or 1h (${bounds})`), (text) => {
    const [, n, unit] = DURATION.exec(text)!
    const ms = Number(n) * UNIT_MS[unit as keyof typeof UNIT_MS]
    return ms >= minMs && ms <= maxMs ? Result.succeed(ms) : Result.fail(`${quote(raw)} is out of range (${bounds})`)
  })

const integer = (raw: string, min: number, max: number): Result.Result<number, string> =>
  Result.flatMap(
    decodeWith(Schema.String.check(Schema.makeFilter((s: string) => /^[0-9]{1,7}$/.test(s))), raw, `an integer ${min}-${max}`),
    (text) => {
      const n = Number(text)
      return n >= min && n <= max ? Result.succeed(n) : Result.fail(`expected an integer ${min}-${max}, got ${quote(raw)}`)
    }
  )

const literal = <L extends string>(raw: string, values: readonly [L, ...Array<L>]): Result.Result<L, string> =>
  decodeWith(Schema.Literals(values), raw, `one of ${values.join(", ")}`)

/** An absolute path and optional query of URL-safe characters (percent-encoding allowed). */
const CHECK_PATH = /^\/(?:[A-Za-z0-9._~/-]|%[0-9A-Fa-f]{2})*(?:\?(?:[A-Za-z0-9._~=&-]|%[0-9A-Fa-f]{2})*)?$/
const CheckPath = Schema.String.check(Schema.makeFilter((s: string) => s.length <= 200 && CHECK_PATH.test(s)))

/** `200`, `200-399`, `200,204,300-302`: HTTP status codes and ranges, at most 10 items. */
const statusList = (raw: string): Result.Result<string, string> => {
  const expected = "HTTP status codes or ranges such as 200-399 or 200,204 (100-599, at most 10)"
  return Result.flatMap(
    decodeWith(Schema.String.check(Schema.makeFilter((s: string) => /^[0-9]{3}(?:-[0-9]{3})?(?:,[0-9]{3}(?:-[0-9]{3})?){0,9}$/.test(s))), raw, expected),
    (text) => {
      for (const item of text.split(",")) {
        const [lo, hi = lo] = item.split("-").map(Number) as [number, number?]
        if (lo < 100 || hi! > 599 || lo > hi!) return Result.fail(`expected ${expected}, got ${quote(raw)}`)
      }
      return Result.succeed(text)
    }
  )
}

const CookieName = Schema.String.check(Schema.makeFilter((s: string) => /^[A-Za-z0-9_-]{1,64}$/.test(s)))

/** Extra host names: comma-separated, each strictly under the namespace's domain, at most 10. */
const extraHosts = (raw: string, context: OptionContext): Result.Result<ReadonlyArray<string>, string> => {
  if (context.mode !== "host") return Result.fail("extra host names apply to host-mode namespaces only")
  const names = raw.split(",").map((s) => s.trim()).filter((s) => s !== "")
  if (names.length === 0 || names.length > 10) return Result.fail(`expected 1-10 comma-separated host names, got ${quote(raw)}`)
  const hosts: Array<string> = []
  for (const name of names) {
    const host = normaliseHostname(name)
    if (Result.isFailure(host)) return Result.fail(`host ${quote(name)} ${host.failure}`)
    if (!host.success.endsWith(`.${context.domain}`)) {
      return Result.fail(`host ${quote(name)} is not under the namespace's domain ${context.domain}`)
    }
    if (!hosts.includes(host.success)) hosts.push(host.success)
  }
  return Result.succeed(hosts)
}

type Draft = {
  -readonly [K in keyof ServiceOptions]: ServiceOptions[K]
}

/** What one key sets, given its raw value; a failure is the reason it is ignored. */
type Setter = (raw: string, draft: Draft, context: OptionContext) => Result.Result<void, string>

const set = <A>(decoded: Result.Result<A, string>, apply: (a: A) => void): Result.Result<void, string> =>
  Result.map(decoded, apply)

const TIMEOUT_BOUNDS = "1ms to 7 days"
const MAX_TIMEOUT_MS = 7 * 86_400_000

/** The service options, by key without the prefix. Settings of the check are applied after `check`. */
const SERVICE_KEYS: Readonly<Record<string, Setter>> = {
  "check": (raw, d) => set(literal(raw, ["tcp", "http"]), (v) => {
    d.check = v === "http"
      ? { _tag: "Http", intervalMs: d.check.intervalMs, path: "/", status: "200-399" }
      : { _tag: "Tcp", intervalMs: d.check.intervalMs }
  }),
  "check.interval": (raw, d) =>
    set(duration(raw, 100, 3_600_000, "100ms to 1h"), (ms) => {
      d.check = { ...d.check, intervalMs: ms }
    }),
  "check.path": (raw, d) =>
    d.check._tag !== "Http"
      ? Result.fail("applies only with haproxy.check=http")
      : set(decodeWith(CheckPath, raw, "an absolute path such as /health (URL-safe characters, at most 200)"), (path) => {
        d.check = { ...d.check as Extract<Draft["check"], { _tag: "Http" }>, path }
      }),
  "check.status": (raw, d) =>
    d.check._tag !== "Http"
      ? Result.fail("applies only with haproxy.check=http")
      : set(statusList(raw), (status) => {
        d.check = { ...d.check as Extract<Draft["check"], { _tag: "Http" }>, status }
      }),
  "timeout.server": (raw, d) => set(duration(raw, 1, MAX_TIMEOUT_MS, TIMEOUT_BOUNDS), (ms) => (d.timeoutServerMs = ms)),
  "timeout.connect": (raw, d) => set(duration(raw, 1, MAX_TIMEOUT_MS, TIMEOUT_BOUNDS), (ms) => (d.timeoutConnectMs = ms)),
  "timeout.tunnel": (raw, d) => set(duration(raw, 1, MAX_TIMEOUT_MS, TIMEOUT_BOUNDS), (ms) => (d.timeoutTunnelMs = ms)),
  "balance": (raw, d) =>
    set(literal<Balance>(raw, ["roundrobin", "leastconn", "random", "source"]), (v) => (d.balance = v)),
  "maxconn": (raw, d) => set(integer(raw, 1, 100_000), (n) => (d.maxconn = n)),
  "protocol": (raw, d) => set(literal<BackendProtocol>(raw, ["http1", "h2c"]), (v) => (d.protocol = v)),
  "cookie": (raw, d) => set(decodeWith(CookieName, raw, "a cookie name of 1-64 of [A-Za-z0-9_-]"), (v) => (d.cookie = v)),
  "hosts": (raw, d, context) => set(extraHosts(raw, context), (hosts) => (d.hosts = hosts)),
  "path.strip": (raw, d, context) =>
    context.mode !== "path"
      ? Result.fail("applies to path-mode namespaces only")
      : set(literal(raw, ["true", "false"]), (v) => (d.stripPath = v === "true"))
}

/** The per-instance option. */
const WEIGHT_KEY = `${OPTION_PREFIX}weight`

/** Every key a service may carry, with the prefix (for suggestions and docs). */
export const SERVICE_OPTION_KEYS: ReadonlyArray<string> = Object.keys(SERVICE_KEYS).map((k) => OPTION_PREFIX + k)

/**
 * Keys under the prefix, in an order where `check` comes before its settings. The prefix is
 * matched in any case, so `HAPROXY.check` is reported (with the lowercase key) rather than
 * silently ignored.
 */
const optionKeys = (attributes: Readonly<Record<string, string>>): Array<string> =>
  Object.keys(attributes).filter((k) => k.toLowerCase().startsWith(OPTION_PREFIX)).sort()

const unknownKey = (key: string, known: ReadonlyArray<string>): string => {
  const suggestion = closest(key, known)
  return suggestion === undefined ? `unknown option (known: ${known.join(", ")})` : `unknown option; did you mean ${suggestion}?`
}

/**
 * Decoded options by attribute record (as read from Cloud Map, kept until the next read) and
 * context: every plan decodes every service, so a record is decoded once, and an unchanged
 * service keeps the very same options object (diff.ts compares it by reference first).
 */
const decoded = new WeakMap<object, Map<string, DecodedOptions>>()

/** A service's options from its attributes; undefined attributes give the defaults. Memoised. */
export const decodeServiceOptions = (
  attributes: Readonly<Record<string, string>> | undefined,
  context: OptionContext
): DecodedOptions => {
  if (attributes === undefined) return NO_OPTIONS
  const key = `${context.mode}\u0000${context.domain}`
  let byContext = decoded.get(attributes)
  if (byContext === undefined) decoded.set(attributes, byContext = new Map())
  const known = byContext.get(key)
  if (known !== undefined) return known
  const result = decodeOptions(attributes, context)
  byContext.set(key, result)
  return result
}

const NO_OPTIONS: DecodedOptions = { options: DEFAULT_OPTIONS, ignored: [] }

const decodeOptions = (attributes: Readonly<Record<string, string>>, context: OptionContext): DecodedOptions => {
  const draft: Draft = { ...DEFAULT_OPTIONS, check: { _tag: "Tcp", intervalMs: DEFAULT_CHECK_INTERVAL_MS } }
  const ignored: Array<OptionProblem> = []
  for (const key of optionKeys(attributes)) {
    const raw = attributes[key]!
    if (key === WEIGHT_KEY) {
      ignored.push({ key, reason: "a per-instance option: set it on the instances (RegisterInstance attributes)" })
      continue
    }
    const setter = key.startsWith(OPTION_PREFIX) ? SERVICE_KEYS[key.slice(OPTION_PREFIX.length)] : undefined
    if (setter === undefined) {
      ignored.push({ key, reason: unknownKey(key, SERVICE_OPTION_KEYS) })
      continue
    }
    const applied = setter(raw, draft, context)
    if (Result.isFailure(applied)) ignored.push({ key, reason: applied.failure })
  }
  return { options: draft, ignored }
}

/** An instance's weight (`haproxy.weight`, 0-256); a bad value or unknown key is reported. */
export const decodeInstanceWeight = (
  attributes: Readonly<Record<string, string>>
): { readonly weight: number; readonly ignored: ReadonlyArray<OptionProblem> } => {
  let weight = DEFAULT_WEIGHT
  const ignored: Array<OptionProblem> = []
  for (const key of optionKeys(attributes)) {
    if (key !== WEIGHT_KEY) {
      ignored.push({ key, reason: unknownKey(key, [WEIGHT_KEY]) + " (instances take only haproxy.weight)" })
      continue
    }
    const decoded = integer(attributes[key]!, 0, MAX_WEIGHT)
    if (Result.isFailure(decoded)) ignored.push({ key, reason: decoded.failure })
    else weight = decoded.success
  }
  return { weight, ignored }
}
