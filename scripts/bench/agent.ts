/**
 * Running the compiled agent (`<binary> run`) against a mock Cloud Map: its environment, its
 * health endpoint, and a bounded stop that also stops the HAProxy it started (found by its config
 * directory).
 */
import { type ChildProcess, spawn } from "node:child_process"
import process from "node:process"
import { type HttpAnswer, httpGet } from "./net.ts"
import { alive, exitOf, once, stopChild, stopHaproxyOf } from "./process.ts"
import { waitFor } from "./wait.ts"

/** The one namespace every bench maps: Cloud Map namespace `apps` → `<service>.bench.test`, host mode. */
export const BENCH_NAMESPACE = "apps"
export const BENCH_DOMAIN = "bench.test"
export const BENCH_NAMESPACE_MAP = JSON.stringify([{ namespace: BENCH_NAMESPACE, domainname: BENCH_DOMAIN, mode: "host" }])

export interface AgentPlaces {
  readonly mockUrl: string
  readonly configDir: string
  readonly listenPort: number
  readonly healthPort: number
}

/**
 * The variables every bench sets: where Cloud Map is (the mock, with made-up credentials and no
 * instance metadata lookup), what to map, the monitoring passwords (required), the directory and
 * the ports. Each bench adds its own on top.
 */
export const benchAgentEnv = (places: AgentPlaces): Record<string, string> => ({
  PATH: process.env["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin",
  HOME: process.env["HOME"] ?? "/tmp",
  AWS_REGION: "us-east-1",
  AWS_ACCESS_KEY_ID: "bench",
  AWS_SECRET_ACCESS_KEY: "bench",
  AWS_EC2_METADATA_DISABLED: "true",
  AWS_ENDPOINT_URL_SERVICEDISCOVERY: places.mockUrl,
  NAMESPACE_MAP: BENCH_NAMESPACE_MAP,
  STATS_PASSWD: "bench-stats",
  PROM_PASSWD: "bench-prom",
  CONFIG_DIR: places.configDir,
  LISTEN_ADDRESS: "127.0.0.1",
  // The bench backends listen on loopback, refused by default.
  ALLOW_INSTANCE_NETWORKS: "127.0.0.0/8",
  LISTEN_PORT: String(places.listenPort),
  HEALTH_PORT: String(places.healthPort)
})

export interface AgentProcess {
  readonly child: ChildProcess
  readonly pid: number
  readonly configDir: string
  readonly listenPort: number
  readonly healthPort: number
  /** performance.now() right before the spawn. */
  readonly startedAt: number
  readonly exited: Promise<number | null>
  /** GET on the agent's health port (5 s timeout); undefined when it did not answer. */
  readonly get: (path: string) => Promise<HttpAnswer | undefined>
  /** SIGTERM, SIGKILL after 15 s, then whatever is left of its HAProxy. Runs once. */
  readonly stop: () => Promise<void>
}

export interface SpawnAgentOptions extends AgentPlaces {
  readonly binary: string
  readonly env: Record<string, string>
  /** Receives the agent's stderr, and its stdout when `stdout` is set (otherwise stdout is discarded). */
  readonly onOutput: (chunk: Buffer) => void
  readonly stdout: boolean
}

export const spawnAgent = (options: SpawnAgentOptions): AgentProcess => {
  const startedAt = performance.now()
  const child = spawn(options.binary, ["run"], {
    env: options.env,
    stdio: ["ignore", options.stdout ? "pipe" : "ignore", "pipe"]
  })
  if (child.pid === undefined) throw new Error(`could not start ${options.binary}`)
  child.stdout?.on("data", options.onOutput)
  child.stderr?.on("data", options.onOutput)
  const exited = exitOf(child)
  return {
    child,
    pid: child.pid,
    configDir: options.configDir,
    listenPort: options.listenPort,
    healthPort: options.healthPort,
    startedAt,
    exited,
    get: (path) => httpGet(`http://127.0.0.1:${options.healthPort}${path}`),
    stop: once(async () => {
      await stopChild(child, exited, 15_000)
      await stopHaproxyOf(options.configDir)
    })
  }
}

/**
 * Polls `/readyz` every `intervalMs` until it answers 200; returns ms since the agent was spawned
 * (`startedAt`). Fails at `timeoutMs`, or at once when the agent exits; `context()` (its last log
 * lines, say) goes into the error.
 */
export const waitAgentReady = (
  agent: AgentProcess,
  options: { readonly timeoutMs: number; readonly intervalMs: number; readonly context: () => string }
): Promise<number> =>
  waitFor(async () => {
    const r = await agent.get("/readyz")
    return r?.status === 200 ? performance.now() - agent.startedAt : undefined
  }, {
    timeoutMs: options.timeoutMs,
    intervalMs: options.intervalMs,
    timeout: () => new Error(`agent not ready after ${options.timeoutMs} ms:\n${options.context()}`),
    abort: () => (alive(agent.pid) ? undefined : new Error(`agent exited before ready:\n${options.context()}`))
  })
