/**
 * Runs the real agent (`src/main.ts run`) as a child process with bun, against a mock Cloud Map,
 * and cleans up by PID (the agent, and any HAProxy it left behind).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort } from "./ports.ts"

export const ROOT = new URL("../..", import.meta.url).pathname
/** NAMESPACE_MAP of most e2e tests: the mock's `apps` namespace as `<service>.example.test`. */
export const APPS_HOST_MAP = JSON.stringify([{ namespace: "apps", domainname: "example.test", mode: "host" }])
export const BUN = join(ROOT, "node_modules/.bin/bun")

export interface AgentProcess {
  readonly pid: number
  readonly listenPort: number
  readonly healthPort: number
  readonly configDir: string
  readonly logs: Array<string>
  readonly exited: Promise<{ code: number | null; signal: string | null }>
  readonly get: (path: string) => Promise<{ status: number; body: string }>
  readonly stop: (signal?: NodeJS.Signals) => Promise<{ code: number | null; signal: string | null }>
  readonly haproxyPids: () => Array<number>
  /** Waits for /readyz to answer 200; on timeout the error carries the exit status and the last log lines. */
  readonly ready: (timeoutMs?: number) => Promise<void>
}

/** PIDs of processes whose command line mentions `needle` (HAProxy started with our config dir). */
export const pidsMatching = (needle: string): Array<number> => {
  try {
    return execFileSync("pgrep", ["-f", needle], { encoding: "utf8" }).trim().split("\n").filter(Boolean).map(Number)
  } catch {
    return []
  }
}

/**
 * `env` overrides the agent's environment. With `CONFIG_DIR` in it, that directory is used (and
 * left in place by stop()); otherwise a temp directory is created and removed by stop().
 */
export const startAgent = async (env: Record<string, string>): Promise<AgentProcess> => {
  const givenConfigDir = env["CONFIG_DIR"]
  const configDir = givenConfigDir ?? mkdtempSync(join(tmpdir(), "cmh-agent-"))
  const listenPort = await freePort()
  const healthPort = await freePort()
  const logs: Array<string> = []
  const child: ChildProcess = spawn(BUN, [join(ROOT, "src/main.ts"), "run"], {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      STATS_PASSWD: "stats-secret",
      PROM_PASSWD: "prom-secret",
      CONFIG_DIR: configDir,
      LISTEN_ADDRESS: "127.0.0.1",
      // The test backends listen on loopback, refused by default (a test may override it).
      ALLOW_INSTANCE_NETWORKS: "127.0.0.0/8",
      LISTEN_PORT: String(listenPort),
      HEALTH_PORT: String(healthPort),
      REFRESH_RATE: "1",
      SERVICE_LIST_RATE: "1",
      REVISION_POLL_RATE: "0.5",
      RELOAD_MIN_INTERVAL: "0",
      REJECTED_RETRY_INTERVAL: "1",
      DRAIN_SECONDS: "5",
      LOG_LEVEL: "debug",
      // Another HAProxy build under test (HAPROXY_BIN=...): the agent and the fault wrapper use it.
      ...(process.env.HAPROXY_BIN === undefined ? {} : { HAPROXY_BIN: process.env.HAPROXY_BIN, REAL_HAPROXY: process.env.HAPROXY_BIN }),
      ...env
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let buffer = ""
  const onData = (chunk: Buffer) => {
    buffer += chunk.toString()
    const lines = buffer.split("\n")
    buffer = lines.pop() ?? ""
    logs.push(...lines)
  }
  child.stdout!.on("data", onData)
  child.stderr!.on("data", onData)
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal }))
  )
  const get = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${healthPort}${path}`)
    return { status: res.status, body: await res.text() }
  }
  const haproxyPids = () => pidsMatching(`${configDir}/master.sock`)
  const stop = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000)
    const result = await exited
    clearTimeout(timer)
    for (const pid of haproxyPids()) {
      try {
        process.kill(pid, "SIGKILL")
      } catch {
        // already gone
      }
    }
    if (givenConfigDir === undefined) rmSync(configDir, { recursive: true, force: true })
    return result
  }
  const ready = async (timeoutMs = 20_000) => {
    try {
      await eventually("ready", async () => (await get("/readyz")).status === 200, timeoutMs)
    } catch (e) {
      const status = child.exitCode === null && child.signalCode === null ? "still running" : `exited (code ${child.exitCode}, signal ${child.signalCode})`
      throw new Error(`${String(e)}; the agent ${status}; its last log lines:\n${logs.slice(-40).join("\n")}`)
    }
  }
  return { pid: child.pid!, listenPort, healthPort, configDir, logs, exited, get, stop, haproxyPids, ready }
}

/** Polls `check` until it returns a truthy value or the deadline passes (then throws with `what`). */
export const eventually = async <A>(what: string, check: () => Promise<A | undefined | false>, timeoutMs = 20_000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const value = await check()
      if (value) return value
    } catch (e) {
      last = e
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`timed out waiting for ${what}${last === undefined ? "" : `: ${String(last)}`}`)
}

/** GET through HAProxy with a Host header; resolves to status and body. */
export const viaHaproxy = async (port: number, host: string, path = "/", headers: Record<string, string> = {}) => {
  const { request } = await import("node:http")
  return new Promise<{ status: number; body: string; headers: Record<string, unknown> }>((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers: { host, connection: "close", ...headers }, timeout: 5000 }, (res) => {
      let body = ""
      res.on("data", (c) => (body += c))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }))
    })
    req.on("timeout", () => req.destroy(new Error("timeout")))
    req.on("error", reject)
    req.end()
  })
}

/**
 * HAProxy's reload counter from the agent's master CLI. The master re-executes itself during a
 * reload and its socket refuses connections for a moment: retried.
 */
export const masterReloads = async (agent: AgentProcess): Promise<number> => {
  const { Effect, Schedule } = await import("effect")
  const { showProc } = await import("../../src/haproxy/master-cli.ts")
  return Effect.runPromise(
    showProc(join(agent.configDir, "master.sock")).pipe(
      Effect.retry({ schedule: Schedule.spaced("100 millis"), times: 30 }),
      Effect.map((p) => p.master.reloads)
    )
  )
}

/** Attempts of one Cloud Map operation so far, every outcome, from the agent's /metrics. */
export const cloudMapCalls = async (agent: AgentProcess, operation: string): Promise<number> =>
  (await agent.get("/metrics")).body.split("\n")
    .filter((l) => l.startsWith("cloudmap_haproxy_cloudmap_calls_total{") && l.includes(`operation="${operation}"`))
    .reduce((n, l) => n + Number(l.trim().split(/\s+/).pop()), 0)
