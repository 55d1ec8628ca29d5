/**
 * Load for the monitoring pages' password bounds (bench:auth-flood and its e2e test): a paced
 * flood of requests with wrong Basic credentials, and keep-alive normal traffic measured next to
 * it. Both bounded in count and time, loopback only.
 */
import { Agent, request } from "node:http"
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
  readonly authorization: string
  readonly ratePerSecond: number
  readonly durationMs: number
  /** Source addresses taken in turn (127.0.0.0/8 on loopback); default 127.0.0.1. */
  readonly sources?: ReadonlyArray<string>
  /** Requests in flight at most (a slow server slows the flood down rather than piling up). */
  readonly maxInFlight?: number
}

export interface FloodResult {
  readonly sent: number
  readonly byStatus: ReadonlyMap<number, number>
  readonly elapsedMs: number
}

/** Sends ratePerSecond × durationMs requests, paced in 10 ms steps; resolves when all ended. */
export const flood = async (options: FloodOptions): Promise<FloodResult> => {
  const sources = options.sources ?? ["127.0.0.1"]
  const agents = sources.map((localAddress) => ({ localAddress, agent: new Agent({ keepAlive: true, maxSockets: 64 }) }))
  const total = Math.round((options.ratePerSecond * options.durationMs) / 1000)
  const maxInFlight = options.maxInFlight ?? 256
  const byStatus = new Map<number, number>()
  const started = performance.now()
  let sent = 0
  let inFlight = 0
  const pending: Array<Promise<void>> = []
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) * options.ratePerSecond) / 1000) + 1)
    while (sent < due && inFlight < maxInFlight) {
      const { agent, localAddress } = agents[sent % agents.length]!
      sent += 1
      inFlight += 1
      pending.push(get({ port: options.port, host: options.host, path: options.path, headers: { authorization: options.authorization }, agent, localAddress }).then((r) => {
        inFlight -= 1
        byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1)
      }))
    }
    await new Promise((r) => setTimeout(r, 10))
  }
  await Promise.all(pending)
  for (const { agent } of agents) agent.destroy()
  return { sent, byStatus, elapsedMs: performance.now() - started }
}

export interface Throughput {
  readonly requests: number
  readonly failed: number
  readonly perSecond: number
  readonly p50Ms: number | undefined
  readonly p95Ms: number | undefined
}

/** `workers` keep-alive loops of GET `host` `path` for `durationMs`: requests answered 200 per second. */
export const throughput = async (
  options: { readonly port: number; readonly host: string; readonly path?: string; readonly workers: number; readonly durationMs: number }
): Promise<Throughput> => {
  const agent = new Agent({ keepAlive: true, maxSockets: options.workers })
  const latencies: Array<number> = []
  let failed = 0
  const started = performance.now()
  const deadline = started + options.durationMs
  const loop = async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now()
      const r = await get({ port: options.port, host: options.host, path: options.path ?? "/", agent })
      if (r.status === 200) latencies.push(performance.now() - t0)
      else failed += 1
    }
  }
  await Promise.all(Array.from({ length: options.workers }, loop))
  const elapsed = performance.now() - started
  agent.destroy()
  latencies.sort((a, b) => a - b)
  return {
    requests: latencies.length,
    failed,
    perSecond: (latencies.length * 1000) / elapsed,
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95)
  }
}
