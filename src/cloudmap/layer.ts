/** The live Cloud Map client for an AgentConfig. */
import { CloudMap } from "./client.ts"
import type { AgentConfig } from "../config/agent-config.ts"

export const cloudMapLayer = (config: AgentConfig) =>
  CloudMap.layer({
    region: config.region,
    endpoint: config.cloudMap.endpoint,
    concurrency: config.cloudMap.concurrency,
    requestsPerSecond: config.cloudMap.requestsPerSecond,
    timeoutSeconds: config.cloudMap.timeoutSeconds,
    maxAttempts: config.cloudMap.maxAttempts
  })
