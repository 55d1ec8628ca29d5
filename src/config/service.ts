/** The agent's configuration as a service: read from the environment once, by `layer`. */
import { Context, Layer } from "effect"
import type { AgentConfig } from "./agent-config.ts"
import { loadConfig } from "./load.ts"

export class AgentConfigService extends Context.Service<AgentConfigService, AgentConfig>()("cloudmap-haproxy/config/AgentConfig") {
  /** From process.env; every bad variable is logged and the layer fails (exit 78). */
  static readonly layer = Layer.effect(AgentConfigService, loadConfig)
  static readonly layerOf = (config: AgentConfig) => Layer.succeed(AgentConfigService, config)
}
