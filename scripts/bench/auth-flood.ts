/**
 * Load for the monitoring pages' password bounds (bench:auth-flood and its e2e test): a paced
 * flood of requests with wrong Basic credentials, and keep-alive normal traffic measured next to
 * it, both over raw keep-alive connections (../churn/keepalive-client.ts). Bounded in count and
 * time, loopback only.
 */
import { Agent, request } from "node:http"
import { KeepAliveConnection, type Outcome } from "../churn/keepalive-client.ts"
import { percentile } from "./stats.ts"

export const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`

export interface Reply {
  readonly status: number
  readonly body: string
}

/** One GET through `agent` (a keep-alive pool); status 0 on a socket error or a 5 s timeout. */
export const get = (
  options: { readonly port: number; readonly host: string; readonly path: string; readonly headers?: Record<string, string>; readonly agent?: Agent; readonly localAddress?: string }
): Promise<Reply> =>
  new Promise((resolve) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: options.port,
        path: options.path,
        agent: options.agent ?? false,
        ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
        headers: { host: options.host, ...options.headers },
        timeout: 5000
      },
      (res) => {
        let body = ""
        res.setEncoding("utf8")
        res.on("data", (c: string) => (body += c))
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
        res.on("error", () => resolve({ status: 0, body }))
      }
    )
    req.on("timeout", () => req.destroy(new Error("timeout")))
    req.on("error", () => resolve({ status: 0, body: "" }))
    req.end()
  })

export interface FloodOptions {
  readonly port: number
  readonly host: string
  readonly path: string
  /** The Authorization header's value; undefined: none (a control: the same requests without credentials). */
  readonly authorization: string | undefined
  readonly ratePerSecond: number
  readonly durationMs: number
  /** Source addresses taken in turn (127.0.0.0/8 on loopback); default 127.0.0.1. */
  readonly sources?: ReadonlyArray<string>
  /** Keep-alive connections per source (default 4); a request waits for an idle one. */
  readonly connectionsPerSource?: number
  /**
   * On/off: send only during the first half of every 2 × dutyPeriodMs, counted from
   * startAtEpochMs (durationMs is then the time ON; the flood lasts twice as long).
   */
  readonly dutyPeriodMs?: number
  readonly startAtEpochMs?: number
}

export interface FloodResult {
  readonly sent: number
  /** By HTTP status; 0: no answer (closed, reset, timeout). */
  readonly byStatus: ReadonlyMap<number, number>
  readonly elapsedMs: number
}

const statusOf = (o: Outcome): number => (o.ok ? o.status : o.status ?? 0)

/**
 * Sends ratePerSecond × durationMs requests over raw keep-alive connections (cheap for the
 * sender: the measured process is HAProxy), paced in 10 ms steps; resolves when all ended.
 */
export const flood = async (options: FloodOptions): Promise<FloodResult> => {
  const sources = options.sources ?? ["127.0.0.1"]
  const perSource = options.connectionsPerSource ?? 4
  const idle: Array<KeepAliveConnection> = []
  for (let i = 0; i < perSource; i++) for (const source of sources) idle.push(new KeepAliveConnection(options.port, source))
  const all = [...idle]
  const total = Math.round((options.ratePerSecond * options.durationMs) / 1000)
  const headers = options.authorization === undefined ? "" : `Authorization: ${options.authorization}\r\n`
  const byStatus = new Map<number, number>()
  const period = options.dutyPeriodMs
  const startAt = options.startAtEpochMs ?? Date.now()
  while (Date.now() < startAt) await new Promise((r) => setTimeout(r, 5))
  const started = performance.now()
  const hardStop = started + (period === undefined ? 1 : 2) * options.durationMs + 10_000
  /** Time spent ON so far (all of it without a duty period). */
  const onElapsed = (): number => {
    const e = Date.now() - startAt
    if (period === undefined) return e
    const cycles = Math.floor(e / (2 * period))
    return cycles * period + Math.min(e - cycles * 2 * period, period)
  }
  let sent = 0
  const pending: Array<Promise<void>> = []
  while (sent < total && performance.now() < hardStop) {
    const due = Math.min(total, Math.floor((onElapsed() * options.ratePerSecond) / 1000) + 1)
    while (sent < due && idle.length > 0) {
      const connection = idle.shift()!
      sent += 1
      pending.push(connection.request(options.host, options.path, 5000, headers).then((o) => {
        const status = statusOf(o)
        byStatus.set(status, (byStatus.get(status) ?? 0) + 1)
        idle.push(connection)
      }))
    }
    await new Promise((r) => setTimeout(r, 10))
  }
  await Promise.all(pending)
  for (const c of all) c.close()
  return { sent, byStatus, elapsedMs: performance.now() - started }
}

export interface Throughput {
  /** Epoch ms at which each 2xx completed. */
  readonly completedAt: ReadonlyArray<number>
  readonly requests: number
  readonly failed: number
  readonly perSecond: number
  readonly p50Ms: number | undefined
  readonly p95Ms: number | undefined
}

/** `workers` raw keep-alive loops of GET `host` `path` for `durationMs`: requests answered 2xx per second. */
export const throughput = async (
  options: { readonly port: number; readonly host: string; readonly path?: string; readonly workers: number; readonly durationMs: number }
): Promise<Throughput> => {
  const latencies: Array<number> = []
  const completedAt: Array<number> = []
  let failed = 0
  const started = performance.now()
  const deadline = started + options.durationMs
  const loop = async () => {
    const connection = new KeepAliveConnection(options.port)
    while (performance.now() < deadline) {
      const t0 = performance.now()
      const o = await connection.request(options.host, options.path ?? "/", 5000)
      if (o.ok) {
        latencies.push(performance.now() - t0)
        completedAt.push(Date.now())
      } else failed += 1
    }
    connection.close()
  }
  await Promise.all(Array.from({ length: options.workers }, loop))
  const elapsed = performance.now() - started
  latencies.sort((a, b) => a - b)
  return {
    completedAt,
    requests: latencies.length,
    failed,
    perSecond: (latencies.length * 1000) / elapsed,
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95)
  }
}
