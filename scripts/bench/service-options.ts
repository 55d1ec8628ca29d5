/**
 * `--options` of bench:churn and bench:scale: ONE set of per-service routing options (Cloud Map
 * service attributes under `haproxy.`, see docs/routing-options.md) set on every service,
 * and one per-instance option set on every instance the benches register. Both benches use this
 * set and name it in their BENCHMARKS.md sections.
 *
 * Not in the set, on purpose: `haproxy.cookie` (a sticky service reloads on every added instance,
 * by design: HAProxy 2.6 takes no cookie on a server added at runtime) and zone affinity (it keeps
 * new instances of other zones idle, which the convergence measurement cannot see).
 *
 * The check is `GET /`: the benches' backends (scripts/churn/echo-backend.ts, scripts/bench/sink.ts)
 * answer it with 200. After ready, `verifyAppliedOptions` reads the agent's `/status` and fails the
 * run unless every route carries exactly these options and every instance this weight.
 */
import { BENCH_DOMAIN } from "./agent.ts"
import { DEFAULT_OPTIONS, decodeHostServiceOptions, decodeInstanceWeight, type ServiceOptions } from "./adapters/plan-render.ts"
import type { HttpAnswer } from "./net.ts"

/** Service attributes of every service. */
export const BENCH_SERVICE_OPTIONS: Readonly<Record<string, string>> = {
  "haproxy.check": "http",
  "haproxy.check.path": "/",
  "haproxy.check.interval": "2s",
  "haproxy.timeout.server": "60s",
  "haproxy.timeout.connect": "3s",
  "haproxy.timeout.tunnel": "1h",
  "haproxy.balance": "leastconn",
  "haproxy.maxconn": "200",
  "haproxy.protocol": "http1"
}

/** Attributes added to every instance the benches register (fixture and RegisterInstance). */
export const BENCH_INSTANCE_OPTIONS: Readonly<Record<string, string>> = { "haproxy.weight": "10" }

/** What the agent must show on every route: the decoded set (a typo here fails at load, not mid-run). */
const decoded = decodeHostServiceOptions(BENCH_SERVICE_OPTIONS, BENCH_DOMAIN)
const decodedWeight = decodeInstanceWeight(BENCH_INSTANCE_OPTIONS)
if (decoded.ignored.length + decodedWeight.ignored.length > 0) {
  throw new Error(`the bench option set does not decode: ${JSON.stringify([...decoded.ignored, ...decodedWeight.ignored])}`)
}
if (decoded.options.check._tag !== "Http") throw new Error("the bench option set must use an HTTP check")
const EXPECTED_WEIGHT = decodedWeight.weight

/** The options that differ from the defaults, as `/status` lists them per route. */
const EXPECTED: Partial<ServiceOptions> = Object.fromEntries(
  Object.entries(decoded.options).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(DEFAULT_OPTIONS[k as keyof ServiceOptions]))
)

/** `haproxy.check=http, haproxy.check.path=/, …; every instance haproxy.weight=10` (for reports and logs). */
export const OPTIONS_TEXT = `${Object.entries(BENCH_SERVICE_OPTIONS).map(([k, v]) => `\`${k}=${v}\``).join(", ")}; ` +
  `every instance ${Object.entries(BENCH_INSTANCE_OPTIONS).map(([k, v]) => `\`${k}=${v}\``).join(", ")}`

/** The heading suffix of a section written with `--options` (a section of its own, next to the default one). */
export const OPTIONS_TITLE_SUFFIX = " (options on every service)"

/** An instance's attributes with the bench's instance options when `on`. */
export const withInstanceOptions = (attributes: Readonly<Record<string, string>>, on: boolean): Record<string, string> =>
  on ? { ...attributes, ...BENCH_INSTANCE_OPTIONS } : { ...attributes }

interface StatusRoute {
  readonly route: string
  readonly options: Record<string, unknown>
  readonly instances: ReadonlyArray<{ readonly id: string; readonly weight: number }>
}

/**
 * Reads `/status` through `get` and throws, naming the first offenders, unless there are routes,
 * no ignored option, every route's options are exactly the set's (`options.check._tag` "Http"
 * among them) and every instance has the set's weight. Returns a one-line summary.
 */
export const verifyAppliedOptions = async (get: (path: string) => Promise<HttpAnswer | undefined>, label: string): Promise<string> => {
  const r = await get("/status")
  if (r === undefined || r.status !== 200) throw new Error(`${label}: --options: /status did not answer (${r?.status ?? "no answer"})`)
  const status = JSON.parse(r.body) as { routes: ReadonlyArray<StatusRoute>; ignoredOptions: ReadonlyArray<unknown> }
  const problems: Array<string> = []
  if (status.routes.length === 0) problems.push("no routes")
  if (status.ignoredOptions.length > 0) problems.push(`ignoredOptions: ${JSON.stringify(status.ignoredOptions.slice(0, 5))}`)
  let instances = 0
  for (const route of status.routes) {
    const check = route.options["check"] as { _tag?: string } | undefined
    if (check?._tag !== "Http") problems.push(`${route.route}: options.check is ${JSON.stringify(check ?? "the default")}, not Http`)
    const keys = new Set([...Object.keys(route.options), ...Object.keys(EXPECTED)])
    const wrong = [...keys].filter((k) => JSON.stringify(route.options[k]) !== JSON.stringify(EXPECTED[k as keyof ServiceOptions]))
    if (wrong.length > 0) problems.push(`${route.route}: ${wrong.map((k) => `${k} ${JSON.stringify(route.options[k])}`).join(", ")}; expected ${JSON.stringify(EXPECTED)}`)
    for (const i of route.instances) {
      instances++
      if (i.weight !== EXPECTED_WEIGHT) problems.push(`${route.route}/${i.id}: weight ${i.weight}, expected ${EXPECTED_WEIGHT}`)
    }
  }
  if (problems.length > 0) {
    throw new Error(`${label}: --options were NOT applied as set (${problems.length} problems), first ones:\n  ${problems.slice(0, 10).join("\n  ")}`)
  }
  return `${label}: --options applied: ${status.routes.length} routes with an HTTP check and the whole set, ${instances} instances at weight ${EXPECTED_WEIGHT}, no ignored option`
}

