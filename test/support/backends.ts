/**
 * Tiny HTTP backends for tests: each answers every request with JSON
 * `{ server, path, host }` (its own name, the request target as received, the Host header), so a
 * test can tell which instance HAProxy picked and what path it forwarded.
 */
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"

export interface EchoReply {
  readonly server: string
  readonly path: string
  readonly host: string | undefined
}

export interface Backend {
  readonly name: string
  readonly host: string
  readonly port: number
}

export interface Backends {
  readonly backends: ReadonlyArray<Backend>
  readonly byName: (name: string) => Backend
  readonly close: () => Promise<void>
}

const listen = (name: string, host: string): Promise<{ server: Server; backend: Backend }> =>
  new Promise((resolve, reject) => {
    const server = createServer((req, res) => {
      const body: EchoReply = { server: name, path: req.url ?? "", host: req.headers.host }
      res.setHeader("content-type", "application/json")
      res.end(JSON.stringify(body))
    })
    server.on("error", reject)
    // Port 0: the kernel picks a free port, no race with other tests.
    server.listen(0, host, () => {
      const port = (server.address() as AddressInfo).port
      resolve({ server, backend: { name, host, port } })
    })
  })

/** Starts one echo server per `{ name, host }` (host defaults to 127.0.0.1). */
export const startBackends = async (
  specs: ReadonlyArray<{ readonly name: string; readonly host?: string }>
): Promise<Backends> => {
  const started: Array<{ server: Server; backend: Backend }> = []
  try {
    for (const spec of specs) started.push(await listen(spec.name, spec.host ?? "127.0.0.1"))
  } catch (error) {
    await Promise.all(started.map(({ server }) => new Promise((r) => server.close(r))))
    throw error
  }
  const backends = started.map((s) => s.backend)
  return {
    backends,
    byName: (name) => {
      const found = backends.find((b) => b.name === name)
      if (found === undefined) throw new Error(`no backend ${name}`)
      return found
    },
    close: async () => {
      await Promise.all(started.map(({ server }) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections()
          server.close(() => resolve())
        })
      ))
    }
  }
}

/** True when this machine can listen on ::1 (IPv6 loopback); some CI containers cannot. */
export const ipv6LoopbackAvailable = async (): Promise<boolean> => {
  try {
    const { server } = await listen("probe", "::1")
    await new Promise((r) => server.close(r))
    return true
  } catch {
    return false
  }
}
