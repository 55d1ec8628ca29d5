/** The live Cloud Map client for the agent's configuration. */
import { Layer } from "effect"
import type { AgentConfig } from "../config/agent-config.ts"
import { AgentConfigService } from "../config/service.ts"
import { CloudMap } from "./client.ts"

export const cloudMapLayer = (config: AgentConfig) =>
  CloudMap.layer({ ...config.cloudMap, region: config.region })

/** The same, reading the configuration from AgentConfigService. */
export const CloudMapFromConfig = Layer.unwrap(AgentConfigService.useSync(cloudMapLayer))
