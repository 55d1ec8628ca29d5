/**
 * Sample backends for the demo: one tiny HTTP server per `name=port` argument on 127.0.0.1,
 * each answering `hello from <name>` with the path it received.
 *   bun scripts/sample-backends.ts web-1=9001 web-2=9002 api-1=9003
 */
import { createServer } from "node:http"
import process from "node:process"

for (const arg of process.argv.slice(2)) {
  const [name, port] = arg.split("=")
  createServer((req, res) => {
    res.setHeader("content-type", "text/plain")
    res.end(`hello from ${name} (127.0.0.1:${port}) path=${req.url}\n`)
  }).listen(Number(port), "127.0.0.1")
}
process.stdout.write(`sample backends listening: ${process.argv.slice(2).join(" ")}\n`)
