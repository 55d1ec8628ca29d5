/**
 * `cloudmap-haproxy healthcheck [--ready]`: exits 0 when the agent's /healthz (liveness, the
 * default) or /readyz (`--ready`) answers 200, else 1. The container health check uses the
 * default: a Cloud Map outage never fails liveness, so it never makes the orchestrator replace
 * tasks that keep serving. Reads HEALTH_ADDRESS/HEALTH_PORT only (through the variable table),
 * so it works with the same environment as the agent without validating the rest. The image
 * needs no curl.
 */
import { request } from "node:http"
import process from "node:process"
import { Effect, Result } from "effect"
import { formatConfigProblems } from "../config/agent-config.ts"
import { HELP_FLAG } from "../config/flags.ts"
import type { CommandSpec } from "../config/help.ts"
import { readSome } from "../config/table.ts"
import { TABLE } from "../config/variables.ts"
import { withFlags } from "./cli.ts"

export const HEALTHCHECK: CommandSpec = {
  name: "healthcheck",
  summary: "exit 0 when the agent's /healthz answers 200",
  description: [
    "Exits 0 when http://HEALTH_ADDRESS:HEALTH_PORT/healthz answers 200 (the agent's loops progress and HAProxy runs an applied configuration; Cloud Map being unreachable never fails it), else 1."
  ],
  flags: [
    { name: "ready", meaning: "check /readyz instead (every mapped namespace read and applied; what a load balancer checks)" },
    HELP_FLAG
  ],
  variables: ["healthAddress", "healthPort"],
  exitCodes: [[0, "the endpoint answered 200"], [1, "it answered something else, did not answer, or a variable is invalid"]]
}

/** The address to connect to for a bind address (a wildcard means this host). */
const target = (address: string): string => (address === "0.0.0.0" ? "127.0.0.1" : address === "::" ? "::1" : address)

const probe = (host: string, port: number, path: string) =>
  Effect.callback<number>((resume) => {
    const req = request({ host, port, path, timeout: 3000 }, (res) => {
      let body = ""
      res.on("data", (c) => (body += c))
      res.on("end", () => {
        process.stdout.write(`${path.slice(1)}: ${res.statusCode} ${body.trim()}\n`)
        resume(Effect.succeed(res.statusCode === 200 ? 0 : 1))
      })
    })
    req.on("timeout", () => req.destroy(new Error("timed out")))
    req.on("error", (e) => {
      process.stdout.write(`${path.slice(1)}: ${e.message}\n`)
      resume(Effect.succeed(1))
    })
    req.end()
  })

export const healthcheckCommand = (argv: ReadonlyArray<string>) =>
  withFlags(HEALTHCHECK, argv, (args) =>
    Effect.suspend(() => {
      const read = readSome(TABLE, process.env, ["healthAddress", "healthPort"])
      if (Result.isFailure(read)) {
        process.stdout.write(`invalid configuration:\n${formatConfigProblems(read.failure)}\n`)
        return Effect.succeed(1)
      }
      const path = args.switches.has("ready") ? "/readyz" : "/healthz"
      return probe(target(read.success.healthAddress), read.success.healthPort, path)
    }))
