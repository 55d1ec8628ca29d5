/**
 * The churn benchmark's load, all through HAProxy on 127.0.0.1:
 *
 * - `runLoad`: N keep-alive connections (keepalive-client.ts) in parallel, each sending
 *   back-to-back requests (with a small gap) to a rotating list of hosts until a deadline or a
 *   request cap.
 * - `startProbe`: one connection sending a request to one host every `intervalMs`.
 * - `RequestStats`: every outcome counted, by kind and by source, the first failures kept in full.
 */
import { sleep } from "../bench/wait.ts"
import { type FailureKind, KeepAliveConnection, type Outcome } from "./keepalive-client.ts"

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
