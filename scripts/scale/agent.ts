/**
 * The agent as the scale bench runs it: the compiled binary with `run`, at its default settings.
 * Only what cannot be left at its default is set (AGENT_NON_DEFAULTS): where Cloud Map is,
 * credentials, the monitoring passwords, addresses, ports and directory, the HAProxy executable,
 * and DRAIN_SECONDS=0 (shutdown only). Its output goes to a log file in the run's work directory.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { join } from "node:path"
import { type AgentLog, agentLog } from "../bench/agent-log.ts"
import { type AgentProcess, benchAgentEnv, spawnAgent } from "../bench/agent.ts"
import { haproxyBinary } from "../bench/haproxy.ts"
import { freePort } from "../bench/net.ts"
import { once } from "../bench/process.ts"
import { cleanups, WORK } from "./context.ts"
import { BINARY, FEED_RATE } from "./params.ts"

/** Settings the agent runs with besides its defaults (named in BENCHMARKS.md). */
export const AGENT_NON_DEFAULTS = "LISTEN_ADDRESS=127.0.0.1, LISTEN_PORT/HEALTH_PORT=free ports, CONFIG_DIR=temp dir, " +
  "AWS_ENDPOINT_URL_SERVICEDISCOVERY=mock, AWS credentials and region, STATS_PASSWD/PROM_PASSWD set, " +
  "HAPROXY_BIN=the installed HAProxy, DRAIN_SECONDS=0 (shutdown only)" +
  (FEED_RATE === undefined ? "" : `, CHANGE_FEED_RATE=${FEED_RATE} (--feed-rate)`)

export interface ScaleAgent extends AgentProcess {
  readonly log: AgentLog
}

export const startScaleAgent = async (label: string, mockUrl: string): Promise<ScaleAgent> => {
  const configDir = mkdtempSync(join(WORK, `${label}-config-`))
  const listenPort = await freePort()
  const healthPort = await freePort()
  const log = agentLog(join(WORK, `${label}.log`))
  const agent = spawnAgent({
    binary: BINARY,
    configDir,
    listenPort,
    healthPort,
    mockUrl,
    env: {
      ...benchAgentEnv({ mockUrl, configDir, listenPort, healthPort }),
      HAPROXY_BIN: haproxyBinary(),
      DRAIN_SECONDS: "0",
      ...(FEED_RATE === undefined ? {} : { CHANGE_FEED_RATE: FEED_RATE })
    },
    stdout: true,
    onOutput: log.write
  })
  const stop = once(async () => {
    await agent.stop()
    await log.close()
    rmSync(configDir, { recursive: true, force: true })
  })
  const forget = cleanups.add(stop)
  return { ...agent, log, stop: () => stop().then(forget) }
}
