/**
 * `cloudmap-haproxy run` (the default command): the long-running agent (src/agent/agent.ts).
 * It serves its own endpoints, reads Cloud Map, starts HAProxy on the first validated
 * configuration, keeps it in step and supervises it: HAProxy dying makes the agent exit non-zero
 * (or restarts it with HAPROXY_RESTART=true). SIGTERM/SIGINT: readiness goes false, HAProxy is
 * soft-stopped and drained for DRAIN_SECONDS, then exit 0. SIGHUP: re-read Cloud Map now.
 */
import process from "node:process"
import { Effect, Layer } from "effect"
import { agentLayer } from "../agent/agent.ts"
import { AgentConfigService } from "../config/service.ts"
import { variablesHelp } from "../config/variables-doc.ts"

const USAGE = `usage: cloudmap-haproxy [run]

Runs the agent: discovers services in the Cloud Map namespaces of NAMESPACE_MAP, renders and
validates an HAProxy configuration, starts HAProxy (master-worker) and keeps it up to date.
All settings come from environment variables (see the README). Endpoints of the agent itself:
http://HEALTH_ADDRESS:HEALTH_PORT/{healthz,readyz,metrics,status}.

Signals: SIGTERM/SIGINT drain HAProxy and exit 0; SIGHUP re-reads every namespace and service
from Cloud Map now.
`

export const runCommand = (argv: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    if (argv.includes("--help")) {
      process.stdout.write(`${USAGE}\n${variablesHelp()}`)
      return 0
    }
    return yield* Layer.launch(agentLayer(AgentConfigService.layer))
  })
