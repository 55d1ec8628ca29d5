/**
 * One local HTTP listener that many fixture instances point at: HAProxy's health checks pass (TCP
 * connects, and with `--options` HTTP `GET /`, answered 200), so there are no DOWN/UP log storms,
 * and a request that reaches it gets a short 200 `sink` answer instead of an error.
 */
import { createServer } from "node:http"

export interface Sink {
  readonly port: number
  /** Requests answered (TCP health checks are connects, not counted; HTTP checks are counted). */
  readonly requests: () => number
  readonly close: () => Promise<void>
}

export const startSink = (): Promise<Sink> =>
  new Promise((resolve, reject) => {
    let requests = 0
    const server = createServer((req, res) => {
      requests++
      res.writeHead(200, { "content-type": "text/plain", "content-length": "5" })
      res.end("sink\n")
      req.resume()
    })
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      if (address === null || typeof address === "string") return reject(new Error("no port"))
      resolve({
        port: address.port,
        requests: () => requests,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done())
            server.closeAllConnections()
          })
      })
    })
  })
