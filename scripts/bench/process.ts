/**
 * Processes the benches start: everything is stopped by PID, every stop is bounded, and cleanups
 * run once, newest first, also on Ctrl-C / SIGTERM.
 */
import type { ChildProcess } from "node:child_process"
import process from "node:process"
import { haproxyPidsFor } from "./proc.ts"
import { sleep } from "./wait.ts"

/** A function that runs at most once; later calls get the first call's promise. */
export const once = (f: () => Promise<void>): (() => Promise<void>) => {
  let p: Promise<void> | undefined
  return () => (p ??= f())
}

/** Whether a process with this PID exists. */
export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

export const killPids = (pids: ReadonlyArray<number>, signal: NodeJS.Signals = "SIGKILL") => {
  for (const pid of pids) {
    try {
      process.kill(pid, signal)
    } catch {
      // already gone
    }
  }
}

/** Resolves with the exit code when `child` exits (at once if it already has). */
export const exitOf = (child: ChildProcess): Promise<number | null> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((r) => child.once("exit", (code) => r(code)))

/**
 * SIGTERM, then SIGKILL if `child` has not exited after `graceMs`; resolves once it is gone
 * (giving up 5 s after the SIGKILL).
 */
export const stopChild = async (child: ChildProcess, exited: Promise<unknown>, graceMs: number): Promise<void> => {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill("SIGTERM")
  const gone = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)])
  if (gone) return
  child.kill("SIGKILL")
  await Promise.race([exited, sleep(5_000)])
}

/**
 * Stops what is left of the HAProxy processes of `configDir` (found in /proc by their command
 * line): SIGTERM for 2 s, then SIGKILL, for at most 5 s.
 */
export const stopHaproxyOf = async (configDir: string): Promise<void> => {
  for (let i = 0; i < 50; i++) {
    const left = haproxyPidsFor(configDir)
    if (left.length === 0) return
    killPids(left, i < 20 ? "SIGTERM" : "SIGKILL")
    await sleep(100)
  }
}

/** What to undo at the end of a run, newest first, each at most once, errors ignored. */
export class Cleanups {
  private readonly steps: Array<() => Promise<void> | void> = []

  /** Registers `f`; the returned function unregisters it (after it ran on its own). */
  add(f: () => Promise<void> | void): () => void {
    this.steps.push(f)
    return () => {
      const i = this.steps.lastIndexOf(f)
      if (i >= 0) this.steps.splice(i, 1)
    }
  }

  async run(): Promise<void> {
    while (this.steps.length > 0) {
      const f = this.steps.pop()!
      try {
        await f()
      } catch {
        // best effort
      }
    }
  }

  /** Ctrl-C and SIGTERM run the cleanups, then exit 130 / 143. */
  onSignals(): void {
    process.on("SIGINT", () => void this.run().then(() => process.exit(130)))
    process.on("SIGTERM", () => void this.run().then(() => process.exit(143)))
  }

  /** A bench's whole run: signals handled, `main`, then the cleanups; exit 0, or 1 with the failure said. */
  async runMain(main: () => Promise<void>, say: (line: string) => void): Promise<never> {
    this.onSignals()
    try {
      await main()
      await this.run()
      process.exit(0)
    } catch (e) {
      say(`FAILED: ${(e as Error).stack ?? String(e)}`)
      await this.run()
      process.exit(1)
    }
  }
}
