/** Reads AgentConfig from process.env; every problem is logged and the command exits 78. */
import process from "node:process"
import { Effect, Result, Schema } from "effect"
import { type AgentConfig, EXIT_CONFIG, formatConfigProblems, readAgentConfig } from "./agent-config.ts"
import type { ConfigProblem } from "./table.ts"

export class EnvironmentInvalid extends Schema.TaggedError<EnvironmentInvalid>()("EnvironmentInvalid", {
  message: Schema.String
}) {
  readonly exitCode = EXIT_CONFIG
}

/** Logs every problem and fails with all of them (what `run`, `render` and `config` do). */
export const rejectEnvironment = (problems: ReadonlyArray<ConfigProblem>): Effect.Effect<never, EnvironmentInvalid> =>
  Effect.gen(function*() {
    for (const p of problems) {
      yield* Effect.logError("invalid configuration", { variable: p.variable, value: p.value, expected: p.expected })
    }
    return yield* new EnvironmentInvalid({ message: `invalid configuration:\n${formatConfigProblems(problems)}` })
  })

export const loadConfig: Effect.Effect<AgentConfig, EnvironmentInvalid> = Effect.suspend(() => {
  const result = readAgentConfig(process.env)
  return Result.isSuccess(result) ? Effect.succeed(result.success) : rejectEnvironment(result.failure)
})
