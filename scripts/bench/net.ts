/**
 * Local networking for the benches: free ports, a bounded HTTP GET, and one request through a
 * proxy by Host header. Everything is 127.0.0.1.
 */
import { Buffer } from "node:buffer"
import { request } from "node:http"
import { createServer } from "node:net"

/** A TCP port on 127.0.0.1 that was free a moment ago (the kernel picked it). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      if (address === null || typeof address === "string") return reject(new Error("no port"))
      server.close(() => resolve(address.port))
    })
  })

export interface HttpAnswer {
  readonly status: number
  readonly body: string
}

/** GET `url` with a deadline; undefined when it could not be fetched (refused, reset, timed out). */
export const httpGet = async (url: string, timeoutMs = 5_000): Promise<HttpAnswer | undefined> => {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
    return { status: res.status, body: await res.text() }
  } catch {
    return undefined
  }
}

/**
 * One `GET /` to 127.0.0.1:`port` with `Host: <host>` (a request through HAProxy to one of its
 * hosts), on a fresh connection (`Connection: close`, no pooling, so no keep-alive connection to
 * an old server is reused). Undefined when no complete answer came within `timeoutMs`.
 */
export const getByHost = (
  port: number,
  host: string,
  headers: Readonly<Record<string, string>>,
  timeoutMs: number
): Promise<HttpAnswer | undefined> =>
  new Promise((resolve) => {
    let settled = false
    const done = (answer: HttpAnswer | undefined) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve(answer)
    }
    const req = request(
      { host: "127.0.0.1", port, path: "/", method: "GET", agent: false, headers: { ...headers, host, connection: "close" } },
      (res) => {
        const chunks: Array<Buffer> = []
        res.on("data", (chunk: Buffer) => chunks.push(chunk))
        res.on("end", () => done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }))
        res.on("error", () => done(undefined))
      }
    )
    const timer = setTimeout(() => {
      req.destroy()
      done(undefined)
    }, timeoutMs)
    req.on("error", () => done(undefined))
    req.end()
  })
