/**
 * The churn benchmark's HTTP client: `KeepAliveConnection` is a minimal HTTP/1.1 client over ONE
 * raw TCP connection, reused for every request (keep-alive) and re-opened only after the server
 * closed it or sent `Connection: close`. It never retries: a request that meets a closed or reset
 * connection is a failure, exactly like wrk. That is on purpose: node's http.Agent (and bun's
 * fetch) can hide the keep-alive race of a reload (docs: haproxy.md §3) by retrying on a fresh
 * socket. Every request carries this run's token (see echo-backend.ts).
 */
import { Buffer } from "node:buffer"
import { connect, type Socket } from "node:net"
import { RUN_TOKEN } from "./echo-backend.ts"

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

/** One keep-alive connection to 127.0.0.1:port (from `localAddress` when given), one request at a time. */
export class KeepAliveConnection {
  readonly port: number
  readonly localAddress: string | undefined
  /** Connections opened so far (1 + reconnects). */
  connects = 0
  private socket: Socket | undefined
  private connected = false
  private served = 0
  private buf: Buffer = Buffer.alloc(0)
  private pending: Pending | undefined

  constructor(port: number, localAddress?: string) {
    this.port = port
    this.localAddress = localAddress
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
    const s = connect({ host: "127.0.0.1", port: this.port, ...(this.localAddress === undefined ? {} : { localAddress: this.localAddress }) })
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

  /** `headers`: extra header lines, each ending in CRLF (`Authorization: Basic ...\r\n`). */
  request(host: string, path: string, timeoutMs: number, headers = ""): Promise<Outcome> {
    if (this.pending !== undefined) throw new Error("one request at a time")
    const s = this.socket ?? this.open()
    const reused = this.served > 0
    return new Promise<Outcome>((resolve) => {
      const timer = setTimeout(() => this.drop("timeout", `no response within ${timeoutMs} ms`), timeoutMs)
      this.pending = { resolve, timer, reused, gotBytes: false }
      s.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: bench-churn\r\nX-Bench-Run: ${RUN_TOKEN}\r\n${headers}\r\n`)
    })
  }

  close(): void {
    const s = this.socket
    this.socket = undefined
    s?.destroy()
  }
}
