/**
 * Start-up checks that fail fast: what would otherwise make the agent retry forever before
 * anything was ever served. Each failure names the variable and the fix, and exits 78
 * (EX_CONFIG). Run before Cloud Map is read, so they answer within seconds.
 *
 * - CONFIG_DIR: created (0700) and writable (a probe file is written, fsynced and removed);
 *   `checkConfigDirWritable` asks the same without creating it (for `cloudmap-haproxy check`);
 * - HAPROXY_BIN: `<bin> -v` runs and prints an HAProxy version;
 * - LISTEN_ADDRESS:LISTEN_PORT (and MONITORING_PORT when set): free (nothing else listens: another HAProxy would share the
 *   traffic), and an address of this host. EACCES is not a failure: HAProxy may be allowed to
 *   bind a low port when the agent is not. `checkPortFree` asks it of any bind (HEALTH_PORT too).
 */
import { execFile } from "node:child_process"
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, rmSync, statSync, writeSync } from "node:fs"
import { createServer } from "node:net"
import { dirname, join } from "node:path"
import process from "node:process"
import { Effect, Schema } from "effect"
import { haproxyEnvironment } from "./environment.ts"

export class StartupCheckFailed extends Schema.TaggedError<StartupCheckFailed>()("StartupCheckFailed", {
  variable: Schema.String,
  value: Schema.String,
  problem: Schema.String,
  fix: Schema.String
}) {
  /** EX_CONFIG (sysexits.h), as for an invalid variable. */
  readonly exitCode = 78
  override get message(): string {
    return `${this.variable}=${JSON.stringify(this.value)}: ${this.problem}. Fix: ${this.fix}`
  }
}

const errnoOf = (e: unknown): string => (e as NodeJS.ErrnoException)?.code ?? (e instanceof Error ? e.message : String(e))

/** Writes, fsyncs and removes a probe file in `dir` (throws what the file system said). */
const probeWrite = (dir: string): void => {
  const probe = join(dir, `.write-probe-${process.pid}`)
  const fd = openSync(probe, "w", 0o600)
  try {
    writeSync(fd, "probe\n")
    fsyncSync(fd)
  } finally {
    closeSync(fd)
    rmSync(probe, { force: true })
  }
}

const configDirFailed = (dir: string, why: string) =>
  new StartupCheckFailed({
    variable: "CONFIG_DIR",
    value: dir,
    problem: `the agent cannot write there (${why})`,
    fix: "mount a writable volume there (owned by the agent's user) or set CONFIG_DIR to a writable directory"
  })

export const checkConfigDir = (dir: string) =>
  Effect.try({
    try: () => {
      mkdirSync(dir, { recursive: true, mode: 0o700 })
      try {
        // Password hashes live here: only the agent's user may read it (best effort: it may
        // be a mount point owned by someone else).
        chmodSync(dir, 0o700)
      } catch {
        // not ours to change
      }
      probeWrite(dir)
    },
    catch: (e) => configDirFailed(dir, errnoOf(e))
  })

/**
 * The same question without changing anything but a probe file: `dir` is writable, or it does
 * not exist and the nearest directory above it is (the agent would create it there). Answers
 * the directory that was probed.
 */
export const checkConfigDirWritable = (dir: string) =>
  Effect.try({
    try: () => {
      let probed = dir
      while (!existsSync(probed) && dirname(probed) !== probed) probed = dirname(probed)
      if (!statSync(probed).isDirectory()) throw Object.assign(new Error("not a directory"), { code: `ENOTDIR: ${probed} is a file` })
      probeWrite(probed)
      return probed
    },
    catch: (e) => configDirFailed(dir, errnoOf(e))
  })

export const checkHaproxyBinary = (bin: string) =>
  Effect.callback<string, StartupCheckFailed>((resume) => {
    execFile(bin, ["-v"], { env: haproxyEnvironment(process.env), timeout: 5_000 }, (error, stdout) => {
      const version = /HAProxy version (\S+)/i.exec(stdout)?.[1]
      if (error === null && version !== undefined) return resume(Effect.succeed(version))
      resume(Effect.fail(
        new StartupCheckFailed({
          variable: "HAPROXY_BIN",
          value: bin,
          problem: error === null ? "it is not HAProxy (`-v` printed no HAProxy version)" : `it cannot be run (${errnoOf(error)})`,
          fix: "install HAProxy 2.6 or later, or set HAPROXY_BIN to the path of the haproxy executable"
        })
      ))
    })
  })

/** The variables a bind is configured by, for the problem and the fix. */
export interface BindVariables {
  readonly address: string
  readonly port: string
  /** What else would happen on that port (the reason it must be free). */
  readonly consequence: string
}

const LISTEN: BindVariables = {
  address: "LISTEN_ADDRESS",
  port: "LISTEN_PORT",
  consequence: "; another HAProxy would share its traffic"
}

/**
 * `port` on `address` (`*`: every address) can be bound now: nothing else listens, and the
 * address is one of this host's. EACCES passes as "privileged": HAProxy may be allowed to bind a
 * low port when the agent is not.
 */
export const checkPortFree = (address: string, port: number, variables: BindVariables) =>
  Effect.callback<"free" | "privileged", StartupCheckFailed>((resume) => {
    const server = createServer()
    server.once("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EACCES") return resume(Effect.succeed("privileged"))
      resume(Effect.fail(
        e.code === "EADDRNOTAVAIL"
          ? new StartupCheckFailed({
            variable: variables.address,
            value: address,
            problem: "it is not an address of this host (EADDRNOTAVAIL)",
            fix: `set ${variables.address} to ${variables.address === LISTEN.address ? "* or to " : ""}an address of this host`
          })
          : new StartupCheckFailed({
            variable: variables.port,
            value: String(port),
            problem: `the port is already in use on ${address} (${e.code ?? e.message})${variables.consequence}`,
            fix: `stop what listens there, or set ${variables.port} to a free port`
          })
      ))
    })
    server.listen(
      { port, host: address === "*" ? "0.0.0.0" : address, exclusive: true },
      () => server.close(() => resume(Effect.succeed("free")))
    )
  })

export const checkListenPort = (address: string, port: number) => Effect.asVoid(checkPortFree(address, port, LISTEN))

export const MONITORING: BindVariables = {
  address: "LISTEN_ADDRESS",
  port: "MONITORING_PORT",
  consequence: "; HAProxy could not serve /stats and /metrics there"
}

/** MONITORING_PORT on LISTEN_ADDRESS is free (nothing to check when it is unset). */
export const checkMonitoringPort = (address: string, port: number | undefined) =>
  port === undefined ? Effect.void : Effect.asVoid(checkPortFree(address, port, MONITORING))
