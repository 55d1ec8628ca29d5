/**
 * The items of `cloudmap-haproxy check` on this host, with the agent's own start-up checks
 * (../haproxy/preflight.ts): HAProxy runs (`HAPROXY_BIN -v`) and is 2.6 or later; CONFIG_DIR
 * can be written (or created); LISTEN_PORT, MONITORING_PORT (when set) and HEALTH_PORT are free
 * on their addresses.
 */
import { Effect } from "effect"
import type { AgentConfig } from "../config/agent-config.ts"
import { checkConfigDirWritable, checkHaproxyBinary, checkPortFree, MONITORING, type StartupCheckFailed } from "../haproxy/preflight.ts"
import { type CheckLine, fail, haproxyRecentEnough, MIN_HAPROXY, pass } from "./check-report.ts"

const failed = (item: string) => (e: StartupCheckFailed): CheckLine => fail(item, `${e.variable}=${JSON.stringify(e.value)}: ${e.problem}`, e.fix)

export const localChecks = (config: AgentConfig): Effect.Effect<ReadonlyArray<CheckLine>> =>
  Effect.all([
    checkHaproxyBinary(config.haproxyBin).pipe(Effect.match({
      onFailure: failed("HAProxy runs"),
      onSuccess: (version): CheckLine =>
        haproxyRecentEnough(version)
          ? pass(`HAProxy ${MIN_HAPROXY.join(".")} or later`, `${config.haproxyBin}: ${version}`)
          : fail(
            `HAProxy ${MIN_HAPROXY.join(".")} or later`,
            `HAPROXY_BIN=${JSON.stringify(config.haproxyBin)} is HAProxy ${version}`,
            `install HAProxy ${MIN_HAPROXY.join(".")} or later, or set HAPROXY_BIN to one`
          )
    })),
    checkConfigDirWritable(config.configDir).pipe(Effect.match({
      onFailure: failed("CONFIG_DIR writable"),
      onSuccess: (probed): CheckLine =>
        pass("CONFIG_DIR writable", probed === config.configDir ? config.configDir : `${config.configDir} does not exist yet; the agent creates it in ${probed}`)
    })),
    checkPortFree(config.listenAddress, config.listenPort, {
      address: "LISTEN_ADDRESS",
      port: "LISTEN_PORT",
      consequence: "; another HAProxy would share its traffic"
    }).pipe(Effect.match({
      onFailure: failed("LISTEN_PORT free"),
      onSuccess: (how): CheckLine =>
        pass("LISTEN_PORT free", `${config.listenAddress}:${config.listenPort}${how === "privileged" ? ", a privileged port: HAProxy needs the right to bind it" : ""}`)
    })),
    ...(config.monitoringPort === undefined ? [] : [
      checkPortFree(config.listenAddress, config.monitoringPort, MONITORING).pipe(Effect.match({
        onFailure: failed("MONITORING_PORT free"),
        onSuccess: (): CheckLine => pass("MONITORING_PORT free", `${config.listenAddress}:${config.monitoringPort}`)
      }))
    ]),
    checkPortFree(config.healthAddress, config.healthPort, {
      address: "HEALTH_ADDRESS",
      port: "HEALTH_PORT",
      consequence: "; the agent's endpoints could not start"
    }).pipe(Effect.match({
      onFailure: failed("HEALTH_PORT free"),
      onSuccess: (): CheckLine => pass("HEALTH_PORT free", `${config.healthAddress}:${config.healthPort}`)
    }))
  ])
