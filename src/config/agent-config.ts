/**
 * The agent's configuration, read from the environment. Variable names of the original image
 * (AWS_REGION, NAMESPACE_MAP, DEFAULT_DOMAIN, REFRESH_RATE, APPLY_MODE, STATS_PASSWD, PROM_PASSWD)
 * are kept so existing ECS task definitions keep working.
 *
 * `readAgentConfig` is pure: it takes an env record and returns either the config or EVERY
 * problem found (variable, offending value — never a secret — and what is expected).
 */
import { availableParallelism } from "node:os"
import { isAbsolute } from "node:path"
import { Redacted, Result, Schema } from "effect"
import { normaliseHostname, quote } from "../model/grammar.ts"
import type { HealthFilter, NamespaceMapping } from "../model/snapshot.ts"

export type LogLevel = "debug" | "info" | "warn" | "error"

export interface Credentials {
  readonly user: string
  readonly password: Redacted.Redacted<string>
}

export interface AgentConfig {
  readonly region: string
  readonly namespaces: ReadonlyArray<NamespaceMapping>
  readonly defaultDomain: string | undefined
  readonly refreshSeconds: number
  readonly applyMode: "on" | "off"
  readonly stats: Credentials | undefined
  readonly metrics: Credentials | undefined
  readonly listenAddress: string
  readonly listenPort: number
  readonly configDir: string
  readonly haproxyBin: string
  readonly nbthread: number
  readonly hardStopAfterSeconds: number
  readonly healthAddress: string
  readonly healthPort: number
  readonly logLevel: LogLevel
  readonly healthFilter: HealthFilter
  readonly defaultInstancePort: number | undefined
  readonly cloudMap: {
    /** Custom endpoint (AWS_ENDPOINT_URL_SERVICEDISCOVERY or AWS_ENDPOINT_URL); undefined = AWS. */
    readonly endpoint: string | undefined
    readonly concurrency: number
    readonly requestsPerSecond: number
    readonly timeoutSeconds: number
    readonly maxAttempts: number
  }
  readonly reloadMinIntervalSeconds: number
  /** Opt-in: /readyz fails when Cloud Map was not read for this long; undefined = never. */
  readonly readyMaxStalenessSeconds: number | undefined
  readonly drainSeconds: number
  readonly restartHaproxy: boolean
  readonly revisionPollSeconds: number
  readonly serviceListSeconds: number
  readonly maxRemovalPercent: number
}

export interface ConfigProblem {
  readonly variable: string
  /** The offending value as given; "<redacted>" for secrets; undefined when missing. */
  readonly value: string | undefined
  readonly expected: string
}

export type Env = Readonly<Record<string, string | undefined>>

/** Every variable the agent reads, with its default and meaning (the README table is built from this). */
export const VARIABLES: ReadonlyArray<{ readonly name: string; readonly default: string; readonly meaning: string }> = [
  { name: "AWS_REGION", default: "required", meaning: "Region of the Cloud Map namespaces (AWS_DEFAULT_REGION is accepted too)." },
  { name: "NAMESPACE_MAP", default: "required", meaning: "JSON array of {\"namespace\", \"domainname\", \"mode\": \"host\"|\"path\"} (mode defaults to host)." },
  { name: "DEFAULT_DOMAIN", default: "unset", meaning: "Unknown hosts are redirected (302) to http://<DEFAULT_DOMAIN>; unset gives 404." },
  { name: "REFRESH_RATE", default: "5", meaning: "Longest time in seconds between two DiscoverInstances reads of a service. Health changes do not change a service's InstancesRevision, so this bounds how long one takes to be seen. Reads are spread over the polling rounds." },
  { name: "APPLY_MODE", default: "on", meaning: "on: apply to HAProxy; off: only log what would change." },
  { name: "STATS_ENABLED", default: "true", meaning: "Serve HAProxy's stats page at /stats (basic auth)." },
  { name: "STATS_USER", default: "stats_user", meaning: "User name for /stats." },
  { name: "STATS_PASSWD", default: "required when stats enabled", meaning: "Password for /stats (stored hashed with SHA-512-crypt)." },
  { name: "METRICS_ENABLED", default: "true", meaning: "Serve HAProxy's Prometheus exporter at /metrics (basic auth)." },
  { name: "PROM_USER", default: "stats", meaning: "User name for /metrics." },
  { name: "PROM_PASSWD", default: "required when metrics enabled", meaning: "Password for /metrics (stored hashed with SHA-512-crypt)." },
  { name: "LISTEN_ADDRESS", default: "*", meaning: "Address HAProxy's HTTP frontend binds to." },
  { name: "LISTEN_PORT", default: "80", meaning: "HAProxy's HTTP port." },
  { name: "CONFIG_DIR", default: "/var/lib/cloudmap-haproxy", meaning: "Absolute directory for haproxy.cfg, map files, sockets and rejected candidates." },
  { name: "HAPROXY_BIN", default: "haproxy", meaning: "HAProxy executable (looked up in PATH)." },
  { name: "HAPROXY_NBTHREAD", default: "CPUs this process may use, at most 4", meaning: "HAProxy worker threads (set explicitly: memory grows per thread)." },
  { name: "HARD_STOP_AFTER", default: "60", meaning: "Seconds an old HAProxy worker may live after a reload or stop." },
  { name: "HEALTH_ADDRESS", default: "127.0.0.1", meaning: "Address of the agent's /healthz /readyz /metrics /status (0.0.0.0 for ALB health checks)." },
  { name: "HEALTH_PORT", default: "3000", meaning: "Port of the agent's own endpoints." },
  { name: "LOG_LEVEL", default: "info", meaning: "debug, info, warn or error (JSON lines on stdout)." },
  { name: "HEALTH_FILTER", default: "HEALTHY_OR_ELSE_ALL", meaning: "Cloud Map HealthStatus filter: HEALTHY, HEALTHY_OR_ELSE_ALL (fail open) or ALL." },
  { name: "DEFAULT_INSTANCE_PORT", default: "unset", meaning: "Port for instances registered without AWS_INSTANCE_PORT (awsvpc A records); unset quarantines them." },
  { name: "CLOUDMAP_CONCURRENCY", default: "8", meaning: "Cloud Map requests in flight at most." },
  { name: "CLOUDMAP_RATE_LIMIT", default: "100", meaning: "Cloud Map requests per second at most (client-side token bucket; the account quota is shared)." },
  { name: "CLOUDMAP_TIMEOUT", default: "10", meaning: "Seconds before one Cloud Map request is abandoned and retried." },
  { name: "CLOUDMAP_MAX_ATTEMPTS", default: "4", meaning: "Attempts per Cloud Map request (throttling, 5xx and timeouts are retried with jittered backoff)." },
  { name: "AWS_ENDPOINT_URL_SERVICEDISCOVERY", default: "unset", meaning: "Custom Cloud Map endpoint (e.g. the bundled mock); AWS_ENDPOINT_URL also works." },
  { name: "RELOAD_MIN_INTERVAL", default: "5", meaning: "Seconds between two HAProxy reloads at least (changes are coalesced)." },
  { name: "READY_MAX_STALENESS", default: "unset (off)", meaning: "Opt-in: /readyz fails when Cloud Map was last read successfully longer ago than this many seconds. Off by default: every replica would fail together in a Cloud Map outage; alarm on cloudmap_haproxy_last_successful_read_age_seconds instead." },
  { name: "DRAIN_SECONDS", default: "20", meaning: "On SIGTERM: seconds HAProxy may drain in-flight requests before it is stopped." },
  { name: "HAPROXY_RESTART", default: "false", meaning: "Restart HAProxy when it dies instead of exiting (non-zero) so the orchestrator replaces the task." },
  { name: "REVISION_POLL_RATE", default: "2", meaning: "Seconds between polling rounds. In a round every service gets DiscoverInstancesRevision (or DiscoverInstances when its REFRESH_RATE read is due) and is re-read if its revision changed." },
  { name: "SERVICE_LIST_RATE", default: "10", meaning: "Seconds between re-listing namespaces and services (new and deleted services)." },
  { name: "MAX_REMOVAL_PERCENT", default: "50", meaning: "At most this share of a service's instances may disappear in one step; larger drops are held back and reported." }
]

const SECRETS = new Set(["STATS_PASSWD", "PROM_PASSWD"])

const NamespaceMapEntry = Schema.Struct({
  namespace: Schema.NonEmptyString,
  domainname: Schema.NonEmptyString,
  mode: Schema.optionalKey(Schema.Literals(["host", "path"]))
})
const NamespaceMapJson = Schema.fromJsonString(Schema.Array(NamespaceMapEntry))

/** Collects problems while reading variables one by one, so all of them are reported at once. */
class Reader {
  readonly problems: Array<ConfigProblem> = []
  readonly env: Env
  constructor(env: Env) {
    this.env = env
  }

  raw(name: string): string | undefined {
    const value = this.env[name]
    return value === undefined || value.trim() === "" ? undefined : value.trim()
  }

  problem(variable: string, value: string | undefined, expected: string): undefined {
    this.problems.push({ variable, value: value !== undefined && SECRETS.has(variable) ? "<redacted>" : value, expected })
    return undefined
  }

  required(name: string, expected: string): string | undefined {
    return this.raw(name) ?? this.problem(name, undefined, expected)
  }

  number(name: string, fallback: number, opts: { min: number; max: number; integer?: boolean }): number {
    const value = this.raw(name)
    if (value === undefined) return fallback
    const n = /^[0-9]+(\.[0-9]+)?$/.test(value) ? Number(value) : Number.NaN
    const kind = opts.integer ? "an integer" : "a number"
    if (!Number.isFinite(n) || n < opts.min || n > opts.max || (opts.integer && !Number.isInteger(n))) {
      this.problem(name, value, `${kind} from ${opts.min} to ${opts.max}`)
      return fallback
    }
    return n
  }

  optionalInteger(name: string, min: number, max: number): number | undefined {
    return this.raw(name) === undefined ? undefined : this.number(name, min, { min, max, integer: true })
  }

  choice<A extends string>(name: string, fallback: A, choices: ReadonlyArray<A>, normalise = (s: string) => s): A {
    const value = this.raw(name)
    if (value === undefined) return fallback
    const found = choices.find((c) => c === normalise(value))
    if (found === undefined) this.problem(name, value, `one of ${choices.join(", ")}`)
    return found ?? fallback
  }

  boolean(name: string, fallback: boolean): boolean {
    const value = this.raw(name)
    if (value === undefined) return fallback
    const v = value.toLowerCase()
    if (["true", "1", "yes", "on"].includes(v)) return true
    if (["false", "0", "no", "off"].includes(v)) return false
    this.problem(name, value, "true or false")
    return fallback
  }

  hostname(name: string, value: string | undefined): string | undefined {
    if (value === undefined) return undefined
    const checked = normaliseHostname(value)
    return Result.isSuccess(checked) ? checked.success : this.problem(name, value, `a DNS hostname (it ${checked.failure})`)
  }

  credentials(enabledVar: string, userVar: string, defaultUser: string, passwordVar: string): Credentials | undefined {
    if (!this.boolean(enabledVar, true)) return undefined
    const user = this.raw(userVar) ?? defaultUser
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(user)) this.problem(userVar, user, "1-64 characters from A-Z a-z 0-9 _ . -")
    const password = this.env[passwordVar]
    if (password === undefined || password === "") {
      return this.problem(passwordVar, undefined, `a password (or set ${enabledVar}=false to turn that page off)`)
    }
    return { user, password: Redacted.make(password) }
  }

  namespaceMap(): ReadonlyArray<NamespaceMapping> {
    const value = this.required(
      "NAMESPACE_MAP",
      "a JSON array like [{\"namespace\":\"apps\",\"domainname\":\"example.com\",\"mode\":\"host\"}]"
    )
    if (value === undefined) return []
    const decoded = Schema.decodeUnknownResult(NamespaceMapJson)(value)
    if (Result.isFailure(decoded)) {
      this.problem(
        "NAMESPACE_MAP",
        value,
        `a JSON array of {"namespace": string, "domainname": hostname, "mode": "host"|"path"} (${
          decoded.failure.message.replace(/\s+/g, " ")
        })`
      )
      return []
    }
    if (decoded.success.length === 0) this.problem("NAMESPACE_MAP", value, "at least one namespace")
    const mappings: Array<NamespaceMapping> = []
    decoded.success.forEach((entry, i) => {
      const domain = this.hostname(`NAMESPACE_MAP[${i}].domainname`, entry.domainname)
      if (domain !== undefined) mappings.push({ namespace: entry.namespace, domain, mode: entry.mode ?? "host" })
    })
    const seen = new Set<string>()
    for (const m of mappings) {
      const key = `${m.namespace} ${m.domain} ${m.mode}`
      if (seen.has(key)) this.problem("NAMESPACE_MAP", value, `no duplicate entries (${quote(m.namespace)} → ${m.domain} twice)`)
      seen.add(key)
    }
    return mappings
  }

  endpoint(): string | undefined {
    for (const name of ["AWS_ENDPOINT_URL_SERVICEDISCOVERY", "AWS_ENDPOINT_URL"]) {
      const value = this.raw(name)
      if (value === undefined) continue
      try {
        const url = new URL(value)
        if (url.protocol === "http:" || url.protocol === "https:") return value
      } catch {
        // reported below
      }
      this.problem(name, value, "an http:// or https:// URL")
      return undefined
    }
    return undefined
  }
}

export const readAgentConfig = (env: Env): Result.Result<AgentConfig, ReadonlyArray<ConfigProblem>> => {
  const r = new Reader(env)
  const region = r.raw("AWS_REGION") ?? r.raw("AWS_DEFAULT_REGION") ??
    r.problem("AWS_REGION", undefined, "the AWS region of the Cloud Map namespaces, e.g. us-east-1")
  if (region !== undefined && !/^[a-z]{2}(-[a-z]+)+-[0-9]+$/.test(region)) {
    r.problem("AWS_REGION", region, "an AWS region name such as us-east-1")
  }
  const namespaces = r.namespaceMap()
  const defaultDomain = r.hostname("DEFAULT_DOMAIN", r.raw("DEFAULT_DOMAIN"))
  const refreshSeconds = r.number("REFRESH_RATE", 5, { min: 1, max: 86_400 })
  const applyMode = r.choice("APPLY_MODE", "on", ["on", "off"], (s) => s.toLowerCase())
  const stats = r.credentials("STATS_ENABLED", "STATS_USER", "stats_user", "STATS_PASSWD")
  const metrics = r.credentials("METRICS_ENABLED", "PROM_USER", "stats", "PROM_PASSWD")
  const listenAddress = r.raw("LISTEN_ADDRESS") ?? "*"
  if (listenAddress !== "*" && !/^[0-9a-f.:]+$/i.test(listenAddress)) {
    r.problem("LISTEN_ADDRESS", listenAddress, "* or an IPv4/IPv6 address")
  }
  const listenPort = r.number("LISTEN_PORT", 80, { min: 1, max: 65_535, integer: true })
  const configDir = (r.raw("CONFIG_DIR") ?? "/var/lib/cloudmap-haproxy").replace(/\/+$/, "")
  if (!isAbsolute(configDir) || !/^[A-Za-z0-9_./-]+$/.test(configDir)) {
    r.problem("CONFIG_DIR", configDir, "an absolute path made of A-Z a-z 0-9 _ . - /")
  }
  const haproxyBin = r.raw("HAPROXY_BIN") ?? "haproxy"
  const nbthread = r.number("HAPROXY_NBTHREAD", Math.max(1, Math.min(4, availableParallelism())), { min: 1, max: 64, integer: true })
  const hardStopAfterSeconds = r.number("HARD_STOP_AFTER", 60, { min: 1, max: 86_400, integer: true })
  const healthAddress = r.raw("HEALTH_ADDRESS") ?? "127.0.0.1"
  if (!/^[0-9a-f.:]+$/i.test(healthAddress)) r.problem("HEALTH_ADDRESS", healthAddress, "an IPv4/IPv6 address")
  const healthPort = r.number("HEALTH_PORT", 3000, { min: 1, max: 65_535, integer: true })
  if (healthPort === listenPort) r.problem("HEALTH_PORT", String(healthPort), "a port other than LISTEN_PORT")
  const logLevel = r.choice("LOG_LEVEL", "info", ["debug", "info", "warn", "error"], (s) => s.toLowerCase())
  const healthFilter = r.choice(
    "HEALTH_FILTER",
    "HEALTHY_OR_ELSE_ALL",
    ["HEALTHY", "HEALTHY_OR_ELSE_ALL", "ALL"],
    (s) => s.toUpperCase()
  )
  const defaultInstancePort = r.optionalInteger("DEFAULT_INSTANCE_PORT", 1, 65_535)
  const cloudMap = {
    endpoint: r.endpoint(),
    concurrency: r.number("CLOUDMAP_CONCURRENCY", 8, { min: 1, max: 256, integer: true }),
    requestsPerSecond: r.number("CLOUDMAP_RATE_LIMIT", 100, { min: 1, max: 2_000 }),
    timeoutSeconds: r.number("CLOUDMAP_TIMEOUT", 10, { min: 1, max: 300 }),
    maxAttempts: r.number("CLOUDMAP_MAX_ATTEMPTS", 4, { min: 1, max: 20, integer: true })
  }
  const reloadMinIntervalSeconds = r.number("RELOAD_MIN_INTERVAL", 5, { min: 0, max: 3_600 })
  const readyMaxStalenessSeconds = r.raw("READY_MAX_STALENESS") === undefined
    ? undefined
    : r.number("READY_MAX_STALENESS", 0, { min: 1, max: 86_400 * 7 })
  const drainSeconds = r.number("DRAIN_SECONDS", 20, { min: 0, max: 3_600 })
  const restartHaproxy = r.boolean("HAPROXY_RESTART", false)
  const revisionPollSeconds = r.number("REVISION_POLL_RATE", 2, { min: 0.2, max: 86_400 })
  const serviceListSeconds = r.number("SERVICE_LIST_RATE", 10, { min: 1, max: 86_400 })
  const maxRemovalPercent = r.number("MAX_REMOVAL_PERCENT", 50, { min: 1, max: 100 })

  if (r.problems.length > 0 || region === undefined) return Result.fail(r.problems)
  return Result.succeed({
    region,
    namespaces,
    defaultDomain,
    refreshSeconds,
    applyMode,
    stats,
    metrics,
    listenAddress,
    listenPort,
    configDir,
    haproxyBin,
    nbthread,
    hardStopAfterSeconds,
    healthAddress,
    healthPort,
    logLevel,
    healthFilter,
    defaultInstancePort,
    cloudMap,
    reloadMinIntervalSeconds,
    readyMaxStalenessSeconds,
    drainSeconds,
    restartHaproxy,
    revisionPollSeconds,
    serviceListSeconds,
    maxRemovalPercent
  })
}

/** One line per problem: `NAMESPACE_MAP="x": expected ...`. */
export const formatConfigProblems = (problems: ReadonlyArray<ConfigProblem>): string =>
  problems
    .map((p) =>
      p.value === undefined
        ? `${p.variable} is not set: expected ${p.expected}`
        : `${p.variable}=${quote(p.value)} is invalid: expected ${p.expected}`
    )
    .join("\n")

/** Exit code for a configuration error (EX_CONFIG from sysexits.h). */
export const EXIT_CONFIG = 78
