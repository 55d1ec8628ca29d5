/**
 * `cloudmap-haproxy healthcheck [--ready]`: exits 0 when the agent's /healthz (liveness, the
 * default) or /readyz (`--ready`) answers 200, else 1. The container health check uses the
 * default: a Cloud Map outage never fails liveness, so it never makes the orchestrator replace
 * tasks that keep serving. Reads HEALTH_ADDRESS/HEALTH_PORT only, so it works with the same
 * environment as the agent without validating the rest. The image needs no curl.
 */
import { request } from "node:http"
import process from "node:process"
import { Effect } from "effect"

const USAGE = `usage: cloudmap-haproxy healthcheck [--ready]

Exits 0 when http://HEALTH_ADDRESS:HEALTH_PORT/healthz answers 200 (the agent's loops progress and
HAProxy runs an applied configuration; Cloud Map being unreachable never fails it), else 1.
  --ready   check /readyz instead (every mapped namespace read and applied; what a load balancer checks)
`

export const healthcheckCommand = (argv: ReadonlyArray<string>): Effect.Effect<number> =>
  Effect.callback<number>((resume) => {
    if (argv.includes("--help")) {
      process.stdout.write(USAGE)
      return resume(Effect.succeed(0))
    }
    const unknown = argv.filter((a) => a !== "--ready")
    if (unknown.length > 0) {
      process.stderr.write(`unknown argument ${JSON.stringify(unknown[0])}\n\n${USAGE}`)
      return resume(Effect.succeed(64))
    }
    const path = argv.includes("--ready") ? "/readyz" : "/healthz"
    const address = process.env.HEALTH_ADDRESS?.trim() || "127.0.0.1"
    const host = address === "0.0.0.0" ? "127.0.0.1" : address === "::" ? "::1" : address
    const port = Number(process.env.HEALTH_PORT?.trim() || "3000")
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
