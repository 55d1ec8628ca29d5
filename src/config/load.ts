/** Reads AgentConfig from process.env; every problem is reported once and the command exits 78. */
import process from "node:process"
import { Effect, Result, Schema } from "effect"
import { type AgentConfig, EXIT_CONFIG, formatConfigProblems, readAgentConfig } from "./agent-config.ts"
import type { ConfigProblem } from "./table.ts"

export class EnvironmentInvalid extends Schema.TaggedError<EnvironmentInvalid>()("EnvironmentInvalid", {
  message: Schema.String
}) {
  readonly exitCode = EXIT_CONFIG
}

/**
 * Fails with every problem (what `run`, `render`, `config` and `check` do): the command prints the
 * message once on stderr, one line per variable with what it expects, and exits 78.
 */
export const rejectEnvironment = (problems: ReadonlyArray<ConfigProblem>): Effect.Effect<never, EnvironmentInvalid> =>
  Effect.fail(new EnvironmentInvalid({ message: `invalid configuration:\n${formatConfigProblems(problems)}` }))

export const loadConfig: Effect.Effect<AgentConfig, EnvironmentInvalid> = Effect.suspend(() => {
  const result = readAgentConfig(process.env)
  return Result.isSuccess(result) ? Effect.succeed(result.success) : rejectEnvironment(result.failure)
})
