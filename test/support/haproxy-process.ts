/**
 * A real HAProxy for tests: `haproxy -c` and a foreground master-worker process
 * (`haproxy -W -db -S <dir>/master.sock,mode,600 -f <cfg>`), as the agent runs it.
 *
 * Processes are only ever stopped BY PID: the master we spawned, then the worker PIDs we read from
 * /proc (children of that master). stop() returns only when all of them are gone, and an exit hook
 * kills anything still registered if a test run dies before its cleanup.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import { connect } from "node:net"
import { join } from "node:path"

export const HAPROXY_BIN = process.env["HAPROXY_BIN"] ?? "haproxy"

export interface CheckResult {
  readonly ok: boolean
  readonly status: number | null
  readonly output: string
}

/** `haproxy -c -f <cfg>`; ok is the exit code (output differs between 2.6 and 3.x). */
export const checkConfig = (cfgPath: string): CheckResult => {
  const result = spawnSync(HAPROXY_BIN, ["-c", "-f", cfgPath], { encoding: "utf8", timeout: 30_000 })
  return {
    ok: result.status === 0,
    status: result.status,
    output: `${result.stdout ?? ""}${result.stderr ?? ""}${result.error !== undefined ? String(result.error) : ""}`
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** /proc/<pid>/stat fields after the command name: state, ppid. */
const procStat = (pid: number): { readonly state: string; readonly ppid: number } | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return { state: rest[0] ?? "?", ppid: Number(rest[1]) }
  } catch {
    return undefined
  }
}

/** Alive and not a zombie. */
export const isAlive = (pid: number): boolean => {
  const stat = procStat(pid)
  return stat !== undefined && stat.state !== "Z" && stat.state !== "X"
}

/** PIDs whose parent is `pid` (the workers of a master). */
export const childPids = (pid: number): ReadonlyArray<number> =>
  readdirSync("/proc")
    .filter((name) => /^[0-9]+$/.test(name))
    .map(Number)
    .filter((child) => procStat(child)?.ppid === pid)

const tryConnect = (host: string, port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect({ host, port })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500, () => done(false))
    socket.once("connect", () => done(true))
    socket.once("error", () => done(false))
  })

export interface HaproxyProcess {
  /** PID of the master. */
  readonly pid: number
  readonly masterSocket: string
  /** Everything HAProxy printed so far (stdout + stderr). */
  readonly output: () => string
  readonly workerPids: () => ReadonlyArray<number>
  /** Stops the master and makes sure every worker is gone; idempotent. */
  readonly stop: () => Promise<void>
}

const running = new Map<number, () => ReadonlyArray<number>>()
let exitHookInstalled = false
const installExitHook = () => {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.on("exit", () => {
    for (const [pid, workers] of running) {
      for (const worker of [pid, ...workers()]) {
        try {
          process.kill(worker, "SIGKILL")
        } catch {
          // already gone
        }
      }
    }
  })
}

export interface StartOptions {
  /** Directory for the master socket (usually settings.configDir). */
  readonly dir: string
  readonly cfgPath: string
  /** Address and port the frontend binds; start() waits until it accepts connections. */
  readonly host?: string
  readonly port: number
  readonly timeoutMs?: number
}

const waitForExit = (child: ChildProcess, ms: number): Promise<boolean> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve(true)
    : new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms)
      child.once("exit", () => {
        clearTimeout(timer)
        resolve(true)
      })
    })

const waitUntilGone = async (pid: number, ms: number): Promise<boolean> => {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true
    await sleep(25)
  }
  return !isAlive(pid)
}

/** Starts HAProxy in the foreground (master-worker) and waits until the frontend port answers. */
export const startHaproxy = async (options: StartOptions): Promise<HaproxyProcess> => {
  installExitHook()
  const masterSocket = join(options.dir, "master.sock")
  const child = spawn(HAPROXY_BIN, ["-W", "-db", "-S", `${masterSocket},mode,600`, "-f", options.cfgPath], {
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")))
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")))
  const spawned = await new Promise<number>((resolve, reject) => {
    child.once("spawn", () => resolve(child.pid ?? -1))
    child.once("error", reject)
  })
  const pid = spawned
  let knownWorkers: ReadonlyArray<number> = []
  const workerPids = () => {
    const now = isAlive(pid) ? childPids(pid) : []
    knownWorkers = [...new Set([...knownWorkers, ...now])]
    return now
  }
  running.set(pid, () => knownWorkers)

  let stopped: Promise<void> | undefined
  const stop = () => {
    stopped ??= (async () => {
      workerPids()
      if (isAlive(pid)) {
        // SIGTERM to the master: hard stop of master and workers.
        process.kill(pid, "SIGTERM")
        if (!(await waitForExit(child, 5_000))) {
          process.kill(pid, "SIGKILL")
          await waitForExit(child, 5_000)
        }
      }
      for (const worker of knownWorkers) {
        if (!(await waitUntilGone(worker, 5_000))) {
          process.kill(worker, "SIGKILL")
          await waitUntilGone(worker, 5_000)
        }
      }
      running.delete(pid)
    })()
    return stopped
  }

  const host = options.host ?? "127.0.0.1"
  const deadline = Date.now() + (options.timeoutMs ?? 10_000)
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop()
      throw new Error(`haproxy exited (${child.exitCode ?? child.signalCode}) before listening:\n${output}`)
    }
    // A worker must exist too: the port alone could belong to someone else (a freePort race).
    if (childPids(pid).length > 0 && (await tryConnect(host, options.port))) break
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`haproxy did not listen on ${host}:${options.port} in time:\n${output}`)
    }
    await sleep(50)
  }
  // The worker exists once the port answers; remember it for stop().
  workerPids()
  return { pid, masterSocket, output: () => output, workerPids, stop }
}

/**
 * The ALERT and WARNING lines of `haproxy -c` that are about the file. Left out: nbthread above
 * the machine's CPUs (3.x: about the machine), and the time a password hash took to verify (3.4
 * warns at 10 ms; the agent's hash takes 0.4 ms, src/config/password-hash.ts, but a loaded shared
 * machine can stretch any wall-clock measurement past that).
 */
export const configProblems = (output: string): ReadonlyArray<string> =>
  output.split("\n").filter((l) =>
    /\[(WARNING|ALERT)\]/.test(l) && !/threads .*a total of \d+ CPUs/.test(l) && !/password takes \d+ milliseconds to verify/.test(l)
  )
