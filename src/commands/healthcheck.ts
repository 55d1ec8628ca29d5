/**
 * `cloudmap-haproxy healthcheck`: exits 0 when the agent's /readyz answers 200, else 1. Used as
 * the container HEALTHCHECK so the image needs no curl. Reads HEALTH_ADDRESS/HEALTH_PORT only,
 * so it works with the same environment as the agent without validating the rest.
 */
import { request } from "node:http"
import process from "node:process"
import { Effect } from "effect"

export const healthcheckCommand = (argv: ReadonlyArray<string>): Effect.Effect<number> =>
  Effect.callback<number>((resume) => {
    if (argv.includes("--help")) {
      process.stdout.write("usage: cloudmap-haproxy healthcheck\n  exits 0 when http://HEALTH_ADDRESS:HEALTH_PORT/readyz answers 200, else 1\n")
      return resume(Effect.succeed(0))
    }
    const address = process.env.HEALTH_ADDRESS?.trim() || "127.0.0.1"
    const host = address === "0.0.0.0" ? "127.0.0.1" : address === "::" ? "::1" : address
    const port = Number(process.env.HEALTH_PORT?.trim() || "3000")
    const req = request({ host, port, path: "/readyz", timeout: 3000 }, (res) => {
      res.resume()
      process.stdout.write(`readyz: ${res.statusCode}\n`)
      resume(Effect.succeed(res.statusCode === 200 ? 0 : 1))
    })
    req.on("timeout", () => req.destroy(new Error("timed out")))
    req.on("error", (e) => {
      process.stdout.write(`readyz: ${e.message}\n`)
      resume(Effect.succeed(1))
    })
    req.end()
  })
