/**
 * An HAProxy left running by an earlier run of the agent (the agent was SIGKILLed or crashed):
 * its master wrote its PID into CONFIG_DIR/haproxy.pid. It keeps serving a stale configuration
 * and holds the traffic port, so a new agent stops it before starting its own. The PID is only
 * trusted when /proc shows an HAProxy started with this CONFIG_DIR's master socket (a PID may be
 * reused by an unrelated process).
 */
import { readFileSync, rmSync } from "node:fs"
import process from "node:process"
import { Clock, Effect } from "effect"

export interface Leftover {
  readonly pid: number
  readonly commandLine: string
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** The master PID from the pid file, when that process is an HAProxy with our master socket. */
const findLeftover = (pidFile: string, masterSocket: string): Leftover | undefined => {
  let pid: number
  try {
    pid = Number(readFileSync(pidFile, "utf8").trim().split(/\s+/)[0])
  } catch {
    return undefined
  }
  if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid || !alive(pid)) return undefined
  try {
    const commandLine = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim()
    return commandLine.includes(masterSocket) ? { pid, commandLine } : undefined
  } catch {
    return undefined
  }
}

const signal = (pid: number, name: NodeJS.Signals) =>
  Effect.sync(() => {
    try {
      process.kill(pid, name)
    } catch {
      // already gone
    }
  })

/** Waits up to `ms` for the process to exit; true when it did. */
const exitWithin = (pid: number, ms: number) =>
  Effect.gen(function*() {
    const deadline = (yield* Clock.currentTimeMillis) + ms
    while (alive(pid)) {
      if ((yield* Clock.currentTimeMillis) >= deadline) return false
      yield* Effect.sleep("50 millis")
    }
    return true
  })

/**
 * Stops a leftover HAProxy: SIGUSR1 (stop listening, finish requests) for up to 2 s, then
 * SIGTERM, then SIGKILL. Its workers exit with their master. Returns what was stopped.
 */
export const stopLeftover = (pidFile: string, masterSocket: string) =>
  Effect.gen(function*() {
    const leftover = findLeftover(pidFile, masterSocket)
    if (leftover === undefined) return undefined
    yield* Effect.logWarning("stopping an HAProxy left running by an earlier run of the agent", { ...leftover })
    yield* signal(leftover.pid, "SIGUSR1")
    if (!(yield* exitWithin(leftover.pid, 2_000))) {
      yield* signal(leftover.pid, "SIGTERM")
      if (!(yield* exitWithin(leftover.pid, 2_000))) {
        yield* signal(leftover.pid, "SIGKILL")
        yield* exitWithin(leftover.pid, 1_000)
      }
    }
    yield* Effect.sync(() => rmSync(pidFile, { force: true }))
    return leftover
  })
