/**
 * Start-up checks that fail fast: what would otherwise make the agent retry forever before
 * anything was ever served. Each failure names the variable and the fix, and exits 78
 * (EX_CONFIG). Run before Cloud Map is read, so they answer within seconds.
 *
 * - CONFIG_DIR: created (0700) and writable (a probe file is written, fsynced and removed);
 * - HAPROXY_BIN: `<bin> -v` runs and prints an HAProxy version;
 * - LISTEN_ADDRESS:LISTEN_PORT: free (nothing else listens: another HAProxy would share the
 *   traffic), and an address of this host. EACCES is not a failure: HAProxy may be allowed to
 *   bind a low port when the agent is not.
 */
import { execFile } from "node:child_process"
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, rmSync, writeSync } from "node:fs"
import { createServer } from "node:net"
import { join } from "node:path"
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
      const probe = join(dir, `.write-probe-${process.pid}`)
      const fd = openSync(probe, "w", 0o600)
      try {
        writeSync(fd, "probe\n")
        fsyncSync(fd)
      } finally {
        closeSync(fd)
        rmSync(probe, { force: true })
      }
    },
    catch: (e) =>
      new StartupCheckFailed({
        variable: "CONFIG_DIR",
        value: dir,
        problem: `the agent cannot write there (${errnoOf(e)})`,
        fix: "mount a writable volume there (owned by the agent's user) or set CONFIG_DIR to a writable directory"
      })
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

export const checkListenPort = (address: string, port: number) =>
  Effect.callback<void, StartupCheckFailed>((resume) => {
    const server = createServer()
    server.once("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EACCES") return resume(Effect.void)
      resume(Effect.fail(
        e.code === "EADDRNOTAVAIL"
          ? new StartupCheckFailed({
            variable: "LISTEN_ADDRESS",
            value: address,
            problem: "it is not an address of this host (EADDRNOTAVAIL)",
            fix: "set LISTEN_ADDRESS to * or to an address of this host"
          })
          : new StartupCheckFailed({
            variable: "LISTEN_PORT",
            value: String(port),
            problem: `the port is already in use on ${address} (${e.code ?? e.message}); another HAProxy would share its traffic`,
            fix: "stop what listens there, or set LISTEN_PORT to a free port"
          })
      ))
    })
    server.listen({ port, host: address === "*" ? "0.0.0.0" : address, exclusive: true }, () => server.close(() => resume(Effect.void)))
  })
