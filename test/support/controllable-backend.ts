/**
 * An echo backend (same `{ server, path, host }` reply as test/support/backends.ts) that a test
 * can stop and start again on the same port, and that can fail one path (a health endpoint
 * answering 500 while everything else answers 200). Bound to 127.0.0.1.
 */
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import type { EchoReply } from "./backends.ts"

export interface ControllableBackend {
  readonly name: string
  readonly port: number
  /** Closes the listener and every open connection: connections to the port are refused. */
  readonly stop: () => Promise<void>
  /** Listens again on the same port. */
  readonly start: () => Promise<void>
  readonly running: () => boolean
}

export interface ControllableOptions {
  /** Requests whose path starts with this answer 500 (say `/health`). */
  readonly failPath?: string
}

const listenOn = (server: Server, port: number): Promise<number> =>
  new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e)
    server.once("error", onError)
    server.listen(port, "127.0.0.1", () => {
      server.off("error", onError)
      resolve((server.address() as AddressInfo).port)
    })
  })

export const controllableBackend = async (name: string, options: ControllableOptions = {}): Promise<ControllableBackend> => {
  const make = () =>
    createServer((req, res) => {
      const path = req.url ?? ""
      if (options.failPath !== undefined && path.startsWith(options.failPath)) {
        res.statusCode = 500
        res.end("unhealthy\n")
        return
      }
      const body: EchoReply = { server: name, path, host: req.headers.host }
      res.setHeader("content-type", "application/json")
      res.end(JSON.stringify(body))
    })
  let server: Server | undefined = make()
  const port = await listenOn(server, 0)
  const stop = async () => {
    const s = server
    server = undefined
    if (s === undefined) return
    await new Promise<void>((resolve) => {
      s.closeAllConnections()
      s.close(() => resolve())
    })
  }
  const start = async () => {
    if (server !== undefined) return
    const s = make()
    await listenOn(s, port)
    server = s
  }
  return { name, port, stop, start, running: () => server !== undefined }
}

/** Stops every backend given (for afterAll). */
export const stopAll = (backends: ReadonlyArray<ControllableBackend | undefined>) =>
  Promise.all(backends.map((b) => b?.stop()))
