/** The live Cloud Map client for the agent's configuration. */
import { Layer } from "effect"
import type { AgentConfig } from "../config/agent-config.ts"
import { AgentConfigService } from "../config/service.ts"
import { CloudMap } from "./client.ts"

export const cloudMapLayer = (config: AgentConfig) =>
  CloudMap.layer({
    region: config.region,
    endpoint: config.cloudMap.endpoint,
    concurrency: config.cloudMap.concurrency,
    requestsPerSecond: config.cloudMap.requestsPerSecond,
    readsPerSecond: config.cloudMap.readsPerSecond,
    startupPerSecond: config.cloudMap.startupPerSecond,
    controlPerSecond: config.cloudMap.controlPerSecond,
    feedPerSecond: config.cloudMap.feedPerSecond,
    timeoutSeconds: config.cloudMap.timeoutSeconds,
    maxAttempts: config.cloudMap.maxAttempts
  })

/** The same, reading the configuration from AgentConfigService. */
export const CloudMapFromConfig = Layer.unwrap(AgentConfigService.useSync(cloudMapLayer))
