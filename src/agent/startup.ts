/**
 * What the agent does before it serves anything: a warning for each variable that looks like a
 * typo of one of ours, owner-only files (umask 077), then the start-up
 * checks that fail fast with exit 78 (CONFIG_DIR writable, HAProxy runnable, a leftover HAProxy
 * of an earlier run stopped, the traffic port free), then one log line with what it will do.
 */
import { join } from "node:path"
import process from "node:process"
import { Effect, Layer } from "effect"
import { AgentConfigService } from "../config/service.ts"
import { unknownVariables } from "../config/unknown-variables.ts"
import { stopLeftover } from "../haproxy/leftover.ts"
import { checkConfigDir, checkHaproxyBinary, checkListenPort, checkMonitoringPort } from "../haproxy/preflight.ts"
import { VERSION } from "../version.ts"

export const StartupLive = Layer.effectDiscard(
  Effect.gen(function*() {
    const config = yield* AgentConfigService
    // A typo would leave the variable's default in force without a word: say it once.
    for (const unknown of unknownVariables(process.env)) {
      yield* Effect.logWarning(`unknown variable ${unknown.name} is ignored: did you mean ${unknown.meant}?`, { variable: unknown.name, meant: unknown.meant })
    }
    // Whatever the agent and HAProxy create (pid file, generations) is its user's only.
    yield* Effect.sync(() => process.umask(0o077))
    yield* checkConfigDir(config.configDir)
    if (config.applyMode === "on") {
      const version = yield* checkHaproxyBinary(config.haproxyBin)
      yield* Effect.logInfo("HAProxy found", { bin: config.haproxyBin, version })
      yield* stopLeftover(join(config.configDir, "haproxy.pid"), join(config.configDir, "master.sock"))
      yield* checkListenPort(config.listenAddress, config.listenPort)
      yield* checkMonitoringPort(config.listenAddress, config.monitoringPort)
    }
    yield* Effect.logInfo("agent starting", {
      version: VERSION,
      namespaces: config.namespaces.map((n) => `${n.namespace} -> ${n.domain} (${n.mode})`),
      region: config.region,
      endpoint: config.cloudMap.endpoint ?? "AWS",
      configDir: config.configDir,
      listen: `${config.listenAddress}:${config.listenPort}`,
      monitoring: config.monitoringPort === undefined ? "/stats and /metrics on every host of the traffic port" : `${config.listenAddress}:${config.monitoringPort}`,
      agentEndpoints: `http://${config.healthAddress}:${config.healthPort}`,
      applyMode: config.applyMode
    })
  })
)
