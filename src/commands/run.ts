/**
 * `cloudmap-haproxy run` (the default command): the long-running agent (src/agent/agent.ts).
 * It serves its own endpoints, reads Cloud Map, starts HAProxy on the first validated
 * configuration, keeps it in step and supervises it: HAProxy dying makes the agent exit non-zero
 * (or restarts it with HAPROXY_RESTART=true). SIGTERM/SIGINT: readiness goes false, HAProxy is
 * soft-stopped and drained for DRAIN_SECONDS, then exit 0. SIGHUP: re-read Cloud Map now.
 */
import { Effect, Layer } from "effect"
import { agentLayer } from "../agent/agent.ts"
import { HELP_FLAG } from "../config/flags.ts"
import type { CommandSpec } from "../config/help.ts"
import { AgentConfigService } from "../config/service.ts"
import { withFlags } from "./cli.ts"

export const RUN: CommandSpec = {
  name: "run",
  summary: "the agent: discover, render and apply, supervise HAProxy",
  description: [
    "Runs the agent: discovers services in the Cloud Map namespaces of NAMESPACE_MAP, renders and validates an HAProxy configuration, starts HAProxy (master-worker) and keeps it up to date. Endpoints of the agent itself: http://HEALTH_ADDRESS:HEALTH_PORT/{healthz,readyz,metrics,status}.",
    "Signals: SIGTERM/SIGINT drain HAProxy and exit 0; SIGHUP re-reads every namespace and service from Cloud Map now."
  ],
  flags: [HELP_FLAG],
  variables: "all",
  exitCodes: [
    [0, "stopped by SIGTERM/SIGINT after draining"],
    [1, "HAProxy died (and HAPROXY_RESTART is false) or could not be started"],
    [78, "an invalid variable or a failed start-up check (CONFIG_DIR, HAPROXY_BIN, LISTEN_PORT)"]
  ]
}

export const runCommand = (argv: ReadonlyArray<string>) =>
  withFlags(RUN, argv, () => Layer.launch(agentLayer(AgentConfigService.layer)).pipe(Effect.as(0)))
