/**
 * The benches' one door to src/config/: the agent's own reading of its environment (so a report
 * names the settings in force) and the renderer settings derived from it.
 */
import { Result } from "effect"
import { type AgentConfig, readAgentConfig } from "../../../src/config/agent-config.ts"
import { toRenderSettings } from "../../../src/config/render-settings.ts"

export type { AgentConfig }

/** The agent's configuration for `env`; throws `<what>: <problems>` when the agent would refuse it. */
export const agentConfigFrom = (env: Readonly<Record<string, string>>, what: string): AgentConfig => {
  const r = readAgentConfig(env)
  if (Result.isFailure(r)) throw new Error(`${what}: ${JSON.stringify(r.failure)}`)
  return r.success
}

/** The settings the agent's renderer uses for `env` (passwords hashed). */
export const renderSettingsFrom = (env: Readonly<Record<string, string>>, what: string) =>
  toRenderSettings(agentConfigFrom(env, what))
