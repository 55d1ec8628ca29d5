/**
 * The churn benchmark's backends (scripts/bench-churn.ts), on 127.0.0.1: `startEchoBackend(name)`
 * is a tiny node:http server on a kernel-chosen port that answers every request with its own name
 * (`<instance id>:<port>`) and records when it served each request. Those timestamps are what the
 * convergence numbers are made of: "the new instance served its first request", "the removed
 * instance stopped receiving requests". HAProxy's health checks never count as requests: TCP checks
 * are plain connects, and an HTTP check (`--options`: `GET /` with no `X-Bench-Run` header, which
 * every request of the benches carries) gets a 200 and is counted apart (`checks()`).
 */
import { Buffer } from "node:buffer"
import { createServer, type Server } from "node:http"
import { randomBytes } from "node:crypto"


/**
 * Sent by every client request of this process and required by every backend of this process:
 * other HAProxy instances on the machine (other test runs) may still point at a port number the
 * kernel has since handed to one of our backends; their requests must not count as ours.
 */
export const RUN_TOKEN = randomBytes(8).toString("hex")

export interface EchoBackend {
  readonly name: string
  readonly port: number
  /** Epoch ms of the first / last HTTP request served (undefined: none yet). */
  readonly firstHitAt: () => number | undefined
  readonly lastHitAt: () => number | undefined
  readonly hits: () => number
  /** Requests with another run's token (someone else's proxy pointing at a recycled port). */
  readonly foreignHits: () => number
  /** HTTP health checks answered (requests without any `X-Bench-Run` header). */
  readonly checks: () => number
  /** Resolves at the first request served at or after `since` (epoch ms), or undefined at the deadline. */
  readonly firstHitAfter: (since: number, deadline: number) => Promise<number | undefined>
  readonly close: () => Promise<void>
}

export const startEchoBackend = (instanceId: string): Promise<EchoBackend> =>
  new Promise((resolve, reject) => {
    /** Every request's arrival time (monotonic enough: Date.now() on one process). */
    const times: Array<number> = []
    const waiters = new Set<{ since: number; done: (t: number) => void }>()
    let name = instanceId
    let foreign = 0
    let checks = 0
    const server: Server = createServer((req, res) => {
      const now = Date.now()
      if (req.headers["x-bench-run"] === undefined) {
        // An HTTP health check (HAProxy sends no such header): healthy, but not a served request.
        checks++
        res.writeHead(200, { "content-type": "text/plain", "content-length": "0" })
        res.end()
        req.resume()
        return
      }
      if (req.headers["x-bench-run"] !== RUN_TOKEN) {
        foreign++
        res.writeHead(421, { "content-type": "text/plain", "content-length": "0" })
        res.end()
        req.resume()
        return
      }
      times.push(now)
      for (const w of waiters) {
        if (now >= w.since) {
          waiters.delete(w)
          w.done(now)
        }
      }
      const body = `${name}\n`
      res.writeHead(200, { "content-type": "text/plain", "content-length": String(Buffer.byteLength(body)) })
      res.end(body)
      req.resume()
    })
    server.keepAliveTimeout = 60_000
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      if (address === null || typeof address === "string") return reject(new Error("no port"))
      name = `${instanceId}:${address.port}`
      resolve({
        name,
        port: address.port,
        firstHitAt: () => times[0],
        lastHitAt: () => times[times.length - 1],
        hits: () => times.length,
        foreignHits: () => foreign,
        checks: () => checks,
        firstHitAfter: (since, deadline) => {
          // Binary search: the first recorded request at or after `since`.
          let lo = 0
          let hi = times.length
          while (lo < hi) {
            const mid = (lo + hi) >> 1
            if (times[mid]! < since) lo = mid + 1
            else hi = mid
          }
          if (lo < times.length) return Promise.resolve(times[lo])
          return new Promise((done) => {
            const waiter = {
              since,
              done: (t: number) => {
                clearTimeout(timer)
                done(t)
              }
            }
            const timer = setTimeout(() => {
              waiters.delete(waiter)
              done(undefined)
            }, Math.max(0, deadline - Date.now()))
            waiters.add(waiter)
          })
        },
        close: () =>
          new Promise<void>((done) => {
            for (const w of waiters) w.done(Number.NaN)
            waiters.clear()
            server.close(() => done())
            server.closeAllConnections()
          })
      })
    })
  })
