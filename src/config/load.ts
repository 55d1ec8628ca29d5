/** Reads AgentConfig from process.env; every problem is logged and the command exits 78. */
import process from "node:process"
import { Effect, Result, Schema } from "effect"
import { type AgentConfig, EXIT_CONFIG, formatConfigProblems, readAgentConfig } from "./agent-config.ts"

export class EnvironmentInvalid extends Schema.TaggedError<EnvironmentInvalid>()("EnvironmentInvalid", {
  message: Schema.String
}) {
  readonly exitCode = EXIT_CONFIG
}

export const loadConfig: Effect.Effect<AgentConfig, EnvironmentInvalid> = Effect.suspend(() => {
  const result = readAgentConfig(process.env)
  if (Result.isSuccess(result)) return Effect.succeed(result.success)
  const text = formatConfigProblems(result.failure)
  return Effect.gen(function*() {
    for (const p of result.failure) {
      yield* Effect.logError("invalid configuration", { variable: p.variable, value: p.value, expected: p.expected })
    }
    return yield* new EnvironmentInvalid({ message: `invalid configuration:\n${text}` })
  })
})
