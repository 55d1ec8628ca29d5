/**
 * Sample backends for the demo: one tiny HTTP server per `name=port` argument on 127.0.0.1,
 * each answering `hello from <name>` with the path it received. `/healthz` answers 200, or 500
 * for a backend given as `name=port:sick` (it still answers everything else: only an HTTP
 * health check tells it apart).
 *   bun scripts/sample-backends.ts web-1=9001 web-2=9002 shop-2=9008:sick
 */
import { createServer } from "node:http"
import process from "node:process"

for (const arg of process.argv.slice(2)) {
  const [name, spec = ""] = arg.split("=")
  const [port, state] = spec.split(":")
  createServer((req, res) => {
    res.setHeader("content-type", "text/plain")
    if (req.url === "/healthz") {
      res.statusCode = state === "sick" ? 500 : 200
      res.end(state === "sick" ? "sick\n" : "ok\n")
      return
    }
    res.end(`hello from ${name} (127.0.0.1:${port}) path=${req.url}\n`)
  }).listen(Number(port), "127.0.0.1")
}
process.stdout.write(`sample backends listening: ${process.argv.slice(2).join(" ")}\n`)
