/**
 * The agent's configuration, read from the environment. Variable names of the original image
 * (AWS_REGION, NAMESPACE_MAP, DEFAULT_DOMAIN, REFRESH_RATE, APPLY_MODE, STATS_PASSWD, PROM_PASSWD)
 * are kept so existing ECS task definitions keep working.
 *
 * Every variable is written once, in ./variables.ts. `readAgentConfig` walks that table (pure:
 * an env record in, the config or EVERY problem found out: variable, offending value — never a
 * secret — and what is expected).
 */
import { type Redacted, Result } from "effect"
import type { AgentConfig, Credentials, LogLevel } from "./agent-config-type.ts"
import { quote } from "../model/grammar.ts"
import { type ConfigProblem, type Env, readSome, readTable, shownDefault, type Table } from "./table.ts"
import { TABLE, type Variables } from "./variables.ts"

export type { AgentConfig, Credentials, LogLevel } from "./agent-config-type.ts"

/** Every variable with its default as shown to people and its meaning (README table, --help). */
export const VARIABLES: ReadonlyArray<
  { readonly key: keyof Variables; readonly name: string; readonly default: string; readonly meaning: string }
> = (Object.keys(TABLE) as Array<keyof Variables>).map((key) => {
  const v: Table<Variables>[keyof Variables] = TABLE[key]
  return {
    key,
    name: v.name,
    default: shownDefault(v.fallback),
    meaning: v.meaning
  }
})

const credentials = (user: string | undefined, password: Redacted.Redacted<string> | undefined): Credentials | undefined =>
  user === undefined || password === undefined ? undefined : { user, password }

/** Variables valid alone but not together: one problem each, on the variable to change. */
const relationProblems = (v: { readonly haproxyWatchdogSeconds: number; readonly haproxyWatchdogLivenessSeconds: number }): Array<ConfigProblem> =>
  v.haproxyWatchdogSeconds > 0 && v.haproxyWatchdogLivenessSeconds > 0 && v.haproxyWatchdogLivenessSeconds < v.haproxyWatchdogSeconds
    ? [{
      variable: "HAPROXY_WATCHDOG_LIVENESS",
      value: String(v.haproxyWatchdogLivenessSeconds),
      expected: `0 or at least HAPROXY_WATCHDOG (${v.haproxyWatchdogSeconds}): /healthz would fail (and the task be replaced) before /readyz takes it out of the load balancer; raise it or lower HAPROXY_WATCHDOG`
    }]
    : []

export const readAgentConfig = (env: Env): Result.Result<AgentConfig, ReadonlyArray<ConfigProblem>> =>
  Result.map(Result.flatMap(readTable(TABLE, env), (variables) => {
    const problems = relationProblems(variables)
    return problems.length === 0 ? Result.succeed(variables) : Result.fail(problems)
  }), (variables) => {
    const {
      statsEnabled: _stats, statsUser, statsPassword,
      metricsEnabled: _metrics, metricsUser, metricsPassword,
      cloudMapEndpoint, cloudMapConcurrency, cloudMapRequestsPerSecond, cloudMapReadsPerSecond, cloudMapStartupPerSecond, cloudMapControlPerSecond, cloudMapFeedPerSecond,
      cloudMapTimeoutSeconds, cloudMapMaxAttempts,
      ...config
    } = variables
    return {
      ...config,
      stats: credentials(statsUser, statsPassword),
      metrics: credentials(metricsUser, metricsPassword),
      cloudMap: {
        endpoint: cloudMapEndpoint,
        concurrency: cloudMapConcurrency,
        requestsPerSecond: cloudMapRequestsPerSecond,
        readsPerSecond: cloudMapReadsPerSecond,
        startupPerSecond: cloudMapStartupPerSecond,
        controlPerSecond: cloudMapControlPerSecond,
        feedPerSecond: cloudMapFeedPerSecond,
        timeoutSeconds: cloudMapTimeoutSeconds,
        maxAttempts: cloudMapMaxAttempts
      }
    }
  })

/**
 * LOG_LEVEL as the table reads it, before any command runs (the logger comes first); `info` when
 * it is invalid: the command that reads the whole table reports it.
 */
export const logLevelOf = (env: Env): LogLevel => {
  const read = readSome(TABLE, env, ["logLevel"])
  return Result.isSuccess(read) ? read.success.logLevel : "info"
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
