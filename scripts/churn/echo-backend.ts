/**
 * HTTP pieces of the churn benchmark (scripts/bench-churn.ts), all on 127.0.0.1:
 *
 * - `startEchoBackend(name)`: a tiny node:http server on a kernel-chosen port that answers every
 *   request with its own name (`<instance id>:<port>`) and records when it served its first and
 *   last request. Those timestamps are what the convergence numbers are made of: "the new
 *   instance served its first request", "the removed instance stopped receiving requests".
 *   HAProxy's health checks are plain TCP connects: they never count as requests.
 * - `KeepAliveConnection`: a minimal HTTP/1.1 client over ONE raw TCP connection, reused for
 *   every request (keep-alive) and re-opened only after the server closed it or sent
 *   `Connection: close`. It never retries: a request that meets a closed or reset connection is
 *   a failure, exactly like wrk. That is on purpose: node's http.Agent (and bun's fetch) can
 *   hide the keep-alive race of a reload (docs: haproxy.md §3) by retrying on a fresh socket.
 * - `runLoad`: N such connections in parallel, each sending back-to-back requests (with a small
 *   gap) to a rotating list of hosts until a deadline or a request cap.
 * - `startProbe`: one connection sending a request to one host every `intervalMs`.
 */
import { Buffer } from "node:buffer"
import { createServer, type Server } from "node:http"
import { randomBytes } from "node:crypto"
import { connect, type Socket } from "node:net"

/**
 * Sent by every client request of this process and required by every backend of this process:
 * other HAProxy instances on the machine (other test runs) may still point at a port number the
 * kernel has since handed to one of our backends; their requests must not count as ours.
 */
export const RUN_TOKEN = randomBytes(8).toString("hex")

// ---------------------------------------------------------------------------------------------
// Backends

export interface EchoBackend {
  readonly name: string
  readonly port: number
  /** Epoch ms of the first / last HTTP request served (undefined: none yet). */
  readonly firstHitAt: () => number | undefined
  readonly lastHitAt: () => number | undefined
  readonly hits: () => number
  /** Requests without this run's token (someone else's proxy pointing at a recycled port). */
  readonly foreignHits: () => number
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
    const server: Server = createServer((req, res) => {
      const now = Date.now()
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

// ---------------------------------------------------------------------------------------------
// Raw keep-alive client

export type FailureKind =
  /** connect() failed (refused, reset during handshake). */
  | "connect"
  /** The connection was closed or reset before the whole response arrived. */
  | "closed"
  /** No complete response within the request timeout. */
  | "timeout"
  /** A response arrived, but not 2xx. */
  | "status"

export type Outcome =
  | { readonly ok: true; readonly status: number; readonly body: string }
  | {
    readonly ok: false
    readonly kind: FailureKind
    readonly status?: number
    readonly body?: string
    /** Whether the request went out on a connection that had already served a request. */
    readonly reused: boolean
    readonly detail: string
  }

interface Pending {
  readonly resolve: (o: Outcome) => void
  readonly timer: ReturnType<typeof setTimeout>
  readonly reused: boolean
  gotBytes: boolean
}

const HEADER_END = Buffer.from("\r\n\r\n")

/** Parses one response from the front of `buf`; undefined when it is not complete yet. */
const parseResponse = (
  buf: Buffer,
  eof: boolean
): { status: number; body: string; consumed: number; close: boolean } | undefined => {
  const headerEnd = buf.indexOf(HEADER_END)
  if (headerEnd < 0) return undefined
  const head = buf.subarray(0, headerEnd).toString("latin1").split("\r\n")
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? "")?.[1] ?? "0")
  const headers = new Map<string, string>()
  for (const line of head.slice(1)) {
    const i = line.indexOf(":")
    if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim().toLowerCase())
  }
  const close = (headers.get("connection") ?? "").includes("close") || (head[0] ?? "").startsWith("HTTP/1.0")
  const start = headerEnd + 4
  const length = headers.get("content-length")
  if (length !== undefined) {
    const n = Number(length)
    if (buf.length < start + n) return undefined
    return { status, body: buf.subarray(start, start + n).toString("utf8"), consumed: start + n, close }
  }
  if ((headers.get("transfer-encoding") ?? "").includes("chunked")) {
    let pos = start
    const parts: Array<Buffer> = []
    while (true) {
      const lineEnd = buf.indexOf("\r\n", pos)
      if (lineEnd < 0) return undefined
      const size = parseInt(buf.subarray(pos, lineEnd).toString("latin1"), 16)
      if (!Number.isFinite(size)) return { status, body: "", consumed: buf.length, close: true }
      if (size === 0) {
        const end = buf.indexOf(HEADER_END, lineEnd)
        if (end < 0 && buf.length < lineEnd + 4) return undefined
        return { status, body: Buffer.concat(parts).toString("utf8"), consumed: end < 0 ? lineEnd + 4 : end + 4, close }
      }
      if (buf.length < lineEnd + 2 + size + 2) return undefined
      parts.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size))
      pos = lineEnd + 2 + size + 2
    }
  }
  if (status === 204 || status === 304) return { status, body: "", consumed: start, close }
  // Delimited by the end of the connection.
  if (!eof) return undefined
  return { status, body: buf.subarray(start).toString("utf8"), consumed: buf.length, close: true }
}

/** One keep-alive connection to 127.0.0.1:port, one request at a time. */
export class KeepAliveConnection {
  readonly port: number
  /** Connections opened so far (1 + reconnects). */
  connects = 0
  private socket: Socket | undefined
  private connected = false
  private served = 0
  private buf: Buffer = Buffer.alloc(0)
  private pending: Pending | undefined

  constructor(port: number) {
    this.port = port
  }

  private finish(o: Outcome): void {
    const p = this.pending
    if (p === undefined) return
    this.pending = undefined
    clearTimeout(p.timer)
    p.resolve(o)
  }

  private drop(kind: FailureKind, detail: string): void {
    const s = this.socket
    this.socket = undefined
    this.connected = false
    this.buf = Buffer.alloc(0)
    s?.destroy()
    const p = this.pending
    if (p !== undefined) this.finish({ ok: false, kind, reused: p.reused, detail })
  }

  private open(): Socket {
    this.connects++
    this.served = 0
    const s = connect({ host: "127.0.0.1", port: this.port })
    s.setNoDelay(true)
    this.socket = s
    s.on("connect", () => {
      if (this.socket === s) this.connected = true
    })
    s.on("data", (chunk: Buffer) => {
      if (this.socket !== s) return
      this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk])
      if (this.pending !== undefined) this.pending.gotBytes = true
      this.tryComplete(false)
    })
    s.on("end", () => {
      if (this.socket !== s) return
      this.tryComplete(true)
      if (this.socket === s) this.drop("closed", "connection closed by the server (FIN)")
    })
    s.on("error", (e: NodeJS.ErrnoException) => {
      if (this.socket !== s) return
      this.drop(this.connected ? "closed" : "connect", `${e.code ?? "error"}: ${e.message}`)
    })
    s.on("close", () => {
      if (this.socket === s) this.drop("closed", "connection closed")
    })
    return s
  }

  private tryComplete(eof: boolean): void {
    if (this.pending === undefined) return
    const r = parseResponse(this.buf, eof)
    if (r === undefined) return
    this.buf = this.buf.subarray(r.consumed)
    this.served++
    if (r.close) {
      const s = this.socket
      this.socket = undefined
      this.connected = false
      this.buf = Buffer.alloc(0)
      s?.destroy()
    }
    const reused = this.pending.reused
    if (r.status >= 200 && r.status < 300) this.finish({ ok: true, status: r.status, body: r.body })
    else this.finish({ ok: false, kind: "status", status: r.status, body: r.body.slice(0, 200), reused, detail: `HTTP ${r.status}` })
  }

  request(host: string, path: string, timeoutMs: number): Promise<Outcome> {
    if (this.pending !== undefined) throw new Error("one request at a time")
    const s = this.socket ?? this.open()
    const reused = this.served > 0
    return new Promise<Outcome>((resolve) => {
      const timer = setTimeout(() => this.drop("timeout", `no response within ${timeoutMs} ms`), timeoutMs)
      this.pending = { resolve, timer, reused, gotBytes: false }
      s.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: bench-churn\r\nX-Bench-Run: ${RUN_TOKEN}\r\n\r\n`)
    })
  }

  close(): void {
    const s = this.socket
    this.socket = undefined
    s?.destroy()
  }
}

// ---------------------------------------------------------------------------------------------
// Load and probes

export interface FailureEvent {
  readonly at: number
  readonly host: string
  readonly kind: FailureKind
  readonly status?: number
  readonly reused: boolean
  readonly detail: string
  readonly source: string
}

export class RequestStats {
  total = 0
  ok = 0
  /** Failures by kind. */
  readonly failures: Record<FailureKind, number> = { connect: 0, closed: 0, timeout: 0, status: 0 }
  /** Requests and failures per source ("load", "probe"). */
  readonly bySource: Record<string, { total: number; failed: number }> = {}
  /** The first failures in full (bounded), for the report. */
  readonly events: Array<FailureEvent> = []
  readonly maxEvents: number

  constructor(maxEvents = 200) {
    this.maxEvents = maxEvents
  }

  get failed(): number {
    return this.failures.connect + this.failures.closed + this.failures.timeout + this.failures.status
  }

  record(o: Outcome, host: string, source: string): void {
    this.total++
    const src = (this.bySource[source] ??= { total: 0, failed: 0 })
    src.total++
    if (!o.ok) src.failed++
    if (o.ok) {
      this.ok++
      return
    }
    this.failures[o.kind]++
    if (this.events.length < this.maxEvents) {
      this.events.push({
        at: Date.now(),
        host,
        kind: o.kind,
        ...(o.status === undefined ? {} : { status: o.status }),
        reused: o.reused,
        detail: o.detail,
        source
      })
    }
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

export interface LoadOptions {
  readonly port: number
  /** Read before every request, so hosts can be added while the load runs. */
  readonly hosts: () => ReadonlyArray<string>
  readonly connections: number
  /** Pause between the end of a response and the next request on the same connection. */
  readonly gapMs: number
  readonly timeoutMs: number
  /** Hard caps: whichever comes first (plus `stop()`). */
  readonly deadline: number
  readonly maxRequests: number
  /** Where results are counted (default: a new RequestStats). */
  readonly stats?: RequestStats
}

export interface LoadHandle {
  readonly stats: RequestStats
  readonly connects: () => number
  readonly stop: () => Promise<void>
}

export const runLoad = (options: LoadOptions): LoadHandle => {
  const stats = options.stats ?? new RequestStats()
  let sent = 0
  let stopped = false
  const conns: Array<KeepAliveConnection> = []
  const loops = Array.from({ length: options.connections }, async (_, i) => {
    const conn = new KeepAliveConnection(options.port)
    conns.push(conn)
    let k = i
    while (!stopped && Date.now() < options.deadline && sent < options.maxRequests) {
      const hosts = options.hosts()
      const host = hosts[k++ % hosts.length]
      if (host === undefined) {
        await sleep(50)
        continue
      }
      sent++
      const o = await conn.request(host, "/", options.timeoutMs)
      stats.record(o, host, "load")
      if (options.gapMs > 0) await sleep(options.gapMs)
    }
    conn.close()
  })
  const all = Promise.all(loops)
  return {
    stats,
    connects: () => conns.reduce((n, c) => n + c.connects, 0),
    stop: async () => {
      stopped = true
      await all
    }
  }
}

export interface ProbeHandle {
  readonly host: string
  readonly stop: () => Promise<void>
  /** Epoch ms of the first 2xx answer. */
  readonly firstOkAt: () => number | undefined
}

/**
 * One request to `host` every `intervalMs` on its own keep-alive connection. Failures are counted
 * in `stats` only once the host answered 2xx (a new service's host is 404 until it is routed,
 * which is expected and reported as convergence time instead).
 */
export const startProbe = (
  port: number,
  host: string,
  stats: RequestStats,
  options: { readonly intervalMs: number; readonly timeoutMs: number; readonly deadline: number; readonly countFromStart: boolean }
): ProbeHandle => {
  let stopped = false
  let firstOk: number | undefined
  const conn = new KeepAliveConnection(port)
  const loop = (async () => {
    while (!stopped && Date.now() < options.deadline) {
      const started = Date.now()
      const o = await conn.request(host, "/", options.timeoutMs)
      if (o.ok) firstOk ??= Date.now()
      if (options.countFromStart || firstOk !== undefined) stats.record(o, host, "probe")
      await sleep(Math.max(0, options.intervalMs - (Date.now() - started)))
    }
    conn.close()
  })()
  return {
    host,
    firstOkAt: () => firstOk,
    stop: async () => {
      stopped = true
      await loop
    }
  }
}
