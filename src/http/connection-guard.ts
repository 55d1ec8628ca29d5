/**
 * Keeps the agent's own port (HEALTH_PORT) from starving the process: 5,000 slow connections (one
 * header byte every 10 s) used every file descriptor, /healthz probes timed out (ECS replaces a
 * task whose health check fails) and Cloud Map reads failed with EMFILE.
 *
 * - At most `cap` connections are open, well below the file limit: the rest of the descriptors
 *   are the reserve for Cloud Map, HAProxy's sockets and files (healthConnectionCap).
 * - A connection beyond the cap evicts the OLDEST connection that has no request being answered
 *   (idle keep-alive, or still sending its headers) instead of being refused: an attacker's slow
 *   connections age out first, and a probe that sends its request at once always gets in.
 * - Short timeouts (guardTimeouts): headers within 5 s, a request within 10 s, idle keep-alive 5 s.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http"
import type { Socket } from "node:net"

/** Descriptors assumed when /proc/self/limits cannot be read (the usual soft limit). */
const ASSUMED_FILE_LIMIT = 1024

/** A quarter of the file limit, between 16 and 256: the other three quarters are the reserve. */
export const healthConnectionCap = (fileLimit: number | undefined): number =>
  Math.max(16, Math.min(256, Math.floor((fileLimit ?? ASSUMED_FILE_LIMIT) / 4)))

export const GUARD_TIMEOUTS = {
  /** The whole request head must arrive within this (slowloris). */
  headersMs: 5_000,
  /** The whole request (the agent's routes are GETs without a body). */
  requestMs: 10_000,
  /** An idle keep-alive connection is closed after this. */
  keepAliveMs: 5_000,
  /** How often the timeouts above are checked. */
  checkEveryMs: 1_000
} as const

export interface ConnectionGuard {
  /** Call from the request handler: the connection is answering a request until the response ends. */
  readonly busy: (req: IncomingMessage, res: ServerResponse) => void
  /** Connections evicted so far because the cap was reached. */
  readonly evicted: () => number
}

/** Applies the cap, the eviction and the timeouts to `server` (before it listens); `onEvict` after each eviction. */
export const guardConnections = (server: Server, cap: number, onEvict: (evicted: number) => void = () => undefined): ConnectionGuard => {
  server.headersTimeout = GUARD_TIMEOUTS.headersMs
  server.requestTimeout = GUARD_TIMEOUTS.requestMs
  server.keepAliveTimeout = GUARD_TIMEOUTS.keepAliveMs
  ;(server as { connectionsCheckingInterval?: number }).connectionsCheckingInterval = GUARD_TIMEOUTS.checkEveryMs
  /** Open connections, oldest first (a Set keeps insertion order). */
  const open = new Set<Socket>()
  const answering = new Set<Socket>()
  let evicted = 0
  server.on("connection", (socket: Socket) => {
    open.add(socket)
    socket.once("close", () => {
      open.delete(socket)
      answering.delete(socket)
    })
    if (open.size <= cap) return
    let victim: Socket | undefined
    for (const s of open) {
      if (!answering.has(s) && s !== socket) {
        victim = s
        break
      }
    }
    // Every other connection is being answered (each takes milliseconds): refuse the newcomer.
    victim ??= socket
    open.delete(victim)
    answering.delete(victim)
    evicted += 1
    victim.destroy()
    onEvict(evicted)
  })
  return {
    busy: (req, res) => {
      const socket = req.socket
      answering.add(socket)
      res.once("close", () => answering.delete(socket))
    },
    evicted: () => evicted
  }
}
