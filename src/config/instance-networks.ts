/**
 * The instance networks of this agent (src/plan/networks.ts): ALLOW_INSTANCE_NETWORKS, and its own
 * endpoints, HAProxy's LISTEN_ADDRESS:LISTEN_PORT (and LISTEN_ADDRESS:MONITORING_PORT when set) and
 * the agent's HEALTH_ADDRESS:HEALTH_PORT. A
 * wildcard bind is reached through every address of this host's interfaces, read once here.
 */
import { networkInterfaces } from "node:os"
import type { AgentConfig } from "./agent-config.ts"
import { type InstanceNetworks, ownEndpoint } from "../plan/networks.ts"

const hostAddresses = (): ReadonlyArray<string> => {
  try {
    return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address))
  } catch {
    return []
  }
}

export const instanceNetworksOf = (
  config: Pick<AgentConfig, "allowInstanceNetworks" | "listenAddress" | "listenPort" | "healthAddress" | "healthPort"> &
    Partial<Pick<AgentConfig, "monitoringPort">>
): InstanceNetworks => {
  const addresses = hostAddresses()
  return {
    allowed: config.allowInstanceNetworks,
    own: [
      ownEndpoint("LISTEN_ADDRESS:LISTEN_PORT (HAProxy)", config.listenAddress, config.listenPort, addresses),
      ownEndpoint("HEALTH_ADDRESS:HEALTH_PORT", config.healthAddress, config.healthPort, addresses),
      ...(config.monitoringPort === undefined
        ? []
        : [ownEndpoint("LISTEN_ADDRESS:MONITORING_PORT (HAProxy's /stats and /metrics)", config.listenAddress, config.monitoringPort, addresses)])
    ]
  }
}
