/**
 * A bounded keep-alive HTTP client for tests that must see every request succeed while the agent
 * changes HAProxy: `workers` loops send `host` + `path` through HAProxy over keep-alive
 * connections until stopped, `maxRequests` were sent, or `maxMs` passed (it stops by itself).
 * Replies are counted by the echo backend's `server` field (test/support/backends.ts).
 */
import { Agent, request } from "node:http"

export interface Tally {
  total: number
  failed: number
  readonly errors: Array<string>
  readonly byServer: Map<string, number>
}

export interface KeepAliveLoad {
  readonly tally: Tally
  /** Stops the loops and resolves once the requests in flight have ended. */
  readonly stop: () => Promise<Tally>
}

export interface KeepAliveOptions {
  readonly port: number
  readonly host: string
  readonly path?: string
  readonly workers?: number
  readonly maxRequests?: number
  readonly maxMs?: number
  /** Pause between two requests of one loop (default none). */
  readonly pauseMs?: number
}

export const keepAliveLoad = (options: KeepAliveOptions): KeepAliveLoad => {
  const workers = options.workers ?? 2
  const maxRequests = options.maxRequests ?? 20_000
  const deadline = Date.now() + (options.maxMs ?? 90_000)
  const agent = new Agent({ keepAlive: true, maxSockets: workers })
  const tally: Tally = { total: 0, failed: 0, errors: [], byServer: new Map() }
  let stopped = false
  const fail = (why: string) => {
    tally.failed += 1
    if (tally.errors.length < 10) tally.errors.push(why)
  }
  const once = () =>
    new Promise<void>((resolve) => {
      const req = request(
        { host: "127.0.0.1", port: options.port, path: options.path ?? "/", agent, headers: { host: options.host }, timeout: 5000 },
        (res) => {
          let body = ""
          res.setEncoding("utf8")
          res.on("data", (c: string) => (body += c))
          res.on("end", () => {
            if (res.statusCode === 200) {
              const server = (JSON.parse(body) as { server: string }).server
              tally.byServer.set(server, (tally.byServer.get(server) ?? 0) + 1)
            } else {
              fail(`status ${res.statusCode}`)
            }
            resolve()
          })
        }
      )
      req.on("timeout", () => req.destroy(new Error("timeout")))
      req.on("error", (e) => {
        fail(e.message)
        resolve()
      })
      req.end()
    })
  const loop = async () => {
    while (!stopped && tally.total < maxRequests && Date.now() < deadline) {
      tally.total += 1
      await once()
      if (options.pauseMs !== undefined) await new Promise((r) => setTimeout(r, options.pauseMs))
    }
  }
  const loops = Promise.all(Array.from({ length: workers }, loop))
  return {
    tally,
    stop: async () => {
      stopped = true
      await loops
      agent.destroy()
      return tally
    }
  }
}
